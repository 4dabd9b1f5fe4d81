"""The reference server's PostHog-like behaviours and switches (issue 13), over HTTP only.

Default: progressive time windows on newest-first events lists (§7.4, PostHog source
``posthog/api/event.py``, ``EVENT_LIST_TIME_WINDOWS`` / ``LegacyEventsListQuery.run``) and the
personal-key 403 on methods without an action (§1.4, ``posthog/permissions.py``,
``APIScopePermission``). Switches: ``--without-feature tagging|access-control|event-windows`` and
``--release 2024-01``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

NO_ACTION = "This action does not support personal API key access"


def seed(server: Any, offsets_s: list[float]) -> tuple[str, datetime]:
    """Capture one event per offset (seconds before now) under a fresh distinct id; answers it and now."""
    distinct_id, moment = f"modes-{uuid.uuid4().hex[:10]}", datetime.now(UTC)
    batch = [
        {"event": "mode", "distinct_id": distinct_id, "uuid": str(uuid.uuid4()),
         "timestamp": (moment - timedelta(seconds=offset)).isoformat()}
        for offset in offsets_s
    ]
    capture = server.client(None).post("/batch/", json={"api_key": server.credentials["project_api_key"],
                                                         "batch": batch})
    assert capture.status_code == 200, capture.text
    return distinct_id, moment


def events(client: httpx.Client, project: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/projects/{project}/events/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- progressive time windows (§7.4) ---------------------------------------------------------------


def test_a_window_holding_half_a_page_ends_the_walk_early(server_with):
    """3 events in the last minute, 7 older: limit 4 → the 60 s window holds 3 >= 2, served, next null."""
    server = server_with()
    distinct_id, moment = seed(server, [10, 20, 30, 400, 410, 420, 430, 440, 450, 460])
    body = events(server.client(), 1, distinct_id=distinct_id, limit=4,
                  after=(moment - timedelta(hours=1)).isoformat())
    assert len(body["results"]) == 3 and body["next"] is None


def test_below_half_a_page_every_window_falls_through_to_the_full_range(server_with):
    """1 recent event, limit 4 (threshold 2): no window qualifies until the 15 min one (7 more at ~7 min)."""
    server = server_with()
    distinct_id, moment = seed(server, [10, 400, 410, 420, 430, 440, 450, 460])
    body = events(server.client(), 1, distinct_id=distinct_id, limit=4,
                  after=(moment - timedelta(hours=1)).isoformat())
    assert len(body["results"]) == 4 and body["next"] is not None


def test_oldest_first_and_short_spans_get_no_window(server_with):
    server = server_with()
    distinct_id, moment = seed(server, [10, 20, 30, 400, 410, 420])
    client = server.client()
    after = (moment - timedelta(hours=1)).isoformat()
    ascending = events(client, 1, distinct_id=distinct_id, limit=4, after=after, orderBy='["timestamp"]')
    assert len(ascending["results"]) == 4 and ascending["next"] is not None
    # span <= 60 s: windows shorter than the span only, and the shortest is 60 s
    short = events(client, 1, distinct_id=distinct_id, limit=2, after=(moment - timedelta(seconds=59)).isoformat(),
                   before=moment.isoformat())
    assert len(short["results"]) == 2 and short["next"] is not None


def test_the_successful_window_is_cached_and_tried_first(server_with):
    """A cached 15 min window (6 rows) is tried first for the next request of the same key."""
    server = server_with()
    client = server.client()
    first, moment = seed(server, [600, 610, 620, 630, 640, 650])
    after = (moment - timedelta(hours=2)).isoformat()
    assert len(events(client, 1, distinct_id=first, limit=6, after=after)["results"]) == 6
    # the 1 min window now holds 3 rows (>= 3, half of 6), but the cached 15 min window is tried first
    second, moment = seed(server, [5, 6, 7, 600, 610, 620, 630])
    body = events(client, 1, distinct_id=second, limit=6, after=(moment - timedelta(hours=2)).isoformat())
    assert len(body["results"]) == 6 and body["next"] is not None


def test_without_event_windows_the_full_range_is_served(server_with):
    server = server_with("--without-feature", "event-windows")
    distinct_id, moment = seed(server, [10, 20, 30, 400, 410, 420, 430, 440, 450, 460])
    body = events(server.client(), 1, distinct_id=distinct_id, limit=4,
                  after=(moment - timedelta(hours=1)).isoformat())
    assert len(body["results"]) == 4 and body["next"] is not None


# --- methods without an action (§1.4) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/dashboards/"), ("POST", "/events/"), ("PUT", "/dashboards/1/sharing/"),
     ("GET", "/dashboards/1/move_tile/"), ("DELETE", "/dashboards/1/collaborators/")],
)
def test_scoped_keys_get_403_and_legacy_keys_405(server_with, method, path):
    server = server_with()
    scoped = server.client().request(method, f"/api/projects/1{path}")
    assert scoped.status_code == 403 and scoped.json()["detail"] == NO_ACTION, scoped.text
    legacy = server.client("legacy_api_key").request(method, f"/api/projects/1{path}")
    assert legacy.status_code == 405 and legacy.json()["code"] == "method_not_allowed", legacy.text
    assert legacy.headers.get("allow")


def test_patch_on_a_list_route_is_the_patch_write_action(server_with):
    """``_get_action``: PATCH on a non-detail route counts as ``patch``: write scope, then DRF's 405."""
    server = server_with()
    assert server.client().patch("/api/projects/1/dashboards/", json={}).status_code == 405
    readonly = server.client("readonly_api_key").patch("/api/projects/1/dashboards/", json={})
    assert readonly.status_code == 403 and "dashboard:write" in readonly.json()["detail"]


# --- plan switches ---------------------------------------------------------------------------------


def _features(client: httpx.Client) -> set[str]:
    response = client.get("/api/organizations/@current/")
    assert response.status_code == 200, response.text
    return {f["key"] for f in response.json()["available_product_features"]}


def test_default_organisation_has_tagging_and_access_control(server_with):
    client = server_with().client()
    assert {"tagging", "access_control"} <= _features(client)
    made = client.post("/api/projects/1/dashboards/", json={"name": "tagged", "tags": ["a"]}).json()
    assert made["tags"] == ["a"]


def test_without_tagging_tags_read_empty_and_writes_are_ignored(server_with):
    client = server_with("--without-feature", "tagging").client()
    assert "tagging" not in _features(client)
    made = client.post("/api/projects/1/dashboards/", json={"name": "untagged", "tags": ["a"]})
    assert made.status_code == 201 and made.json()["tags"] == []
    patched = client.patch(f"/api/projects/1/dashboards/{made.json()['id']}/", json={"tags": ["b"]})
    assert patched.status_code == 200 and patched.json()["tags"] == []


def test_without_access_control_the_effective_level_stays_21(server_with):
    client = server_with("--without-feature", "access-control").client()
    assert "access_control" not in _features(client)
    made = client.post("/api/projects/1/dashboards/", json={"name": "restricted"}).json()
    patched = client.patch(f"/api/projects/1/dashboards/{made['id']}/", json={"restriction_level": 37}).json()
    assert patched["restriction_level"] == 37 and patched["effective_restriction_level"] == 21


# --- older release shapes --------------------------------------------------------------------------


def test_release_2024_01_drops_the_later_fields(server_with):
    client = server_with("--release", "2024-01").client()
    made = client.post("/api/projects/1/dashboards/", json={"name": "old"}).json()
    for name in ("team_id", "user_access_level", "access_control_version", "variables", "breakdown_colors"):
        assert name not in made, name
    assert {"id", "name", "tiles", "restriction_level", "created_by"} <= made.keys()
    assert "role_at_organization" not in made["created_by"] and "email" in made["created_by"]
    listed = client.get("/api/projects/1/dashboards/").json()["results"]
    assert listed and all("team_id" not in item for item in listed)
    sharing = client.get(f"/api/projects/1/dashboards/{made['id']}/sharing/").json()
    assert set(sharing) == {"created_at", "enabled", "access_token"}


def test_current_release_keeps_every_field(server_with):
    made = server_with().client().post("/api/projects/1/dashboards/", json={"name": "new"}).json()
    assert {"team_id", "user_access_level", "access_control_version", "variables"} <= made.keys()
    assert "role_at_organization" in made["created_by"]


# --- move_tile's destination key (§5, §11) ---------------------------------------------------------


@pytest.mark.parametrize(("mode", "sent", "required"), [("to_dashboard", "toDashboard", "to_dashboard"),
                                                        ("toDashboard", "to_dashboard", "toDashboard")])
def test_move_tile_reads_only_the_configured_key(server_with, mode, sent, required):
    """Newest PostHog: MoveTileRequestSerializer requires `to_dashboard`; mid-era releases read `toDashboard`."""
    client = server_with("--move-tile-key", mode).client()
    source = client.post("/api/projects/1/dashboards/", json={"name": "src"}).json()
    target = client.post("/api/projects/1/dashboards/", json={"name": "dst"}).json()
    tiles = client.patch(f"/api/projects/1/dashboards/{source['id']}/", json={"tiles": [{"text": {"body": "t"}}]})
    tile_id = tiles.json()["tiles"][0]["id"]
    path = f"/api/projects/1/dashboards/{source['id']}/move_tile/"
    refused = client.patch(path, json={"tile": {"id": tile_id}, sent: target["id"]})
    assert refused.status_code == 400 and refused.json()["code"] == "required", refused.text
    assert refused.json()["attr"] == required
    moved = client.patch(path, json={"tile": {"id": tile_id}, required: target["id"]})
    assert moved.status_code == 200 and moved.json()["tiles"] == []
