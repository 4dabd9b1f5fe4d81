"""Documented flows judged on the whole state they touch (contract §2.3, §2.8, §3, §6).

Each flow reads every object it touches before and after (the dashboard field by field and tile by
tile, its sharing configuration, its collaborators), with realistic content in place, and sends
bodies that carry more than the one field the flow is named after. What the contract says changes
must change; everything else must be as it was (`posthog_contract.state`). The writes whose body
only names what to act on (``move_tile``, sharing refresh, collaborator add and remove, the DELETE
405) are judged the same way by the derived ``tests/test_writes.py::test_write_changes_only_what_the_contract_says``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from posthog_contract import state
from posthog_contract.assertions import expect_error, expect_shape, expect_that
from posthog_contract.wire import refuses_personal_keys

pytestmark = pytest.mark.writes

LOWEST_LEVEL = "cannot add collaborators to a dashboard on the lowest restriction level"


def text_tiles(run_id: str, label: str, count: int) -> list[dict[str, Any]]:
    """Text tile payloads with a colour and a layout each (§2.6), told apart by their bodies."""
    return [{"text": {"body": f"posthog-contract {run_id} {label} tile {i}"}, "color": ("blue", "green")[i % 2],
             "layouts": {"sm": {"x": 6 * (i % 2), "y": 5 * (i // 2), "w": 6, "h": 5}}} for i in range(count)]


@pytest.fixture(scope="module")
def furnished_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def furnished(client, paths, resources, new_dashboard, run_id, request, furnished_cache):
    """A dashboard with content in every part: fields, two tiles, sharing with settings, and the member
    as a collaborator where the host has the access-control feature (§4.2). The flows of this module
    share it: each reads its own state before it writes."""
    if "furnished" in furnished_cache:
        return furnished_cache["furnished"]
    colours = [{"breakdownValue": "Safari", "colorToken": "preset-1"}]
    created = new_dashboard("furnished", pinned=True, filters={"date_from": "-7d"}, tags=["posthog-contract"],
                            restriction_level=37, breakdown_colors=colours)
    tiled = client.patch(paths.dashboard(created["id"]), json={"tiles": text_tiles(run_id, "furnished", 2)})
    expect_shape(tiled, 200, "dashboard", rule="PATCH with text tile payloads creates the tiles (§2.6)")
    resources.track_sharing(created["id"])
    shared = client.patch(paths.sharing(created["id"]), json={"enabled": True, "settings": {"whitelabel": True}})
    expect_shape(shared, 200, "sharing-configuration", rule="PATCH sharing enables it with settings (§3)")
    parts = ["dashboard", "sharing"]
    try:
        member = request.getfixturevalue("collaborator_uuid")
    except pytest.skip.Exception:
        member = None
    if member:
        added = client.post(paths.collaborators(created["id"]), json={"user_uuid": member, "level": 37})
        if added.status_code == 201:
            resources.track_collaborator(created["id"], member)
            parts.append("collaborators")
    furnished_cache["furnished"] = created["id"], tuple(parts)
    return furnished_cache["furnished"]


def read_state(client, paths, dashboard_id: int, parts: tuple[str, ...]) -> dict[str, Any]:
    readers = {"dashboard": (paths.dashboard, "dashboard"), "sharing": (paths.sharing, "sharing-configuration"),
               "collaborators": (paths.collaborators, "collaborator-list")}
    read = {}
    for part in parts:
        url, shape = readers[part]
        read[part] = expect_shape(client.get(url(dashboard_id)), 200, shape, rule=f"the {part} can be read (§2-§4)")
    return state.snapshot(read)


def expect_state(expected: dict[str, Any], actual: dict[str, Any], rule: str, response=None) -> None:
    wrong = state.differences(expected, actual)
    expect_that(not wrong, rule, response, "\n".join(wrong[:20]))


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("persistence")
def test_soft_delete_then_undelete_restores_every_part(client, paths, run_id, furnished):
    """Soft delete marks the tiles deleted and keeps the rest (§2.8); an undelete whose body carries more
    than `deleted` applies those fields too and brings back every tile, the sharing configuration and
    the collaborators exactly as they were (PostHog: DashboardSerializer._undo_delete_related_tiles)."""
    dashboard_id, parts = furnished
    before = read_state(client, paths, dashboard_id, parts)
    deleted = client.patch(paths.dashboard(dashboard_id), json={"deleted": True})
    expect_that(expect_shape(deleted, 200, "dashboard")["deleted"] is True, "soft delete answers deleted: true (§2.8)",
                deleted)
    expect_error(client.get(paths.dashboard(dashboard_id)), 404, code="not_found",
                 rule="a soft-deleted dashboard is 404 (§2.8)")
    changes = {"deleted": False, "description": f"restored by posthog-contract {run_id}", "pinned": False}
    restored = client.patch(paths.dashboard(dashboard_id), json=changes)
    shown = expect_shape(restored, 200, "dashboard", rule="PATCH with a falsy deleted and more fields is 200 (§2.8)")
    expect_that(all(shown[key] == value for key, value in changes.items()),
                "the undelete answer shows every field of its body (§2.8: the PATCH's other fields are applied too)",
                restored, f"sent {changes}")
    after = read_state(client, paths, dashboard_id, parts)
    expected = {**before, "dashboard": {**before["dashboard"], "description": changes["description"], "pinned": False}}
    expect_state(expected, after, "soft delete then undelete restores the dashboard, its tiles, its sharing and its"
                 " collaborators as they were, with the undelete's other fields applied (§2.8)", restored)


@pytest.mark.operations("dashboards_sharing_partial_update")
@pytest.mark.check("persistence")
def test_sharing_changes_touch_only_what_they_write(client, paths, furnished):
    """Disabling with new settings, then re-enabling: each PATCH changes the fields it carries and the
    dashboard's is_shared, nothing else; settings survive a re-enable (§3). The token may change on
    disable and on re-enable (newest PostHog issues a new link, older releases keep it: §3, §11)."""
    dashboard_id, parts = furnished
    before = read_state(client, paths, dashboard_id, parts)
    settings = {"noHeader": True, "showInspector": True}
    disabled = client.patch(paths.sharing(dashboard_id), json={"enabled": False, "settings": settings})
    expect_shape(disabled, 200, "sharing-configuration", rule="PATCH sharing with enabled and settings is 200 (§3)")
    middle = read_state(client, paths, dashboard_id, parts)
    written = {k: v for k, v in {"settings": settings}.items() if k in before["sharing"]}  # absent before 2025 (§11)
    expected = {**before, "dashboard": {**before["dashboard"], "is_shared": False},
                "sharing": {**before["sharing"], "enabled": False, **written,
                            "access_token": middle["sharing"]["access_token"]}}
    expect_state(expected, middle, "disabling sharing with new settings changes `enabled`, the settings and the"
                 " dashboard's is_shared, nothing else (§3)", disabled)
    enabled = client.patch(paths.sharing(dashboard_id), json={"enabled": True, "password_required": False})
    expect_shape(enabled, 200, "sharing-configuration", rule="PATCH sharing with enabled and password_required is 200")
    after = read_state(client, paths, dashboard_id, parts)
    expected = {**middle, "dashboard": {**middle["dashboard"], "is_shared": True},
                "sharing": {**middle["sharing"], "enabled": True, "access_token": after["sharing"]["access_token"],
                            "created_at": after["sharing"]["created_at"]}}
    expect_state(expected, after, "re-enabling sharing keeps its settings and touches nothing else of the dashboard"
                 " (§3)", enabled)


@pytest.mark.operations("dashboards_create_from_template_json_create")
@pytest.mark.check("persistence")
def test_template_creation_adds_one_dashboard_with_the_documented_defaults(client, paths, resources, outcomes,
                                                                          run_id, current_user_uuid):
    """The list grows by one, and the new dashboard is the template's (name, description, filters, tags,
    one tile per template tile) with the create defaults everywhere else (§2.3, §6)."""
    count = expect_shape(client.get(paths.dashboards(), params={"limit": "1"}), 200, "dashboard-list-page")["count"]
    tiles = [{"type": "TEXT", "body": f"posthog-contract {run_id} template tile {i}", "color": ("blue", None)[i],
              "layouts": {"sm": {"x": 0, "y": 5 * i, "w": 12, "h": 5}}} for i in range(2)]
    template = {"template_name": resources.name("flow template"), "dashboard_description": "a template's dashboard",
                "dashboard_filters": {"date_from": "-30d"}, "tags": [], "tiles": tiles}
    response = client.post(paths.create_from_template_json(), json={"template": template})
    if refuses_personal_keys(response.status_code, response.text):
        outcomes.unavailable("create_from_template_json refuses personal API keys on this host (§6)")
    if response.status_code == 200 and response.content.strip() and isinstance(response.json(), dict):
        resources.track_dashboard(response.json().get("id"))
    created = expect_shape(response, 200, "dashboard", rule="create_from_template_json answers 200 with a Dashboard")
    read = expect_shape(client.get(paths.dashboard(created["id"])), 200, "dashboard")
    wanted = {"name": template["template_name"], "description": template["dashboard_description"],
              "filters": template["dashboard_filters"], "pinned": False, "deleted": False, "is_shared": False,
              "restriction_level": 21, "tags": []}
    seen = {key: read.get(key) for key in wanted}
    expect_that(seen == wanted, "the template's dashboard carries the template's fields and the create defaults"
                " (§2.3, §6)", response, f"expected {wanted}, got {seen}")
    expect_that((read.get("created_by") or {}).get("uuid") == current_user_uuid,
                "the template's dashboard is created by the key owner (§2.3)", response)
    made = sorted(json.dumps([(t.get("text") or {}).get("body"), t.get("color"), t.get("layouts"), t.get("insight")])
                  for t in read["tiles"])
    expect_that(made == sorted(json.dumps([t["body"], t["color"], t["layouts"], None]) for t in tiles),
                "one text tile per template tile, with its body, colour and layout (§6)", response, f"tiles {made}")
    after = expect_shape(client.get(paths.dashboards(), params={"limit": "1"}), 200, "dashboard-list-page")["count"]
    expect_that(after == count + 1, "create_from_template_json adds exactly one dashboard to the list (§6)", response,
                f"count before {count}, after {after}")
