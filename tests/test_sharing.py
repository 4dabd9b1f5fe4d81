"""Dashboard sharing: one object, never an array; enable, disable, refresh (contract §3)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that

pytestmark = pytest.mark.writes


@pytest.fixture
def shared(client, paths, resources, new_dashboard):
    """A dashboard whose sharing was enabled (registered so cleanup disables it)."""
    created = new_dashboard("shared")
    resources.track_sharing(created["id"])
    response = client.patch(paths.sharing(created["id"]), json={"enabled": True})
    body = expect_shape(response, 200, "sharing-configuration", rule="PATCH sharing enabled=true answers 200")
    return created, body


@pytest.mark.operations("dashboards_sharing_list")
@pytest.mark.check("status", "shape")
def test_never_configured_sharing_is_one_disabled_object(client, paths, new_dashboard):
    created = new_dashboard("sharing-default")
    response = client.get(paths.sharing(created["id"]))
    body = expect_shape(
        response,
        200,
        "sharing-configuration",
        rule="GET sharing answers one SharingConfiguration object, never an array (§3)",
    )
    expect_that(
        body["enabled"] is False and body["created_at"] is None,
        "never-configured sharing is disabled with created_at null (§3)",
        response,
    )


@pytest.mark.operations("dashboards_sharing_partial_update")
@pytest.mark.check("shape")
def test_enable_answers_enabled_with_a_token(shared):
    _, body = shared
    expect_that(body["enabled"] is True, "PATCH enabled=true answers enabled: true (§3)")
    expect_that(
        isinstance(body["access_token"], str) and bool(body["access_token"]),
        "an enabled configuration carries an access token (§3)",
    )


@pytest.mark.operations("dashboards_sharing_partial_update", "dashboards_sharing_list")
@pytest.mark.check("persistence")
def test_enable_is_stored(client, paths, shared):
    created, enabled = shared
    response = client.get(paths.sharing(created["id"]))
    body = expect_shape(response, 200, "sharing-configuration")
    expect_that(body["enabled"] is True, "sharing stays enabled when read again (§3)", response)
    expect_that(
        body["access_token"] == enabled["access_token"], "an enabled token is stable across reads (§3)", response
    )
    expect_that(body["created_at"] is not None, "a stored configuration has created_at (§3)", response)


@pytest.mark.operations("dashboards_sharing_partial_update", "dashboards_retrieve")
@pytest.mark.check("persistence")
def test_enable_marks_the_dashboard_shared(client, paths, shared):
    created, _ = shared
    response = client.get(paths.dashboard(created["id"]))
    body = expect_shape(response, 200, "dashboard")
    expect_that(body["is_shared"] is True, "the dashboard's is_shared follows sharing enabled (§3)", response)


@pytest.mark.operations("dashboards_sharing_partial_update", "dashboards_retrieve")
@pytest.mark.check("persistence")
def test_disable_is_stored_and_unshares_the_dashboard(client, paths, shared):
    created, _ = shared
    response = client.patch(paths.sharing(created["id"]), json={"enabled": False})
    body = expect_shape(response, 200, "sharing-configuration")
    expect_that(body["enabled"] is False, "PATCH enabled=false answers enabled: false (§3)", response)
    reread = client.get(paths.dashboard(created["id"]))
    expect_that(
        expect_shape(reread, 200, "dashboard")["is_shared"] is False,
        "the dashboard's is_shared is false after disabling (§3)",
        reread,
    )


@pytest.mark.operations("dashboards_sharing_refresh_create", "dashboards_sharing_list")
@pytest.mark.check("shape", "persistence")
def test_refresh_issues_a_different_token(client, paths, shared):
    created, enabled = shared
    response = client.post(paths.sharing_refresh(created["id"]))
    body = expect_shape(response, 200, "sharing-configuration", rule="POST sharing/refresh answers 200 (§3)")
    expect_that(body["access_token"] != enabled["access_token"], "refresh issues a new access token (§3)", response)
    expect_that(body["enabled"] is True, "refresh keeps `enabled` (§3)", response)
    reread = expect_shape(client.get(paths.sharing(created["id"])), 200, "sharing-configuration")
    expect_that(reread["access_token"] == body["access_token"], "the refreshed token is the stored one (§3)", response)


@pytest.mark.operations("dashboards_sharing_partial_update")
@pytest.mark.check("negative")
def test_enabled_must_be_a_boolean(client, paths, new_dashboard):
    created = new_dashboard("sharing-bad-enabled")
    expect_error(
        client.patch(paths.sharing(created["id"]), json={"enabled": "sometimes"}),
        400,
        code="invalid_input",
        attr="enabled",
        rule="a non-boolean `enabled` is a 400 on `enabled` (§3)",
    )


@pytest.mark.operations("dashboards_sharing_partial_update")
@pytest.mark.check("negative")
def test_password_required_must_be_a_boolean(client, paths, new_dashboard, outcomes):
    created = new_dashboard("sharing-bad-password-flag")
    response = client.patch(paths.sharing(created["id"]), json={"password_required": "sometimes"})
    if response.status_code == 403 and _is_password_feature_refusal(response):
        outcomes.unavailable(
            "the organisation lacks the sharing-password feature, and the host refuses password_required before"
            " validating it (§3): run against an organisation with the feature to judge this check",
            client.describe(response),
        )
    expect_error(
        response,
        400,
        attr="password_required",
        rule="a non-boolean password_required is a 400 on it (§3; DRF BooleanField)",
    )


@pytest.mark.operations("dashboards_sharing_partial_update")
@pytest.mark.check("negative")
def test_settings_are_accepted_or_refused_with_the_envelope(client, paths, shared):
    created, _ = shared
    response = client.patch(paths.sharing(created["id"]), json={"settings": {"showInspector": True}})
    if response.status_code == 403:
        expect_error(
            response,
            403,
            code="permission_denied",
            rule="a refused sharing PATCH carries the error envelope; only password_required's refusal is"
            " {error} (§1.2, §3)",
        )
        return
    expect_shape(response, 200, "sharing-configuration", rule="PATCH sharing with a settings object answers 200 (§3)")


def _is_password_feature_refusal(response) -> bool:
    """§1.2, §3: the one refusal outside the envelope, ``{"error": "...password..."}``."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "password" in str(body.get("error", "")).lower()


@pytest.mark.operations("dashboards_sharing_list")
@pytest.mark.check("negative")
def test_sharing_of_an_unknown_dashboard_is_404(client, paths):
    expect_error(
        client.get(paths.sharing(2_000_000_001)),
        404,
        code="not_found",
        rule="sharing of an unknown dashboard is 404 (§3)",
    )
