"""Soft delete and undelete (contract §2.8): the only way a dashboard goes away."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that
from posthog_contract.pagination import walk_dashboards

pytestmark = pytest.mark.writes


def listed_ids(client, paths) -> set[int]:
    """Every dashboard id in the list (the one walker; the suite's own ids are what matter)."""
    return {item["id"] for item in walk_dashboards(client, paths.dashboards(), limit=200, max_pages=100).items}


@pytest.fixture
def soft_deleted(client, paths, new_dashboard):
    created = new_dashboard("soft-deleted")
    response = client.patch(paths.dashboard(created["id"]), json={"deleted": True})
    return created, response


@pytest.mark.operations("dashboards_retrieve")
@pytest.mark.check("persistence", "negative")
def test_soft_deleted_dashboard_is_404(client, paths, soft_deleted):
    created, _ = soft_deleted
    expect_error(
        client.get(paths.dashboard(created["id"])),
        404,
        code="not_found",
        rule="GET of a soft-deleted dashboard is 404 (§2.8)",
    )


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("persistence")
def test_soft_deleted_dashboard_leaves_the_list(client, paths, soft_deleted):
    created, _ = soft_deleted
    response = client.get(paths.dashboards(), params={"limit": "1"})
    expect_that(
        created["id"] not in listed_ids(client, paths), "a soft-deleted dashboard is not listed (§2.8)", response
    )


@pytest.mark.operations("dashboards_list", "dashboards_partial_update")
@pytest.mark.check("pagination", "persistence")
def test_soft_delete_lowers_the_list_count(client, paths, new_dashboard):
    created = new_dashboard("count-drop")
    before = expect_shape(client.get(paths.dashboards(), params={"limit": "1"}), 200, "dashboard-list-page")["count"]
    client.patch(paths.dashboard(created["id"]), json={"deleted": True})
    response = client.get(paths.dashboards(), params={"limit": "1"})
    after = expect_shape(response, 200, "dashboard-list-page")["count"]
    expect_that(
        after == before - 1,
        "`count` is one lower after a soft delete (§2.8)",
        response,
        f"count before {before}, after {after}",
    )


@pytest.mark.check("persistence")
@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("sharing", marks=pytest.mark.operations("dashboards_sharing_list")),
        pytest.param("collaborators", marks=pytest.mark.operations("dashboards_collaborators_list")),
    ],
)
def test_soft_deleted_dashboard_subresources_are_404(client, paths, soft_deleted, endpoint):
    created, _ = soft_deleted
    path = getattr(paths, endpoint)(created["id"])
    expect_error(client.get(path), 404, code="not_found", rule=f"{endpoint} of a soft-deleted dashboard is 404 (§2.8)")


@pytest.mark.operations("dashboards_partial_update")
@pytest.mark.check("persistence", "negative")
def test_patch_of_soft_deleted_dashboard_without_undelete_is_404(client, paths, resources, soft_deleted):
    created, _ = soft_deleted
    expect_error(
        client.patch(paths.dashboard(created["id"]), json={"name": resources.name("ghost")}),
        404,
        rule="PATCH of a soft-deleted dashboard without a falsy `deleted` is 404 (§2.8)",
    )


@pytest.mark.operations("dashboards_partial_update", "dashboards_retrieve", "dashboards_list")
@pytest.mark.check("persistence")
def test_undelete_brings_the_dashboard_back(client, paths, soft_deleted):
    created, _ = soft_deleted
    response = client.patch(paths.dashboard(created["id"]), json={"deleted": False})
    body = expect_shape(response, 200, "dashboard", rule="PATCH deleted=false on a soft-deleted dashboard is 200")
    expect_that(body["deleted"] is False, "the undelete answer shows deleted: false (§2.8)", response)
    expect_shape(
        client.get(paths.dashboard(created["id"])),
        200,
        "dashboard",
        rule="an undeleted dashboard is retrievable again (§2.8)",
    )
    expect_that(created["id"] in listed_ids(client, paths), "an undeleted dashboard is listed again (§2.8)", response)
