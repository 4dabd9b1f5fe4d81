"""Authentication, scopes and project isolation (contract §1.3-§1.5)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_status, expect_that, fail, json_body
from posthog_contract.wire import refuses_personal_keys

pytestmark = pytest.mark.check("auth")


def judging(table: dict[str, tuple]) -> list:
    """One case per entry of ``table`` (label -> (operation id, ...)), marked with the operation it judges."""
    return [pytest.param(label, marks=pytest.mark.operations(table[label][0]), id=label) for label in sorted(table)]


@pytest.mark.operations("dashboards_list")
def test_basic_scheme_is_401_not_authenticated(anonymous_client, paths):
    response = anonymous_client.get(paths.dashboards(), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    expect_error(response, 401, code="not_authenticated", rule="another auth scheme counts as no key (§1.3)")


@pytest.mark.operations("dashboards_list")
def test_unknown_key_is_401_authentication_failed(anonymous_client, paths):
    response = anonymous_client.get(paths.dashboards(), api_key="phx_posthogcontract0not0a0real0key000000000")
    expect_error(
        response,
        401,
        code="authentication_failed",
        type_="authentication_error",
        rule="an unknown personal API key is 401 authentication_failed (§1.3)",
    )


#: made-up ids: 401 and the scope come first (§1.5)
_ABSENT = 2_000_000_001
_NO_EVENT = "0190b7a1-0000-7000-8000-00000000dead"

#: a method each route declares no action for (contract §1.4 "Methods without an action"), judged on the
#: catalogue operation of the same path; the scope check runs before any lookup (§1.5), so the ids need not exist
WITHOUT_AN_ACTION = {
    "POST dashboard": ("dashboards_retrieve", "POST", lambda p: p.dashboard(_ABSENT)),
    "PUT sharing": ("dashboards_sharing_list", "PUT", lambda p: p.sharing(_ABSENT)),
    "PUT events list": ("events_list", "PUT", lambda p: p.events()),
    "POST event": ("events_retrieve", "POST", lambda p: p.event(_NO_EVENT)),
}


@pytest.mark.parametrize("route", judging(WITHOUT_AN_ACTION))
def test_a_method_without_an_action_is_refused(client, paths, settings, outcomes, route):
    _, method, path = WITHOUT_AN_ACTION[route]
    if settings.read_only:
        outcomes.unavailable("read-only mode sends only GET, HEAD and OPTIONS: run without --read-only")
    response = client.request(method, path(paths), json={})
    if response.status_code == 405:  # a legacy (unscoped) key reaches DRF's 405 (§1.4)
        expect_error(response, 405, code="method_not_allowed", rule=f"{route}: a 405 carries the envelope (§1.2)")
        expect_that("allow" in response.headers, f"{route}: a 405 names the allowed methods in Allow", response)
        return
    expect_error(response, 403, code="permission_denied", rule=f"{route} has no action: 403 or 405 (§1.4)")
    expect_that(
        refuses_personal_keys(response.status_code, response.text),
        f"{route}: the 403 says the action does not support personal API key access (§1.4)",
        response,
    )


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("auth", "status")
def test_options_is_the_metadata_action_under_the_read_scope(request, client, paths, settings):
    """OPTIONS is DRF's ``metadata`` action (§1.3): PostHog asks for the route's read scope
    (``posthog/permissions.py``, ``ScopeBasePermission._get_required_scopes``: ``if view.action == "metadata"
    or request.method == "OPTIONS": return [f"{scope_object}:read"]``), then DRF's ``SimpleMetadata`` answers
    200 ``{name, description, renders, parses}`` without looking the object up: never 405, never a 5xx. The
    read-only key shows the read scope is enough (the run's key when none is configured)."""
    reader = request.getfixturevalue("readonly_client") if settings.readonly_api_key else client
    response = reader.request("OPTIONS", paths.dashboard(_ABSENT))
    expect_status(response, 200, rule="OPTIONS is DRF's metadata action: 200 under the route's read scope, never 405 "
                  "or a 5xx, whether the object exists or not (§1.3)")
    body = json_body(response, "OPTIONS answers DRF's SimpleMetadata as JSON (§1.3)")
    wrong = [] if isinstance(body, dict) else ["not an object"]
    if isinstance(body, dict):
        wrong += [f"`{key}` is not a string" for key in ("name", "description") if not isinstance(body.get(key), str)]
        wrong += [f"`{key}` is not a list of media types" for key in ("renders", "parses")
                  if not (isinstance(body.get(key), list) and all(isinstance(t, str) for t in body[key]))]
    expect_that(not wrong, "OPTIONS answers SimpleMetadata {name, description, renders, parses} (§1.3; DRF's "
                "rest_framework/metadata.py)", response, "; ".join(wrong))


@pytest.mark.operations("dashboards_list")
def test_readonly_key_can_read_dashboards(readonly_client, paths):
    expect_shape(
        readonly_client.get(paths.dashboards(), params={"limit": "1"}),
        200,
        "dashboard-list-page",
        rule="a key with dashboard:read lists dashboards (§1.4)",
    )


@pytest.mark.operations("dashboards_list")
def test_another_organisations_project_is_refused(client, paths, settings, outcomes):
    if not settings.other_project_id:
        outcomes.unavailable(
            "no project of another organisation is configured: set POSTHOG_OTHER_PROJECT_ID to one the key "
            "owner is not a member of (a made-up id only proves that it does not exist)"
        )
    response = client.get(paths.with_project(settings.other_project_id).dashboards())
    if response.status_code == 404:
        raise fail(
            "a project of another organisation is refused with 403, not 404 (§1.5)",
            response,
            f"POSTHOG_OTHER_PROJECT_ID={settings.other_project_id} answered 404: either the host hides foreign "
            'projects (PostHog answers 403 "You don\'t have access to the project.") or the setting names no '
            "project at all",
        )
    expect_error(
        response,
        403,
        code="permission_denied",
        rule="a project of another organisation answers 403 permission_denied with the envelope (§1.2, §1.5)",
    )


@pytest.mark.operations("dashboards_list")
def test_unknown_project_is_404(client, paths):
    expect_error(
        client.get(paths.with_project("not-a-project").dashboards()),
        404,
        code="not_found",
        rule="a project id that is neither an integer nor @current is 404 (§1.1)",
    )


@pytest.mark.operations("dashboards_list")
def test_current_project_alias_serves_the_project(client, paths):
    response = client.get(paths.with_project("@current").dashboards(), params={"limit": "1"})
    expect_shape(response, 200, "dashboard-list-page", rule="@current names the key owner's current project (§1.1)")
