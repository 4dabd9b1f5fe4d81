"""move_tile: a tile leaves the source dashboard and lands on the destination (spec §5)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that

pytestmark = pytest.mark.writes

REFUSES_PERSONAL_KEYS = "does not support personal api key access"


def tile_texts(dashboard: dict) -> list[str]:
    return [(tile.get("text") or {}).get("body") for tile in dashboard.get("tiles") or [] if tile.get("text")]


@pytest.fixture
def two_dashboards_with_tile(client, paths, resources, new_dashboard):
    source, destination = new_dashboard("move-source"), new_dashboard("move-destination")
    text = f"tile of {resources.run_id} {source['id']}"
    response = client.patch(paths.dashboard(source["id"]), json={"tiles": [{"text": {"body": text}}]})
    body = expect_shape(response, 200, "dashboard", rule="PATCH with a text tile payload creates the tile (§2.6)")
    tiles = [t for t in body["tiles"] if (t.get("text") or {}).get("body") == text]
    expect_that(len(tiles) == 1, "a text tile payload without id creates one text tile (§2.6)", response)
    return source, destination, tiles[0], text


def move(client, paths, source_id, body, method="PATCH", outcomes=None):
    response = client.request(method, paths.move_tile(source_id), json=body)
    if outcomes is not None and response.status_code == 403 and REFUSES_PERSONAL_KEYS in response.text.lower():
        outcomes.unavailable("move_tile refuses personal API keys on this release (§5)")
    return response


def test_move_tile_answers_the_source_without_the_tile(client, paths, outcomes, two_dashboards_with_tile):
    source, destination, tile, text = two_dashboards_with_tile
    response = move(
        client, paths, source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}, outcomes=outcomes
    )
    if response.status_code == 200 and not response.content.strip():
        outcomes.warn("move_tile answered 200 with an empty body (documented 'No response body')")
        return
    body = expect_shape(response, 200, "dashboard", rule="move_tile answers 200 with the source Dashboard (§5)")
    expect_that(body["id"] == source["id"], "move_tile answers the source dashboard (§5)", response)
    expect_that(text not in tile_texts(body), "the returned source no longer holds the tile (§5)", response)


def test_move_tile_is_stored_on_both_dashboards(client, paths, outcomes, two_dashboards_with_tile):
    source, destination, tile, text = two_dashboards_with_tile
    move(
        client, paths, source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}, outcomes=outcomes
    )
    reread_source = client.get(paths.dashboard(source["id"]))
    expect_that(
        text not in tile_texts(expect_shape(reread_source, 200, "dashboard")),
        "after move_tile the source no longer has the tile (read again) (§5)",
        reread_source,
    )
    reread_destination = client.get(paths.dashboard(destination["id"]))
    expect_that(
        text in tile_texts(expect_shape(reread_destination, 200, "dashboard")),
        "after move_tile the destination has the tile (§5)",
        reread_destination,
    )


def test_move_tile_accepts_post_and_legacy_key(client, paths, outcomes, settings, contract, two_dashboards_with_tile):
    source, destination, tile, text = two_dashboards_with_tile
    response = move(
        client,
        paths,
        source["id"],
        {"tile": {"id": tile["id"]}, "toDashboard": destination["id"]},
        method="POST",
        outcomes=outcomes,
    )
    if response.status_code != 200 and not contract.embedded:
        outcomes.warn(f"move_tile with POST and the legacy `toDashboard` answered {response.status_code} (§11)")
        return
    expect_that(response.status_code == 200, "move_tile accepts POST and the legacy `toDashboard` key (§5)", response)
    reread = expect_shape(client.get(paths.dashboard(destination["id"])), 200, "dashboard")
    expect_that(text in tile_texts(reread), "the legacy form moves the tile too (§5)", response)


def test_move_tile_of_an_unknown_tile_is_404(client, paths, outcomes, two_dashboards_with_tile):
    source, destination, _, _ = two_dashboards_with_tile
    response = move(
        client,
        paths,
        source["id"],
        {"tile": {"id": 2_000_000_001}, "to_dashboard": destination["id"]},
        outcomes=outcomes,
    )
    expect_error(response, 404, code="not_found", rule="moving a tile that is not on the source is 404 (§5)")


def test_move_tile_to_an_unknown_dashboard_is_404(client, paths, outcomes, two_dashboards_with_tile):
    source, _, tile, _ = two_dashboards_with_tile
    response = move(
        client, paths, source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": 2_000_000_001}, outcomes=outcomes
    )
    expect_error(response, 404, code="not_found", rule="moving to an unknown destination is 404 (§5)")


@pytest.mark.parametrize(("body_without", "attr"), [("to_dashboard", "to_dashboard"), ("tile", "tile")])
def test_move_tile_without_a_required_key_is_400(
    client, paths, outcomes, contract, two_dashboards_with_tile, body_without, attr
):
    source, destination, tile, _ = two_dashboards_with_tile
    body = {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}
    del body[body_without]
    response = move(client, paths, source["id"], body, outcomes=outcomes)
    if response.status_code >= 500 and not contract.embedded:
        outcomes.warn(f"move_tile without `{body_without}` answered {response.status_code} (old PostHog: 500, §1.7)")
        return
    expect_error(
        response,
        400,
        code="required",
        attr=attr,
        rule=f"move_tile without `{body_without}` is a 400 required on `{attr}` (§5)",
    )
