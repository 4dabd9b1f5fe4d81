"""Dashboard collaborators on a restricted dashboard (contract §4).

The paid access-control feature decides what can be judged (§4.2): a valid ``restriction_level``
PATCH is stored on every host (PostHog: ``UserDashboardPermissions.effective_restriction_level``
reads the stored level only when the organisation has ``ACCESS_CONTROL``), so that is checked
everywhere; add/remove checks become *unavailable* only once the POST answers rule 4, and the empty
list and the DELETE of a non-collaborator still run without the feature.
"""

from __future__ import annotations

import uuid

import pytest

from posthog_contract.assertions import expect_empty, expect_error, expect_shape, expect_that, fail
from posthog_contract.wire import refuses_personal_keys

pytestmark = [pytest.mark.writes, pytest.mark.needs_collaborator]

LOWEST_LEVEL = "cannot add collaborators to a dashboard on the lowest restriction level"


@pytest.fixture
def restricted(client, paths, outcomes, new_dashboard):
    """A dashboard stored at restriction level 37; unavailable where the collaborators route is absent."""
    created = new_dashboard("restricted")
    response = client.patch(paths.dashboard(created["id"]), json={"restriction_level": 37})
    body = expect_shape(response, 200, "dashboard", rule="PATCH restriction_level=37 answers 200")
    listing = client.get(paths.collaborators(created["id"]))
    if listing.status_code == 404:
        outcomes.unavailable(
            "collaborators route absent on this host (EE-only, §4.2); nothing to enable on the suite's side",
            client.describe(listing),
        )
    return body


@pytest.fixture
def with_feature(client, paths, outcomes, restricted):
    """The restricted dashboard where adding collaborators is possible (effective level 37).

    With effective level 21 the host must answer a valid add with rule 4 (§4.2); only then are the
    add/remove checks unavailable. Any other answer is judged by the add tests themselves.
    """
    if restricted["effective_restriction_level"] == 37:
        return restricted
    probe = {"user_uuid": str(uuid.uuid4()), "level": 37}  # rule 4 comes before rule 6 (unknown user)
    response = client.post(paths.collaborators(restricted["id"]), json=probe)
    if response.status_code == 400 and LOWEST_LEVEL in response.text.lower():
        outcomes.unavailable(
            "organisation lacks PostHog's access-control feature: effective level stays 21 and adding a "
            "collaborator answers rule 4 (§4.2); run against an organisation with the feature",
            client.describe(response),
        )
    raise fail(
        "effective_restriction_level follows a stored restriction_level of 37 when adding collaborators is "
        "possible (§2.7, §4.2)",
        response,
        f"effective_restriction_level = {restricted['effective_restriction_level']!r}, and the add did not "
        "answer rule 4",
    )


@pytest.mark.operations("dashboards_collaborators_list")
@pytest.mark.check("shape")
def test_a_new_restricted_dashboard_lists_no_collaborators(client, paths, restricted):
    expect_that(
        listed_uuids(client, paths, restricted["id"]) == [],
        "a dashboard nobody was added to lists no collaborators (§4.1, §4.2)",
    )


def add(client, paths, resources, dashboard_id, user_uuid, level=37):
    response = client.post(paths.collaborators(dashboard_id), json={"user_uuid": user_uuid, "level": level})
    if response.status_code == 201:
        resources.track_collaborator(dashboard_id, user_uuid)
    return response


def listed_uuids(client, paths, dashboard_id) -> list[str]:
    response = client.get(paths.collaborators(dashboard_id))
    body = expect_shape(response, 200, "collaborator-list", rule="GET collaborators answers a plain array (§4.1)")
    return [item["user"]["uuid"] for item in body]


@pytest.mark.operations("dashboards_collaborators_create", "dashboards_collaborators_list")
@pytest.mark.check("status", "shape", "persistence")
def test_add_collaborator_is_201_and_listed(client, paths, resources, with_feature, collaborator_uuid):
    response = add(client, paths, resources, with_feature["id"], collaborator_uuid)
    body = expect_shape(
        response, 201, "collaborator", rule="POST collaborators answers 201 with the collaborator (§4.1)"
    )
    expect_that(
        body["user"]["uuid"] == collaborator_uuid and body["level"] == 37,
        "the answer names the added user and level 37",
        response,
    )
    expect_that(
        collaborator_uuid in listed_uuids(client, paths, with_feature["id"]),
        "an added collaborator is listed (§4.1)",
        response,
    )


@pytest.mark.operations("dashboards_collaborators_create")
@pytest.mark.check("negative")
def test_add_collaborator_at_level_21_is_400(client, paths, resources, with_feature, collaborator_uuid):
    expect_error(
        add(client, paths, resources, with_feature["id"], collaborator_uuid, level=21),
        400,
        detail="Only edit access can be explicitly specified currently.",
        rule="only level 37 can be given explicitly (§4.1 rule 5)",
    )


@pytest.mark.operations("dashboards_collaborators_create")
@pytest.mark.check("negative")
def test_add_the_owner_is_400(client, paths, resources, with_feature, current_user_uuid):
    expect_error(
        add(client, paths, resources, with_feature["id"], current_user_uuid),
        400,
        detail_contains="already have inherent access",
        rule="the creator or an admin cannot be added (§4.1 rule 8)",
    )


@pytest.mark.operations("dashboards_collaborators_create")
@pytest.mark.check("negative")
def test_add_twice_is_400(client, paths, resources, with_feature, collaborator_uuid):
    add(client, paths, resources, with_feature["id"], collaborator_uuid)
    expect_error(
        add(client, paths, resources, with_feature["id"], collaborator_uuid),
        400,
        detail="User already is a collaborator.",
        rule="a duplicate collaborator is a 400 (§4.1 rule 9)",
    )


@pytest.mark.operations("dashboards_collaborators_destroy", "dashboards_collaborators_list")
@pytest.mark.check("status", "shape", "persistence")
def test_remove_collaborator_is_204_and_unlisted(client, paths, resources, with_feature, collaborator_uuid):
    add(client, paths, resources, with_feature["id"], collaborator_uuid)
    response = client.delete(paths.collaborator(with_feature["id"], collaborator_uuid))
    expect_empty(response, 204, rule="DELETE collaborators/{uuid} answers 204 with an empty body (§4.1)")
    resources.forget_collaborator(with_feature["id"], collaborator_uuid)
    expect_that(
        collaborator_uuid not in listed_uuids(client, paths, with_feature["id"]),
        "a removed collaborator is no longer listed (§4.1)",
        response,
    )


@pytest.mark.operations("dashboards_collaborators_destroy")
@pytest.mark.check("negative")
def test_remove_a_non_collaborator_is_404(client, paths, restricted, collaborator_uuid):
    expect_error(
        client.delete(paths.collaborator(restricted["id"], collaborator_uuid)),
        404,
        code="not_found",
        rule="DELETE of a user who is not a collaborator is 404 (§4.1)",
    )


@pytest.mark.operations("dashboards_collaborators_destroy")
@pytest.mark.check("negative")
def test_patch_a_collaborator_is_refused(client, paths, resources, with_feature, collaborator_uuid):
    add(client, paths, resources, with_feature["id"], collaborator_uuid)
    response = client.patch(paths.collaborator(with_feature["id"], collaborator_uuid), json={"level": 21})
    if response.status_code == 403:
        # §1.4: the route declares no action for PATCH, so APIScopePermission refuses personal keys
        expect_error(response, 403, code="permission_denied", rule="PATCH on a collaborator is refused (§1.4)")
        expect_that(
            refuses_personal_keys(response.status_code, response.text),
            "a 403 to PATCH on a collaborator says the action does not support Personal API Key access (§1.4)",
            response,
        )
        return
    expect_error(
        response, 405, code="method_not_allowed", rule="collaborators cannot be updated: PATCH is 403 or 405 (§4.1)"
    )
    expect_that("allow" in response.headers, "a 405 names the allowed methods in Allow (§4.1)", response)


@pytest.mark.operations("dashboards_collaborators_create")
@pytest.mark.check("negative")
def test_add_on_lowest_restriction_level_is_400(client, paths, resources, new_dashboard, collaborator_uuid):
    created = new_dashboard("unrestricted")
    response = add(client, paths, resources, created["id"], collaborator_uuid)
    expect_error(
        response,
        400,
        detail_contains=LOWEST_LEVEL,
        rule="no collaborators on a dashboard at restriction level 21 (§4.1 rule 4)",
    )
