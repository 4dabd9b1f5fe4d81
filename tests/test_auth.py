"""Authentication, scopes and project isolation (contract §1.3-§1.5)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that, fail
from posthog_contract.wire import refuses_personal_keys

pytestmark = pytest.mark.check("auth")

NOT_PROVIDED = "Authentication credentials were not provided."


def judging(table: dict[str, tuple]) -> list:
    """One case per entry of ``table`` (label -> (operation id, ...)), marked with the operation it judges."""
    return [pytest.param(label, marks=pytest.mark.operations(table[label][0]), id=label) for label in sorted(table)]


@pytest.mark.operations("dashboards_list")
def test_no_credentials_is_401_not_authenticated(anonymous_client, paths):
    expect_error(
        anonymous_client.get(paths.dashboards()),
        401,
        code="not_authenticated",
        detail=NOT_PROVIDED,
        type_="authentication_error",
        rule="a request without a key is 401 not_authenticated (§1.3)",
    )


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


@pytest.mark.operations("events_list")
def test_events_need_a_key_too(anonymous_client, paths):
    expect_error(
        anonymous_client.get(paths.events()),
        401,
        code="not_authenticated",
        rule="the events list requires a key (§1.3)",
    )


#: every documented operation (§0.1): label -> (operation id, method, path, body); the ids in paths are made up:
#: 401 comes first (§1.5)
_ABSENT = 2_000_000_001
_NO_EVENT = "0190b7a1-0000-7000-8000-00000000dead"
DOCUMENTED = {
    "retrieve dashboard": ("dashboards_retrieve", "GET", lambda p: p.dashboard(_ABSENT), None),
    "patch dashboard": (
        "dashboards_partial_update",
        "PATCH",
        lambda p: p.dashboard(_ABSENT),
        {"description": "forbidden"},
    ),
    "delete dashboard": ("dashboards_destroy", "DELETE", lambda p: p.dashboard(_ABSENT), None),
    "move tile": (
        "dashboards_move_tile_partial_update",
        "PATCH",
        lambda p: p.move_tile(_ABSENT),
        {"tile": {"id": 1}, "to_dashboard": _ABSENT},
    ),
    "create from template": (
        "dashboards_create_from_template_json_create",
        "POST",
        lambda p: p.create_from_template_json(),
        {
            "template": {
                "template_name": "forbidden",
                "dashboard_description": "",
                "dashboard_filters": {},
                "tiles": [{"type": "TEXT", "body": "forbidden", "layouts": {}}],
            }
        },
    ),
    "sharing": ("dashboards_sharing_list", "GET", lambda p: p.sharing(_ABSENT), None),
    "remove collaborator": (
        "dashboards_collaborators_destroy",
        "DELETE",
        lambda p: p.collaborator(_ABSENT, "0190b7a1-0000-7000-8000-0000000000ff"),
        None,
    ),
    "events": ("events_list", "GET", lambda p: p.events(), None),
    "retrieve event": ("events_retrieve", "GET", lambda p: p.event(_NO_EVENT), None),
}


@pytest.mark.parametrize("operation", judging(DOCUMENTED))
def test_every_documented_operation_needs_a_key(anonymous_client, paths, resources, settings, outcomes, operation):
    _, method, path, body = DOCUMENTED[operation]
    if settings.read_only and method != "GET":
        outcomes.unavailable("read-only mode sends no write, even unauthenticated: run without --read-only")
    if operation == "create from template":
        body = {"template": {**body["template"], "template_name": resources.name("forbidden")}}
    response = anonymous_client.request(method, path(paths), json=body)
    if response.status_code in (200, 201) and response.content.strip():
        created = response.json()
        if isinstance(created, dict) and isinstance(created.get("id"), int) and operation == "create from template":
            resources.track_dashboard(created["id"])
    expect_error(
        response,
        401,
        code="not_authenticated",
        rule=f"{operation} without credentials is 401 not_authenticated, whatever the body (§1.3)",
    )


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


@pytest.mark.operations("dashboards_list")
def test_readonly_key_can_read_dashboards(readonly_client, paths):
    expect_shape(
        readonly_client.get(paths.dashboards(), params={"limit": "1"}),
        200,
        "dashboard-list-page",
        rule="a key with dashboard:read lists dashboards (§1.4)",
    )


#: label -> (operation id, method, path for a dashboard id, body for a dashboard id)
WRITES = {
    # sent through resources.create_dashboard: a host that wrongly accepts it leaves nothing cleanup misses
    "create dashboard": ("dashboards_create", "POST", lambda p, d: p.dashboards(), lambda d: None),
    "patch dashboard": (
        "dashboards_partial_update",
        "PATCH",
        lambda p, d: p.dashboard(d),
        lambda d: {"description": "forbidden"},
    ),
    "delete dashboard": ("dashboards_destroy", "DELETE", lambda p, d: p.dashboard(d), lambda d: None),
    "patch sharing": (
        "dashboards_sharing_partial_update",
        "PATCH",
        lambda p, d: p.sharing(d),
        lambda d: {"enabled": True},
    ),
    "refresh sharing": ("dashboards_sharing_refresh_create", "POST", lambda p, d: p.sharing_refresh(d), lambda d: None),
    "add collaborator": (
        "dashboards_collaborators_create",
        "POST",
        lambda p, d: p.collaborators(d),
        lambda d: {"user_uuid": "0190b7a1-0000-7000-8000-0000000000ff", "level": 37},
    ),
    "move tile": (
        "dashboards_move_tile_partial_update",
        "PATCH",
        lambda p, d: p.move_tile(d),
        lambda d: {"tile": {"id": 1}, "to_dashboard": d},
    ),
}


@pytest.mark.writes
@pytest.mark.parametrize("operation", judging(WRITES))
def test_readonly_key_cannot_write(readonly_client, paths, resources, new_dashboard, operation):
    _, method, path, body = WRITES[operation]
    dashboard = new_dashboard(f"readonly-{operation.replace(' ', '-')}")
    if operation == "patch sharing":
        resources.track_sharing(dashboard["id"])  # should the host wrongly enable it, cleanup disables it
    if operation == "create dashboard":
        response = resources.create_dashboard("forbidden", client=readonly_client, description=None)
    else:
        response = readonly_client.request(method, path(paths, dashboard["id"]), json=body(dashboard["id"]))
    expect_error(
        response,
        403,
        code="permission_denied",
        detail_contains="missing required scope",
        rule=f"{operation} with a read-only key is 403 missing scope (§1.4)",
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
