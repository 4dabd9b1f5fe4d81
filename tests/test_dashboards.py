"""Dashboards: shape, create, retrieve, PATCH persistence, validation, the DELETE 405 (contract §2)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_empty, expect_error, expect_shape, expect_that

pytestmark = pytest.mark.writes

UNKNOWN_ID = 2_000_000_001
#: a well-formed UUID no host hands out as a quick filter (contract §2.5)
UNKNOWN_QUICK_FILTER = "0190b7a1-0000-7000-8000-0000000000ff"


@pytest.mark.operations("dashboards_create")
@pytest.mark.check("status", "shape")
def test_create_returns_201_with_documented_defaults(resources):
    response = resources.create_dashboard("defaults", description=None)  # the name only: every default shows
    body = expect_shape(response, 201, "dashboard", rule="POST dashboards answers 201 with a Dashboard")
    defaults = {
        "description": "",
        "pinned": False,
        "deleted": False,
        "is_shared": False,
        "tags": [],
        "creation_mode": "default",
        "restriction_level": 21,
        "tiles": [],
    }
    wrong = {k: body.get(k) for k, v in defaults.items() if body.get(k) != v}
    expect_that(not wrong, "a new dashboard has the documented defaults (§2.3)", response, f"differs: {wrong}")


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("shape")
def test_retrieve_returns_a_dashboard(client, paths, new_dashboard):
    created = new_dashboard("retrieve")
    response = client.get(paths.dashboard(created["id"]))
    body = expect_shape(response, 200, "dashboard", rule="GET dashboards/{id} answers 200 with a Dashboard")
    expect_that(
        body["id"] == created["id"] and body["name"] == created["name"],
        "retrieve returns the requested dashboard",
        response,
    )


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("negative")
def test_invalid_restriction_level_is_400_with_attr(client, paths, new_dashboard):
    created = new_dashboard("bad-restriction")
    response = client.patch(paths.dashboard(created["id"]), json={"restriction_level": 99})
    expect_error(
        response,
        400,
        code="invalid_choice",
        attr="restriction_level",
        type_="validation_error",
        rule="restriction_level outside 21/37 is a 400 invalid_choice on `restriction_level` (§2.3)",
    )


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("negative")
def test_name_over_400_characters_is_400_max_length(client, paths, new_dashboard):
    created = new_dashboard("long-name")
    response = client.patch(paths.dashboard(created["id"]), json={"name": "x" * 401})
    expect_error(
        response,
        400,
        code="max_length",
        attr="name",
        rule="a name over 400 characters is a 400 max_length on `name` (§2.3)",
    )


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("negative")
def test_non_boolean_pinned_is_400(client, paths, new_dashboard):
    created = new_dashboard("garbage-pinned")
    response = client.patch(paths.dashboard(created["id"]), json={"pinned": "sometimes"})
    expect_error(
        response,
        400,
        code="invalid_input",
        attr="pinned",
        rule="a pinned DRF's BooleanField cannot read is a 400 invalid_input on `pinned` (§2.3)",
    )


@pytest.mark.operations("dashboards_create")
@pytest.mark.check("negative")
def test_an_unknown_quick_filter_is_400_quick_filters_not_found(resources, outcomes):
    """``quick_filter_ids`` must name quick filters of the project (§2.5; PostHog's
    ``DashboardSerializer.validate_quick_filter_ids``, on create and update alike): a well-formed UUID that
    names none is 400 "Quick filters not found: <id>" on ``quick_filter_ids``, and nothing is created."""
    response = resources.create_dashboard("unknown-quick-filter", quick_filter_ids=[UNKNOWN_QUICK_FILTER])
    if response.status_code == 201 and "quick_filter_ids" not in (response.json() or {}):
        outcomes.unavailable("the host's dashboards have no quick_filter_ids (a release before quick filters ignores"
                             " the key, §11); nothing to judge on this release")
    expect_error(
        response,
        400,
        code="invalid_input",
        attr="quick_filter_ids",
        detail_contains="Quick filters not found",
        rule="quick_filter_ids naming no quick filter of the project is a 400 'Quick filters not found' (§2.5)",
    )


@pytest.mark.operations("dashboards_destroy", "dashboards_retrieve")
@pytest.mark.check("status", "shape", "persistence")
def test_delete_is_405_with_empty_body_and_keeps_the_dashboard(client, paths, new_dashboard):
    created = new_dashboard("delete-405")
    response = client.delete(paths.dashboard(created["id"]))
    expect_empty(response, 405, rule="DELETE dashboards/{id} answers 405 with an empty body (§2.8)")
    reread = client.get(paths.dashboard(created["id"]))
    expect_shape(reread, 200, "dashboard", rule="the dashboard still exists after the refused DELETE (§2.8)")


@pytest.mark.operations("dashboards_destroy")
@pytest.mark.check("status", "negative")
def test_delete_of_an_unknown_id_is_405(client, paths):
    response = client.delete(paths.dashboard(UNKNOWN_ID))
    expect_empty(response, 405, rule="DELETE answers 405 without looking the dashboard up (§2.8)")


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("negative")
def test_unknown_dashboard_is_404_envelope(client, paths):
    expect_error(
        client.get(paths.dashboard(UNKNOWN_ID)),
        404,
        code="not_found",
        type_="invalid_request",
        rule="an unknown dashboard id is a 404 not_found envelope (§2.4)",
    )


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("negative")
def test_non_integer_dashboard_id_is_404(client, paths):
    expect_error(
        client.get(paths.dashboard("not-a-number")),
        404,
        code="not_found",
        rule="a non-integer dashboard id is a 404 (§1.1)",
    )


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("shape")
def test_list_items_carry_no_tiles(client, paths, new_dashboard):
    new_dashboard("list-no-tiles")
    response = client.get(paths.dashboards(), params={"limit": "20"})
    body = expect_shape(response, 200, "dashboard-list-page", rule="GET dashboards answers a paginated list")
    with_tiles = [item["id"] for item in body["results"] if "tiles" in item]
    expect_that(not with_tiles, "list items carry no `tiles` (§2.1)", response, f"ids with tiles: {with_tiles}")


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("parameters")
def test_patch_accepts_form_data(client, paths, resources, new_dashboard):
    created = new_dashboard("form-data")
    name = resources.name("form-renamed")
    response = client.patch(paths.dashboard(created["id"]), data={"name": name, "pinned": "true"})
    body = expect_shape(response, 200, "dashboard", rule="PATCH accepts form-urlencoded bodies (§1.1)")
    expect_that(body["name"] == name and body["pinned"] is True, "form fields are applied", response)


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("negative")
def test_malformed_json_is_400_parse_error(client, paths, new_dashboard):
    created = new_dashboard("malformed-json")
    response = client.patch(
        paths.dashboard(created["id"]), content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    expect_error(
        response, 400, code="parse_error", type_="invalid_request", rule="malformed JSON is a 400 parse_error (§1.1)"
    )


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("parameters")
def test_trailing_slash_is_optional(client, paths, new_dashboard):
    created = new_dashboard("no-slash")
    response = client.get(paths.dashboard(created["id"]).rstrip("/"))
    expect_shape(response, 200, "dashboard", rule="paths answer without the trailing slash, no redirect (§1.1)")


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("shape", "parameters")
def test_both_prefixes_serve_the_same_dashboard(client, paths, new_dashboard):
    created = new_dashboard("both-prefixes")
    bodies = {}
    for prefix in ("projects", "environments"):
        response = client.get(paths.with_prefix(prefix).dashboard(created["id"]))
        bodies[prefix] = expect_shape(response, 200, "dashboard", rule=f"/api/{prefix}/ serves dashboards (§1.1)")
    volatile = ("last_accessed_at", "last_viewed_at")
    a, b = ({k: v for k, v in body.items() if k not in volatile} for body in bodies.values())
    expect_that(
        a == b,
        "both prefixes reach the same data (§1.1)",
        None,
        f"differs in: {sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))}",
    )
