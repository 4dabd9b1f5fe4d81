"""The reference server's dashboard collaborators (contract §4), through HTTP only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

COLLABORATOR_FIELDS = {"id", "dashboard_id", "user", "level", "added_at", "updated_at"}


def collaborators_path(base: str, dashboard_id: object, user_uuid: object | None = None) -> str:
    path = f"{base}/dashboards/{dashboard_id}/collaborators/"
    return path if user_uuid is None else f"{path}{user_uuid}/"


@pytest.fixture
def restricted(make_dashboard: Any) -> dict[str, Any]:
    """A dashboard of the key owner on restriction level 37 (collaborators can be added)."""
    return make_dashboard(name=f"restricted-{uuid.uuid4().hex[:8]}", restriction_level=37)


def test_add_list_remove(api, base, env_base, restricted, reference):
    member = reference["collaborator_uuid"]
    response = api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": member, "level": 37})
    assert response.status_code == 201
    added = response.json()
    assert set(added) == COLLABORATOR_FIELDS  # user_uuid is write-only
    assert added["dashboard_id"] == restricted["id"] and added["level"] == 37 and added["user"]["uuid"] == member
    uuid.UUID(added["id"])
    datetime.fromisoformat(added["added_at"])
    listed = api.get(collaborators_path(env_base, restricted["id"]).rstrip("/"))
    assert listed.status_code == 200 and listed.json() == [added]
    removed = api.delete(collaborators_path(env_base, restricted["id"], member))
    assert removed.status_code == 204 and removed.content == b""
    assert api.get(collaborators_path(base, restricted["id"])).json() == []


def test_list_is_a_plain_array_readable_with_the_read_scope(client_for, base, make_dashboard):
    made = make_dashboard(name="collab-list")
    response = client_for("readonly_api_key").get(collaborators_path(base, made["id"]))
    assert response.status_code == 200 and response.json() == []


def test_a_collaborator_gains_edit_rights(api, base, restricted, reference, client_for):
    member = client_for("member_api_key")
    path = f"{base}/dashboards/{restricted['id']}/"
    assert member.patch(path, json={"name": "before"}).status_code == 403
    api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": reference["collaborator_uuid"],
                                                                "level": 37})
    seen = member.get(path).json()
    assert seen["effective_privilege_level"] == 37 and seen["user_access_level"] == "editor"
    assert member.patch(path, json={"name": "by collaborator"}).status_code == 200


# --- POST rules, in order (§4.1) ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw_id", ["987654321", "abc"])
def test_rule1_missing_dashboard(api, base, reference, expect_error, raw_id):
    body = {"user_uuid": reference["collaborator_uuid"], "level": 37}
    expect_error(api.post(collaborators_path(base, raw_id), json=body), 404, "not_found", "Dashboard not found.")
    expect_error(api.get(collaborators_path(base, raw_id)), 404, "not_found", "Dashboard not found.")


def test_rule1_soft_deleted_dashboard(api, base, restricted, soft_delete, reference, expect_error):
    soft_delete(restricted["id"])
    body = {"user_uuid": reference["collaborator_uuid"], "level": 37}
    expect_error(api.post(collaborators_path(base, restricted["id"]), json=body), 404, "not_found",
                 "Dashboard not found.")


def test_rule2_caller_without_edit_rights(client_for, base, restricted, reference, expect_error):
    body = {"user_uuid": reference["collaborator_uuid"], "level": 37}
    expect_error(client_for("member_api_key").post(collaborators_path(base, restricted["id"]), json=body), 403,
                 "permission_denied", "You don't have edit permissions for this dashboard.")


@pytest.mark.parametrize(
    ("body", "code", "attr", "detail"),
    [
        ({"level": 37}, "required", "user_uuid", "This field is required."),
        ({"user_uuid": "not-a-uuid", "level": 37}, "invalid_input", "user_uuid", "Must be a valid UUID."),
        ({"user_uuid": ["x"], "level": 37}, "invalid_input", "user_uuid", "Must be a valid UUID."),
        ({"user_uuid": None, "level": 37}, "null", "user_uuid", "This field may not be null."),
        ({"user_uuid": "MEMBER"}, "required", "level", "This field is required."),
        ({"user_uuid": "MEMBER", "level": 99}, "invalid_choice", "level", '"99" is not a valid choice.'),
        ({"user_uuid": "MEMBER", "level": "edit"}, "invalid_choice", "level", '"edit" is not a valid choice.'),
        ({}, "required", "level", "This field is required."),
    ],
)
def test_rule3_field_errors(api, base, restricted, reference, expect_error, body, code, attr, detail):
    body = {k: reference["collaborator_uuid"] if v == "MEMBER" else v for k, v in body.items()}
    expect_error(api.post(collaborators_path(base, restricted["id"]), json=body), 400, code, detail, attr)


def test_rule4_lowest_restriction_level(api, base, make_dashboard, reference, expect_error):
    made = make_dashboard(name="collab-open")
    expect_error(api.post(collaborators_path(base, made["id"]), json={"user_uuid": reference["collaborator_uuid"],
                                                                       "level": 37}),
                 400, "invalid_input", "Cannot add collaborators to a dashboard on the lowest restriction level.", None)


def test_rule5_only_edit_level(api, base, restricted, reference, expect_error):
    expect_error(api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": reference["collaborator_uuid"],
                                                                             "level": 21}),
                 400, "invalid_input", "Only edit access can be explicitly specified currently.", None)


def test_rule6_unknown_user(api, base, restricted, expect_error):
    expect_error(api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": str(uuid.uuid4()),
                                                                             "level": 37}),
                 400, "invalid_input", "User does not exist.", None)


def test_rule7_user_without_project_access(api, base, restricted, client_for, expect_error):
    outsider = client_for("outsider_api_key").get("/api/users/@me/").json()["uuid"]
    expect_error(api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": outsider, "level": 37}),
                 400, "invalid_input", "Cannot add collaborators that have no access to the project.", None)


def test_rule8_owner_or_admin(api, base, restricted, expect_error):
    owner = api.get("/api/users/@me/").json()["uuid"]
    expect_error(api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": owner, "level": 37}),
                 400, "invalid_input",
                 "Cannot add collaborators that already have inherent access (the dashboard owner or a project"
                 " admins).", None)


def test_rule9_already_a_collaborator(api, base, restricted, reference, expect_error):
    body = {"user_uuid": reference["collaborator_uuid"], "level": 37}
    assert api.post(collaborators_path(base, restricted["id"]), json=body).status_code == 201
    expect_error(api.post(collaborators_path(base, restricted["id"]), json=body), 400, "invalid_input",
                 "User already is a collaborator.", None)
    assert len(api.get(collaborators_path(base, restricted["id"])).json()) == 1


def test_post_as_form_data_and_malformed_bodies(api, base, restricted, reference, expect_error):
    response = api.post(collaborators_path(base, restricted["id"]),
                        data={"user_uuid": reference["collaborator_uuid"], "level": "37"})
    assert response.status_code == 201, response.text
    expect_error(api.post(collaborators_path(base, restricted["id"]), content=b"{",
                          headers={"Content-Type": "application/json"}), 400, "parse_error")


def test_add_needs_write_scope(client_for, base, restricted, reference, expect_error):
    expect_error(client_for("readonly_api_key").post(collaborators_path(base, restricted["id"]),
                                                     json={"user_uuid": reference["collaborator_uuid"], "level": 37}),
                 403, "permission_denied", "API key missing required scope 'dashboard:write'")


# --- DELETE and the item's other methods ----------------------------------------------------------------------


@pytest.mark.parametrize("user_uuid", [str(uuid.uuid4()), "not-a-uuid", "0190b7a1-0000-7000-8000-0000000000a1"])
def test_delete_unknown_or_malformed_uuid_is_404(api, base, restricted, expect_error, user_uuid):
    expect_error(api.delete(collaborators_path(base, restricted["id"], user_uuid)), 404, "not_found", "Not found.",
                 None)


def test_delete_on_the_lowest_restriction_level_is_400(api, base, restricted, reference, expect_error):
    member = reference["collaborator_uuid"]
    api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": member, "level": 37})
    api.patch(f"{base}/dashboards/{restricted['id']}/", json={"restriction_level": 21})
    expect_error(api.delete(collaborators_path(base, restricted["id"], member)), 400, "invalid_input",
                 "Cannot remove collaborators from a dashboard on the lowest restriction level.", None)


def test_delete_without_edit_rights_is_403(api, base, restricted, reference, client_for, expect_error):
    outsider_dashboard = restricted["id"]
    expect_error(client_for("member_api_key").delete(collaborators_path(base, outsider_dashboard, uuid.uuid4())),
                 403, "permission_denied", "You don't have edit permissions for this dashboard.")


def test_uppercase_and_dashless_uuid_find_the_collaborator(api, base, restricted, reference):
    member = reference["collaborator_uuid"]
    api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": member.replace("-", ""), "level": 37})
    assert api.delete(collaborators_path(base, restricted["id"], member.upper())).status_code == 204


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT"])
def test_item_get_patch_put_are_405(api, client_for, base, restricted, reference, expect_error, method):
    """No action for these methods (§1.4, §4.1): a scoped key gets 403, a legacy unscoped key DRF's 405."""
    member = reference["collaborator_uuid"]
    api.post(collaborators_path(base, restricted["id"]), json={"user_uuid": member, "level": 37})
    response = api.request(method, collaborators_path(base, restricted["id"], member), json={"level": 21})
    expect_error(response, 403, "permission_denied", "This action does not support personal API key access")
    legacy = client_for("legacy_api_key")
    response = legacy.request(method, collaborators_path(base, restricted["id"], member), json={"level": 21})
    expect_error(response, 405, "method_not_allowed", f'Method "{method}" not allowed.')
    assert "DELETE" in response.headers["allow"]
    assert api.get(collaborators_path(base, restricted["id"])).json()[0]["level"] == 37


# --- mutants ------------------------------------------------------------------------------------------------


@pytest.fixture
def mutant_restricted(mutant_server, base):
    def make(name: str) -> tuple[Any, dict[str, Any]]:
        client = mutant_server(name).client()
        made = client.post(f"{base}/dashboards/", json={"name": "m", "restriction_level": 37}).json()
        return client, made

    return make


def test_mutant_collaborator_list_paginated(mutant_restricted, base):
    client, made = mutant_restricted("collaborator_list_paginated")
    assert isinstance(client.get(collaborators_path(base, made["id"])).json(), dict)


def test_mutant_collaborator_delete_returns_200_body(mutant_restricted, base, reference):
    client, made = mutant_restricted("collaborator_delete_returns_200_body")
    member = reference["collaborator_uuid"]
    client.post(collaborators_path(base, made["id"]), json={"user_uuid": member, "level": 37})
    response = client.delete(collaborators_path(base, made["id"], member))
    assert response.status_code == 200 and response.content


def test_mutant_collaborator_level21_accepted(mutant_restricted, base, reference):
    client, made = mutant_restricted("collaborator_level21_accepted")
    body = {"user_uuid": reference["collaborator_uuid"], "level": 21}
    assert client.post(collaborators_path(base, made["id"]), json=body).status_code == 201


def test_mutant_collaborator_duplicate_accepted(mutant_restricted, base, reference):
    client, made = mutant_restricted("collaborator_duplicate_accepted")
    body = {"user_uuid": reference["collaborator_uuid"], "level": 37}
    client.post(collaborators_path(base, made["id"]), json=body)
    assert client.post(collaborators_path(base, made["id"]), json=body).status_code == 201


def test_mutant_collaborator_owner_accepted(mutant_restricted, base):
    client, made = mutant_restricted("collaborator_owner_accepted")
    owner = client.get("/api/users/@me/").json()["uuid"]
    assert client.post(collaborators_path(base, made["id"]), json={"user_uuid": owner, "level": 37}).status_code == 201


def test_mutant_collaborator_patch_allowed(mutant_restricted, base, reference):
    client, made = mutant_restricted("collaborator_patch_allowed")
    member = reference["collaborator_uuid"]
    client.post(collaborators_path(base, made["id"]), json={"user_uuid": member, "level": 37})
    assert client.patch(collaborators_path(base, made["id"], member), json={"level": 37}).status_code == 200
