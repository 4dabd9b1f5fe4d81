"""The reference server's ``move_tile`` (contract §5), through HTTP only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def move_path(base: str, dashboard_id: object) -> str:
    return f"{base}/dashboards/{dashboard_id}/move_tile/"


def bodies(client: Any, base: str, dashboard_id: int) -> list[str]:
    return [t["text"]["body"] for t in client.get(f"{base}/dashboards/{dashboard_id}/").json()["tiles"] if t["text"]]


@pytest.fixture
def pair(make_dashboard: Any, add_text_tile: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(source, destination, a text tile on the source)."""
    source = make_dashboard(name=f"source-{uuid.uuid4().hex[:8]}")
    destination = make_dashboard(name=f"destination-{uuid.uuid4().hex[:8]}")
    tile = add_text_tile(source["id"], f"moving-{uuid.uuid4().hex[:8]}")
    return source, destination, tile


def test_patch_moves_the_tile_and_answers_the_source(api, base, pair):
    source, destination, tile = pair
    response = api.patch(move_path(base, source["id"]), json={"tile": {"id": tile["id"], "ignored": 1},
                                                                "to_dashboard": destination["id"]})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["id"] == source["id"] and body["tiles"] == [] and "filters" in body
    moved = api.get(f"{base}/dashboards/{destination['id']}/").json()["tiles"]
    assert [(t["id"], t["text"]["body"]) for t in moved] == [(tile["id"], tile["text"]["body"])]


def test_post_with_legacy_key_under_the_environment_prefix(api, env_base, pair):
    source, destination, tile = pair
    response = api.post(move_path(env_base, source["id"]).rstrip("/"),
                        json={"tile": {"id": tile["id"]}, "toDashboard": destination["id"]})
    assert response.status_code == 200
    assert bodies(api, env_base, destination["id"]) == [tile["text"]["body"]]


def test_to_dashboard_wins_over_the_legacy_key(api, base, pair, make_dashboard):
    source, destination, tile = pair
    decoy = make_dashboard(name="decoy")
    body = {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"], "toDashboard": decoy["id"]}
    response = api.patch(move_path(base, source["id"]), json=body)
    assert response.status_code == 200
    assert bodies(api, base, destination["id"]) == [tile["text"]["body"]] and bodies(api, base, decoy["id"]) == []


def test_string_ids_are_read_as_integers(api, base, pair):
    source, destination, tile = pair
    response = api.patch(move_path(base, source["id"]), json={"tile": {"id": str(tile["id"])},
                                                                "to_dashboard": str(destination["id"])})
    assert response.status_code == 200 and bodies(api, base, destination["id"]) == [tile["text"]["body"]]


def test_destination_equal_to_source_changes_nothing(api, base, pair):
    source, _, tile = pair
    response = api.patch(move_path(base, source["id"]), json={"tile": {"id": tile["id"]}, "to_dashboard": source["id"]})
    assert response.status_code == 200 and [t["id"] for t in response.json()["tiles"]] == [tile["id"]]


@pytest.mark.parametrize(
    ("body", "code", "attr"),
    [
        ({"tile": {"id": "TILE"}}, "required", "to_dashboard"),
        ({}, "required", "to_dashboard"),
        ({"to_dashboard": "DEST"}, "required", "tile"),
        ({"to_dashboard": "DEST", "tile": {}}, "required", "tile__id"),
        ({"to_dashboard": "DEST", "tile": {"id": None}}, "null", "tile__id"),
        ({"to_dashboard": "abc", "tile": {"id": "TILE"}}, "invalid_input", "to_dashboard"),
        ({"toDashboard": [1], "tile": {"id": "TILE"}}, "invalid_input", "to_dashboard"),
        ({"to_dashboard": "DEST", "tile": {"id": "abc"}}, "invalid_input", "tile__id"),
        ({"to_dashboard": "DEST", "tile": "TILE"}, "invalid_input", "tile"),
        ({"to_dashboard": "DEST", "tile": [1]}, "invalid_input", "tile"),
        ({"to_dashboard": None, "tile": {"id": "TILE"}}, "null", "to_dashboard"),
    ],
)
def test_body_errors_are_400(api, base, pair, expect_error, body, code, attr):
    source, destination, tile = pair
    swap = {"TILE": tile["id"], "DEST": destination["id"]}

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return swap.get(value, value) if isinstance(value, str) else value

    expect_error(api.patch(move_path(base, source["id"]), json=fill(body)), 400, code, attr=attr)
    assert bodies(api, base, source["id"]) == [tile["text"]["body"]]


def test_malformed_json_is_a_parse_error(api, base, pair, expect_error):
    source, _, _ = pair
    expect_error(api.patch(move_path(base, source["id"]), content=b"{", headers={"Content-Type": "application/json"}),
                 400, "parse_error")


def test_not_found_cases(api, base, pair, make_dashboard, add_text_tile, soft_delete, client_for, reference,
                         expect_error):
    source, destination, tile = pair
    other = make_dashboard(name="other-source")
    foreign_tile = add_text_tile(other["id"], "not on the source")
    cases = [
        (source["id"], {"tile": {"id": foreign_tile["id"]}, "to_dashboard": destination["id"]}),
        (source["id"], {"tile": {"id": 987654321}, "to_dashboard": destination["id"]}),
        (source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": 987654321}),
        (987654321, {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}),
        ("abc", {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}),
    ]
    theirs = client_for("outsider_api_key").post(f"/api/projects/{reference['other_project_id']}/dashboards/",
                                                 json={"name": "theirs"}).json()
    cases.append((source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": theirs["id"]}))
    gone = make_dashboard(name="gone-destination")
    soft_delete(gone["id"])
    cases.append((source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": gone["id"]}))
    for dashboard_id, body in cases:
        expect_error(api.patch(move_path(base, dashboard_id), json=body), 404, "not_found", "Not found.", None)
    assert bodies(api, base, source["id"]) == [tile["text"]["body"]]
    soft_delete(source["id"])
    expect_error(api.patch(move_path(base, source["id"]), json=cases[0][1]), 404, "not_found")


def test_a_removed_tile_cannot_be_moved(api, base, pair, expect_error):
    source, destination, tile = pair
    api.patch(f"{base}/dashboards/{source['id']}/", json={"tiles": [{"id": tile["id"], "deleted": True}]})
    expect_error(api.patch(move_path(base, source["id"]), json={"tile": {"id": tile["id"]},
                                                                  "to_dashboard": destination["id"]}), 404, "not_found")


def test_edit_rights_on_source_and_destination(api, base, client_for, make_dashboard, add_text_tile, expect_error):
    member = client_for("member_api_key")
    restricted = make_dashboard(name="restricted-source", restriction_level=37)
    tile = add_text_tile(restricted["id"], "locked")
    open_one = make_dashboard(name="open")
    expect_error(member.patch(move_path(base, restricted["id"]), json={"tile": {"id": tile["id"]},
                                                                         "to_dashboard": open_one["id"]}),
                 403, "permission_denied", "You don't have edit permissions for this dashboard.")
    open_tile = add_text_tile(open_one["id"], "free")
    expect_error(member.patch(move_path(base, open_one["id"]), json={"tile": {"id": open_tile["id"]},
                                                                       "to_dashboard": restricted["id"]}),
                 403, "permission_denied", "You don't have edit permissions for the destination dashboard.")
    assert bodies(api, base, open_one["id"]) == ["free"]


def test_scope_is_checked_first(client_for, base, expect_error):
    expect_error(client_for("readonly_api_key").patch(move_path(base, "abc"), json={}), 403, "permission_denied",
                 "API key missing required scope 'dashboard:write'")
    expect_error(client_for(None).patch(move_path(base, "abc"), json={}), 401, "not_authenticated")


def test_an_insight_already_on_the_destination_cannot_move_there(api, base, expect_error):
    source = api.post(f"{base}/dashboards/", json={"use_template": "DEFAULT_APP"}).json()
    copy = api.post(f"{base}/dashboards/", json={"use_dashboard": source["id"]}).json()  # shares the insights
    insight_tile = next(t for t in source["tiles"] if t["insight"])
    expect_error(api.patch(move_path(base, source["id"]), json={"tile": {"id": insight_tile["id"]},
                                                                 "to_dashboard": copy["id"]}),
                 400, "invalid_input", "Invalid request data for moving tile.", None)


def test_get_on_move_tile_is_405(api, client_for, base, pair, expect_error):
    """GET has no action on move_tile (§1.4): scoped key 403, legacy unscoped key 405."""
    source, _, _ = pair
    expect_error(api.get(move_path(base, source["id"])), 403, "permission_denied",
                 "This action does not support personal API key access")
    expect_error(client_for("legacy_api_key").get(move_path(base, source["id"])), 405, "method_not_allowed")


# --- mutants ------------------------------------------------------------------------------------------------


def _mutant_pair(mutant_server: Any, name: str, base: str) -> tuple[Any, int, int, int]:
    client = mutant_server(name).client()
    source = client.post(f"{base}/dashboards/", json={"name": "s"}).json()["id"]
    destination = client.post(f"{base}/dashboards/", json={"name": "d"}).json()["id"]
    tiles = client.patch(f"{base}/dashboards/{source}/", json={"tiles": [{"text": {"body": "t"}}]}).json()["tiles"]
    return client, source, destination, tiles[0]["id"]


def test_mutant_tile_not_moved(mutant_server, base):
    client, source, destination, tile = _mutant_pair(mutant_server, "tile_not_moved", base)
    response = client.patch(move_path(base, source), json={"tile": {"id": tile}, "to_dashboard": destination})
    assert response.status_code == 200 and bodies(client, base, destination) == []


def test_mutant_move_tile_unknown_tile_200(mutant_server, base):
    client, source, destination, _ = _mutant_pair(mutant_server, "move_tile_unknown_tile_200", base)
    response = client.patch(move_path(base, source), json={"tile": {"id": 987654}, "to_dashboard": destination})
    assert response.status_code == 200


def test_mutant_move_tile_missing_field_500(mutant_server, base):
    client, source, _, tile = _mutant_pair(mutant_server, "move_tile_missing_field_500", base)
    assert client.patch(move_path(base, source), json={"tile": {"id": tile}}).status_code == 500
