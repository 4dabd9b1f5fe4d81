"""Dashboard collaborators on a restricted dashboard (spec §4)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_empty, expect_error, expect_shape, expect_that

pytestmark = [pytest.mark.writes, pytest.mark.needs_collaborator]

LOWEST_LEVEL = "cannot add collaborators to a dashboard on the lowest restriction level"


@pytest.fixture
def restricted(client, paths, outcomes, new_dashboard):
    """A dashboard at restriction level 37; unavailable where the host lacks the feature or the route."""
    created = new_dashboard("restricted")
    response = client.patch(paths.dashboard(created["id"]), json={"restriction_level": 37})
    body = expect_shape(response, 200, "dashboard", rule="PATCH restriction_level=37 answers 200")
    listing = client.get(paths.collaborators(created["id"]))
    if listing.status_code == 404:
        outcomes.unavailable("collaborators route absent on this host (EE-only, §4.2)")
    if body["effective_restriction_level"] != 37:
        outcomes.unavailable("organisation lacks PostHog's access-control feature: effective level stays 21 (§4.2)")
    return body


def add(client, paths, resources, dashboard_id, user_uuid, level=37):
    response = client.post(paths.collaborators(dashboard_id), json={"user_uuid": user_uuid, "level": level})
    if response.status_code == 201:
        resources.track_collaborator(dashboard_id, user_uuid)
    return response


def listed_uuids(client, paths, dashboard_id) -> list[str]:
    response = client.get(paths.collaborators(dashboard_id))
    body = expect_shape(response, 200, "collaborator-list", rule="GET collaborators answers a plain array (§4.1)")
    return [item["user"]["uuid"] for item in body]


def test_add_collaborator_is_201_and_listed(client, paths, resources, restricted, collaborator_uuid):
    response = add(client, paths, resources, restricted["id"], collaborator_uuid)
    body = expect_shape(
        response, 201, "collaborator", rule="POST collaborators answers 201 with the collaborator (§4.1)"
    )
    expect_that(
        body["user"]["uuid"] == collaborator_uuid and body["level"] == 37,
        "the answer names the added user and level 37",
        response,
    )
    expect_that(
        collaborator_uuid in listed_uuids(client, paths, restricted["id"]),
        "an added collaborator is listed (§4.1)",
        response,
    )


def test_add_collaborator_at_level_21_is_400(client, paths, resources, restricted, collaborator_uuid):
    expect_error(
        add(client, paths, resources, restricted["id"], collaborator_uuid, level=21),
        400,
        detail="Only edit access can be explicitly specified currently.",
        rule="only level 37 can be given explicitly (§4.1 rule 5)",
    )


def test_add_the_owner_is_400(client, paths, resources, restricted, current_user_uuid):
    expect_error(
        add(client, paths, resources, restricted["id"], current_user_uuid),
        400,
        detail_contains="already have inherent access",
        rule="the creator or an admin cannot be added (§4.1 rule 8)",
    )


def test_add_twice_is_400(client, paths, resources, restricted, collaborator_uuid):
    add(client, paths, resources, restricted["id"], collaborator_uuid)
    expect_error(
        add(client, paths, resources, restricted["id"], collaborator_uuid),
        400,
        detail="User already is a collaborator.",
        rule="a duplicate collaborator is a 400 (§4.1 rule 9)",
    )


def test_remove_collaborator_is_204_and_unlisted(client, paths, resources, restricted, collaborator_uuid):
    add(client, paths, resources, restricted["id"], collaborator_uuid)
    response = client.delete(paths.collaborator(restricted["id"], collaborator_uuid))
    expect_empty(response, 204, rule="DELETE collaborators/{uuid} answers 204 with an empty body (§4.1)")
    resources.forget_collaborator(restricted["id"], collaborator_uuid)
    expect_that(
        collaborator_uuid not in listed_uuids(client, paths, restricted["id"]),
        "a removed collaborator is no longer listed (§4.1)",
        response,
    )


def test_remove_a_non_collaborator_is_404(client, paths, restricted, collaborator_uuid):
    expect_error(
        client.delete(paths.collaborator(restricted["id"], collaborator_uuid)),
        404,
        code="not_found",
        rule="DELETE of a user who is not a collaborator is 404 (§4.1)",
    )


def test_patch_a_collaborator_is_405(client, paths, resources, restricted, collaborator_uuid):
    add(client, paths, resources, restricted["id"], collaborator_uuid)
    expect_error(
        client.patch(paths.collaborator(restricted["id"], collaborator_uuid), json={"level": 21}),
        405,
        code="method_not_allowed",
        rule="collaborators cannot be updated: PATCH is 405 (§4.1)",
    )


def test_add_on_lowest_restriction_level_is_400(client, paths, resources, new_dashboard, collaborator_uuid):
    created = new_dashboard("unrestricted")
    response = add(client, paths, resources, created["id"], collaborator_uuid)
    expect_error(
        response,
        400,
        detail_contains=LOWEST_LEVEL,
        rule="no collaborators on a dashboard at restriction level 21 (§4.1 rule 4)",
    )
