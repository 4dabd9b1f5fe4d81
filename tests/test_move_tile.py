"""move_tile: a tile leaves the source dashboard and lands on the destination (contract §5)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that
from posthog_contract.wire import refuses_personal_keys

pytestmark = [pytest.mark.writes, pytest.mark.operations("dashboards_move_tile_partial_update")]


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


DESTINATION_KEYS = ("to_dashboard", "toDashboard")


def refused_key(response) -> str | None:
    """The destination key a 400 `required` names (§5): the spelling this release reads."""
    if response.status_code != 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("code") == "required" and body.get("attr") in DESTINATION_KEYS:
        return body["attr"]
    return None


def move(client, paths, source_id, body, method="PATCH", outcomes=None):
    """Send move_tile; a release that reads only the other destination spelling gets it resent.

    Newest PostHog reads only `to_dashboard` (products/dashboards/backend/api/dashboard.py,
    MoveTileRequestSerializer); mid-era releases read only `toDashboard` (§5, §11). A 400 `required`
    naming the key the body did not carry is that release's behaviour, not a failure: the move is
    judged with the key the host reads.
    """
    response = client.request(method, paths.move_tile(source_id), json=body)
    wanted = refused_key(response)
    if wanted is not None and wanted not in body and any(k in body for k in DESTINATION_KEYS):
        destination = next(body[k] for k in DESTINATION_KEYS if k in body)
        if outcomes is not None:
            outcomes.warn(f"move_tile reads only `{wanted}` on this release (400 required otherwise, §5, §11)")
        body = {**{k: v for k, v in body.items() if k not in DESTINATION_KEYS}, wanted: destination}
        response = client.request(method, paths.move_tile(source_id), json=body)
    if outcomes is not None and refuses_personal_keys(response.status_code, response.text):
        outcomes.unavailable("move_tile refuses personal API keys on this release (§5)")
    return response


@pytest.mark.check("status", "shape")
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


@pytest.mark.operations("dashboards_move_tile_create")
@pytest.mark.check("parameters")
def test_move_tile_accepts_post_and_legacy_key(client, paths, outcomes, two_dashboards_with_tile):
    """POST with the legacy `toDashboard`: newest PostHog answers 400 `required` on `to_dashboard`
    (it reads only that key), which is release behaviour; otherwise the legacy form must move the tile."""
    source, destination, tile, text = two_dashboards_with_tile
    body = {"tile": {"id": tile["id"]}, "toDashboard": destination["id"]}
    response = client.request("POST", paths.move_tile(source["id"]), json=body)
    if refuses_personal_keys(response.status_code, response.text):
        outcomes.unavailable("move_tile refuses personal API keys on this release (§5)")
    if refused_key(response) == "to_dashboard":
        outcomes.warn("move_tile does not read the legacy `toDashboard` on this release (400 required on"
                      " `to_dashboard`, §5, §11)")
        return
    expect_that(response.status_code == 200, "move_tile accepts POST and the legacy `toDashboard` key (§5)", response)
    reread = expect_shape(client.get(paths.dashboard(destination["id"])), 200, "dashboard")
    expect_that(text in tile_texts(reread), "the legacy form moves the tile too (§5)", response)


@pytest.mark.check("negative")
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


@pytest.mark.check("negative")
def test_move_tile_to_an_unknown_dashboard_is_404(client, paths, outcomes, two_dashboards_with_tile):
    source, _, tile, _ = two_dashboards_with_tile
    response = move(
        client, paths, source["id"], {"tile": {"id": tile["id"]}, "to_dashboard": 2_000_000_001}, outcomes=outcomes
    )
    expect_error(response, 404, code="not_found", rule="moving to an unknown destination is 404 (§5)")


@pytest.mark.check("negative")
@pytest.mark.parametrize(("body_without", "attr"), [("to_dashboard", "to_dashboard"), ("tile", "tile")])
def test_move_tile_without_a_required_key_is_400(
    client, paths, outcomes, settings, two_dashboards_with_tile, body_without, attr
):
    source, destination, tile, _ = two_dashboards_with_tile
    body = {"tile": {"id": tile["id"]}, "to_dashboard": destination["id"]}
    del body[body_without]
    response = move(client, paths, source["id"], body, outcomes=outcomes)
    if response.status_code >= 500 and settings.baseline is not None:
        # §1.7, §11: old PostHog answers 500 here; current PostHog a 400 (MoveTileRequestSerializer), so
        # a 5xx is a warning only for a host judged as an older release (--posthog-baseline)
        outcomes.warn(f"move_tile without `{body_without}` answered {response.status_code} (old PostHog: 500, §1.7)")
        return
    if body_without == "to_dashboard" and refused_key(response) == "toDashboard":
        attr = "toDashboard"  # a mid-era release names the one spelling it reads (§5, §11)
    expect_error(
        response,
        400,
        code="required",
        attr=attr,
        rule=f"move_tile without `{body_without}` is a 400 required on `{attr}` (§5)",
    )
