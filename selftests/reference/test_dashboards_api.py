"""The reference server's dashboards (contract §2), through HTTP only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from posthog_contract.reference.world import QUICK_FILTER_ID

UUID_OWNER_KEYS = {"id", "uuid", "distinct_id", "first_name", "last_name", "email", "is_email_verified",
                   "hedgehog_config", "role_at_organization"}
LIST_FIELDS = {
    "id", "name", "description", "pinned", "created_at", "created_by", "last_accessed_at", "last_viewed_at",
    "is_shared", "deleted", "creation_mode", "tags", "restriction_level", "effective_restriction_level",
    "effective_privilege_level", "user_access_level", "access_control_version", "last_refresh", "team_id",
}
DETAIL_FIELDS = LIST_FIELDS | {
    "filters", "variables", "breakdown_colors", "data_color_theme_id", "persisted_filters", "persisted_variables",
    "quick_filter_ids", "tiles",
}
TILE_REQUIRED = {"id", "insight", "text", "layouts", "color"}
TEST_SOURCES = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*_api.py"))


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def all_dashboards(client: httpx.Client, base: str) -> dict[str, Any]:
    response = client.get(f"{base}/dashboards/", params={"limit": 10000})
    assert response.status_code == 200, response.text
    return response.json()


def listed_ids(client: httpx.Client, base: str) -> set[int]:
    return {item["id"] for item in all_dashboards(client, base)["results"]}


# --- create -------------------------------------------------------------------------------------------------


def test_create_answers_201_with_postHogs_defaults(api, base, reference):
    response = api.post(f"{base}/dashboards/", json={"name": unique("defaults")})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == DETAIL_FIELDS
    assert body["description"] == ""
    assert body["pinned"] is False and body["deleted"] is False and body["is_shared"] is False
    assert body["tags"] == [] and body["tiles"] == [] and body["filters"] == {}
    assert body["creation_mode"] == "default"
    assert body["restriction_level"] == 21
    assert body["effective_restriction_level"] == 21
    assert body["effective_privilege_level"] == 37
    assert body["user_access_level"] == "manager"
    assert body["access_control_version"] == "v2"
    assert body["team_id"] == reference["project_id"]
    assert body["persisted_filters"] is None and body["persisted_variables"] is None
    assert body["quick_filter_ids"] == []
    assert set(body["created_by"]) == UUID_OWNER_KEYS
    assert body["created_by"]["uuid"] != reference["collaborator_uuid"]
    datetime.fromisoformat(body["created_at"])


def test_create_with_empty_body_has_null_name(api, base):
    response = api.post(f"{base}/dashboards/", json={})
    assert response.status_code == 201
    assert response.json()["name"] is None


def test_create_with_empty_request_body_is_accepted(api, base):
    response = api.post(f"{base}/dashboards/")
    assert response.status_code == 201
    assert response.json()["name"] is None


def test_create_stores_given_fields(api, base):
    name = unique("given")
    body = api.post(
        f"{base}/dashboards/",
        json={"name": name, "description": "d", "pinned": True, "tags": ["a", "b", "a"],
              "filters": {"date_from": "-7d"}, "restriction_level": 37, "creation_mode": "unlisted"},
    ).json()
    fetched = api.get(f"{base}/dashboards/{body['id']}/").json()
    for source in (body, fetched):
        assert source["name"] == name and source["description"] == "d" and source["pinned"] is True
        assert sorted(source["tags"]) == ["a", "b"]
        assert source["filters"] == {"date_from": "-7d"} and source["persisted_filters"] == {"date_from": "-7d"}
        assert source["restriction_level"] == 37 and source["effective_restriction_level"] == 37
        assert source["access_control_version"] == "v1"
        assert source["creation_mode"] == "default"  # read-only


def test_create_deleted_true_makes_an_already_soft_deleted_dashboard(api, base, expect_error):
    body = api.post(f"{base}/dashboards/", json={"name": unique("born-deleted"), "deleted": True}).json()
    assert body["deleted"] is True
    expect_error(api.get(f"{base}/dashboards/{body['id']}/"), 404, "not_found", "Not found.")


# --- list ---------------------------------------------------------------------------------------------------


def test_list_items_carry_the_basic_fields_and_never_tiles(api, base, make_dashboard):
    made = make_dashboard(name=unique("listed"))
    items = all_dashboards(api, base)["results"]
    item = next(i for i in items if i["id"] == made["id"])
    assert set(item) == LIST_FIELDS
    assert all("tiles" not in i for i in items)


def test_list_orders_pinned_first_then_name_nulls_last_ties_by_id(api, base, make_dashboard):
    for fields in ({"name": "zz-order", "pinned": True}, {"name": "aa-order"}, {"name": None, "pinned": True}, {},
                   {"name": "aa-order"}):
        make_dashboard(**fields)
    items = all_dashboards(api, base)["results"]
    keys = [(not i["pinned"], i["name"] is None, i["name"] or "", i["id"]) for i in items]
    assert keys == sorted(keys)


def test_list_count_and_absolute_page_links(api, base, make_dashboard, reference):
    make_dashboard(name=unique("page-a"))
    make_dashboard(name=unique("page-b"))
    total = all_dashboards(api, base)["count"]
    first = api.get(f"{base}/dashboards", params={"limit": 1}).json()
    assert first["count"] == total and len(first["results"]) == 1 and first["previous"] is None
    assert first["next"] == f"{reference['base_url']}{base}/dashboards?limit=1&offset=1"
    second = api.get(first["next"]).json()
    assert second["previous"] == f"{reference['base_url']}{base}/dashboards?limit=1"
    assert second["results"][0]["id"] != first["results"][0]["id"]
    last = api.get(f"{base}/dashboards", params={"limit": 1, "offset": total - 1}).json()
    assert last["next"] is None


def test_list_rejects_a_search_longer_than_200(api, base, expect_error):
    expect_error(api.get(f"{base}/dashboards/", params={"search": "x" * 201}), 400, "max_length", attr="search")


def test_list_search_and_tags_filter(api, base, make_dashboard):
    name = unique("SearchMe")
    made = make_dashboard(name=name, tags=[name.lower()])
    found = api.get(f"{base}/dashboards/", params={"search": name.upper()}).json()["results"]
    assert [i["id"] for i in found] == [made["id"]] and found[0]["search_match_type"] == "exact"
    tagged = api.get(f"{base}/dashboards/", params={"tags": name.lower()}).json()["results"]
    assert [i["id"] for i in tagged] == [made["id"]]


def test_unlisted_dashboards_only_listed_with_creation_mode(api, base, make_dashboard):
    made = make_dashboard(name=unique("plain"))
    assert made["id"] in listed_ids(api, base)
    assert api.get(f"{base}/dashboards/", params={"creation_mode": "unlisted"}).json()["results"] == []


# --- retrieve, prefixes, URLs -------------------------------------------------------------------------------


def test_retrieve_sets_last_accessed_at_every_time(api, base, make_dashboard):
    made = make_dashboard(name=unique("accessed"))
    assert made["last_accessed_at"] is None
    first = api.get(f"{base}/dashboards/{made['id']}/").json()["last_accessed_at"]
    second = api.get(f"{base}/dashboards/{made['id']}/").json()["last_accessed_at"]
    assert first is not None and datetime.fromisoformat(second) > datetime.fromisoformat(first)


@pytest.mark.parametrize("raw_id", ["999999999", "abc", "1.5", "-1", "99999999999999999999999999"])
def test_retrieve_unknown_or_non_integer_id_is_404_not_found(api, base, expect_error, raw_id):
    expect_error(api.get(f"{base}/dashboards/{raw_id}/"), 404, "not_found", "Not found.", None)


def test_another_projects_dashboard_is_404_through_this_project(api, base, reference, client_for, expect_error):
    outsider = client_for("outsider_api_key")  # a member of the other organisation
    theirs = outsider.post(f"/api/projects/{reference['other_project_id']}/dashboards/", json={"name": "theirs"})
    assert theirs.status_code == 201
    path = f"{base}/dashboards/{theirs.json()['id']}/"
    expect_error(api.get(path), 404, "not_found", "Not found.")
    expect_error(api.patch(path, json={"name": "mine now"}), 404, "not_found", "Not found.")
    expect_error(api.get(f"{path}sharing/"), 404, "not_found", "Dashboard not found.")


def test_both_prefixes_and_optional_trailing_slash_reach_the_same_data(api, base, env_base, make_dashboard):
    made = make_dashboard(base_path=env_base, name=unique("env"))
    for path in (f"{base}/dashboards/{made['id']}", f"{base}/dashboards/{made['id']}/",
                 f"{env_base}/dashboards/{made['id']}", f"{env_base}/dashboards/{made['id']}/"):
        response = api.get(path)
        assert response.status_code == 200 and response.json()["id"] == made["id"], path
    assert made["id"] in listed_ids(api, base) and made["id"] in listed_ids(api, env_base)
    patched = api.patch(f"{env_base}/dashboards/{made['id']}", json={"description": "via env"})
    assert patched.status_code == 200
    assert api.get(f"{base}/dashboards/{made['id']}").json()["description"] == "via env"


def test_current_project_alias_and_unknown_project(api, reference, expect_error):
    assert api.get("/api/projects/@current/dashboards/").status_code == 200
    expect_error(api.get("/api/projects/424242/dashboards/"), 404, "not_found", "Project not found.")
    expect_error(api.get("/api/projects/nope/dashboards/"), 404, "not_found", "Project not found.")


NO_ACTION = "This action does not support personal API key access"


def test_out_of_scope_actions_are_404_or_405_never_5xx(api, client_for, base, make_dashboard, expect_error):
    """Methods without an action (§1.4): a scoped key gets PostHog's 403, a legacy unscoped key the 405."""
    made = make_dashboard(name=unique("scope"))
    legacy = client_for("legacy_api_key")
    expect_error(api.post(f"{base}/dashboards/{made['id']}/copy_tile/", json={}), 404, "not_found")
    expect_error(api.post(f"{base}/dashboards/{made['id']}/"), 403, "permission_denied", NO_ACTION)
    expect_error(legacy.post(f"{base}/dashboards/{made['id']}/"), 405, "method_not_allowed",
                 'Method "POST" not allowed.')
    expect_error(api.get(f"{base}/dashboards/create_from_template_json/"), 403, "permission_denied", NO_ACTION)
    expect_error(legacy.get(f"{base}/dashboards/create_from_template_json/"), 405, "method_not_allowed")
    expect_error(api.delete(f"{base}/dashboards/"), 403, "permission_denied", NO_ACTION)
    expect_error(legacy.delete(f"{base}/dashboards/"), 405, "method_not_allowed")


# --- auth ---------------------------------------------------------------------------------------------------


def test_no_credentials_is_401_not_authenticated(client_for, base, expect_error):
    anonymous = client_for(None)
    expect_error(anonymous.get(f"{base}/dashboards/"), 401, "not_authenticated",
                 "Authentication credentials were not provided.", None)
    expect_error(anonymous.delete(f"{base}/dashboards/1/"), 401, "not_authenticated")


def test_unknown_key_is_401_authentication_failed(reference, base, expect_error):
    with httpx.Client(base_url=reference["base_url"], headers={"Authorization": "Bearer phx_nope"}) as client:
        expect_error(client.get(f"{base}/dashboards/"), 401, "authentication_failed",
                     "Personal API key found in request Authorization header is invalid.")


def test_readonly_key_reads_but_cannot_write(client_for, base, make_dashboard, expect_error):
    readonly = client_for("readonly_api_key")
    made = make_dashboard(name=unique("ro"))
    assert readonly.get(f"{base}/dashboards/").status_code == 200
    assert readonly.get(f"{base}/dashboards/{made['id']}/").status_code == 200
    missing = "API key missing required scope 'dashboard:write'"
    expect_error(readonly.post(f"{base}/dashboards/", json={}), 403, "permission_denied", missing)
    expect_error(readonly.patch(f"{base}/dashboards/{made['id']}/", json={"name": "x"}), 403, "permission_denied",
                 missing)
    # missing scope comes before the 404 and before validation (§1.5)
    expect_error(readonly.patch(f"{base}/dashboards/abc/", json={"name": 5 * "x" * 500}), 403, "permission_denied",
                 missing)


def test_keys_restricted_to_or_outside_of_the_project_get_403(client_for, base, reference, expect_error):
    expect_error(client_for("other_project_api_key").get(f"{base}/dashboards/"), 403, "permission_denied",
                 f"API key does not have access to the requested project: ID {reference['project_id']}.")
    expect_error(client_for("outsider_api_key").get(f"{base}/dashboards/"), 403, "permission_denied",
                 "You don't have access to the project.")


def test_full_key_on_the_other_organisations_project_is_403(api, reference, expect_error):
    expect_error(api.get(f"/api/projects/{reference['other_project_id']}/dashboards/"), 403, "permission_denied",
                 "You don't have access to the project.")


# --- update -------------------------------------------------------------------------------------------------


def test_patch_stores_writable_fields(api, base, make_dashboard):
    made = make_dashboard(name=unique("before"))
    changes = {"name": unique("after"), "description": "new", "pinned": True, "tags": ["x", "y"],
               "breakdown_colors": {"a": "#fff"}, "data_color_theme_id": 3, "last_refresh": "2024-05-01T12:00:00Z",
               "quick_filter_ids": [QUICK_FILTER_ID]}
    patched = api.patch(f"{base}/dashboards/{made['id']}/", json=changes)
    assert patched.status_code == 200
    fetched = api.get(f"{base}/dashboards/{made['id']}/").json()
    for body in (patched.json(), fetched):
        assert body["name"] == changes["name"] and body["description"] == "new" and body["pinned"] is True
        assert sorted(body["tags"]) == ["x", "y"]
        assert body["breakdown_colors"] == {"a": "#fff"} and body["data_color_theme_id"] == 3
        assert body["last_refresh"].startswith("2024-05-01T12:00:00")
        assert body["quick_filter_ids"] == changes["quick_filter_ids"]


def test_put_behaves_like_patch(api, base, make_dashboard):
    made = make_dashboard(name=unique("put"), description="kept")
    response = api.put(f"{base}/dashboards/{made['id']}/", json={"name": "put-renamed"})
    assert response.status_code == 200
    assert response.json()["name"] == "put-renamed" and response.json()["description"] == "kept"


def test_patch_ignores_read_only_and_unknown_keys(api, base, make_dashboard, reference):
    made = make_dashboard(name=unique("readonly-keys"))
    response = api.patch(
        f"{base}/dashboards/{made['id']}/",
        json={"id": 1, "created_at": "2000-01-01T00:00:00Z", "team_id": 99, "is_shared": True, "unknown": 1,
              "effective_privilege_level": 21, "created_by": None, "creation_mode": "template",
              "use_template": "DEFAULT_APP"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == made["id"] and body["created_at"] == made["created_at"]
    assert body["team_id"] == reference["project_id"] and body["is_shared"] is False
    assert body["creation_mode"] == "default" and body["created_by"] == made["created_by"]
    assert body["tiles"] == []


def test_patch_with_empty_filters_or_variables_keeps_them(api, base, make_dashboard):
    made = make_dashboard(name=unique("filters"), filters={"date_from": "-7d"})
    api.patch(f"{base}/dashboards/{made['id']}/", json={"variables": {"v": {"code_name": "v", "value": 1}}})
    response = api.patch(f"{base}/dashboards/{made['id']}/", json={"filters": {}, "variables": {}})
    body = response.json()
    assert body["filters"] == {"date_from": "-7d"} and body["variables"] == {"v": {"code_name": "v", "value": 1}}
    assert body["persisted_variables"] == body["variables"]


def test_patch_as_form_urlencoded_and_multipart(api, base, make_dashboard):
    made = make_dashboard(name=unique("form"))
    response = api.patch(f"{base}/dashboards/{made['id']}/",
                         data={"name": "form-name", "pinned": "true", "restriction_level": "37", "tags": ["f", "g"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "form-name" and body["pinned"] is True and body["restriction_level"] == 37
    assert sorted(body["tags"]) == ["f", "g"]
    multipart = api.patch(f"{base}/dashboards/{made['id']}/", data={"description": "multi"},
                          files={"ignored": ("f.txt", b"x")})
    assert multipart.status_code == 200 and multipart.json()["description"] == "multi"


def test_malformed_json_is_400_parse_error_and_other_types_415(api, base, make_dashboard, expect_error):
    made = make_dashboard(name=unique("parse"))
    path = f"{base}/dashboards/{made['id']}/"
    json_header = {"Content-Type": "application/json"}
    expect_error(api.patch(path, content=b"{nope", headers=json_header), 400, "parse_error", attr=None)
    expect_error(api.patch(path, content=b'{"name": NaN}', headers=json_header), 400, "parse_error")
    expect_error(api.patch(path, content=b"[" * 100000, headers=json_header), 400, "parse_error")
    expect_error(api.patch(path, content=b"name=x", headers={"Content-Type": "text/plain"}), 415,
                 "unsupported_media_type")
    expect_error(api.post(f"{base}/dashboards/", content=b"[1]", headers=json_header), 400, "invalid_input", attr=None)


@pytest.mark.parametrize("blank", [b" ", b"\x0c", b"\n\t"])
def test_a_whitespace_json_body_is_a_parse_error_and_an_empty_one_no_data(api, base, expect_error, blank):
    """DRF treats only a zero-length body as no data (Request._load_stream); JSONParser refuses whitespace."""
    json_header = {"Content-Type": "application/json"}
    expect_error(api.post(f"{base}/dashboards/", content=blank, headers=json_header), 400, "parse_error")
    empty = api.post(f"{base}/dashboards/", content=b"", headers=json_header)
    assert empty.status_code == 201 and empty.json()["name"] is None


# --- validation (§2.3) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "code", "attr", "detail"),
    [
        ({"name": "x" * 401}, "max_length", "name", "Ensure this field has no more than 400 characters."),
        ({"restriction_level": 99}, "invalid_choice", "restriction_level", '"99" is not a valid choice.'),
        ({"restriction_level": "21.0"}, "invalid_choice", "restriction_level", '"21.0" is not a valid choice.'),
        ({"filters": "x"}, "invalid_input", None, "Filters must be a dictionary"),
        ({"filters": [1]}, "invalid_input", None, "Filters must be a dictionary"),
        ({"variables": [1]}, "invalid_input", None, "Filters must be a dictionary"),
        ({"use_template": "DEFAULT_APP", "use_dashboard": 1}, "invalid_input", None,
         "`use_dashboard` and `use_template` cannot be used together"),
        ({"use_template": "NOPE"}, "invalid_input", "use_template", "Invalid template provided: NOPE"),
        ({"use_dashboard": 987654321}, "invalid_input", "use_dashboard", "Invalid value provided"),
        ({"use_dashboard": ""}, "invalid_input", "use_dashboard", "A valid integer is required."),
        ({"use_dashboard": "abc"}, "invalid_input", "use_dashboard", "A valid integer is required."),
        ({"use_dashboard": 10**30}, "invalid_input", "use_dashboard", "Invalid value provided"),
        ({"name": "x" * 401, "restriction_level": 99}, "max_length", "name", None),  # only the first error
    ],
)
def test_create_validation_table(api, base, expect_error, fields, code, attr, detail):
    before = all_dashboards(api, base)["count"]
    expect_error(api.post(f"{base}/dashboards/", json=fields), 400, code, detail, attr)
    assert all_dashboards(api, base)["count"] == before  # nothing left behind


def test_use_dashboard_pointing_at_a_deleted_or_foreign_dashboard_is_400(api, base, make_dashboard, soft_delete,
                                                                         expect_error):
    gone = make_dashboard(name=unique("gone"))
    soft_delete(gone["id"])
    expect_error(api.post(f"{base}/dashboards/", json={"use_dashboard": gone["id"]}), 400, "invalid_input",
                 "Invalid value provided", "use_dashboard")


def test_empty_use_template_counts_as_absent(api, base):
    response = api.post(f"{base}/dashboards/", json={"use_template": "", "name": unique("blank-template")})
    assert response.status_code == 201 and response.json()["creation_mode"] == "default"


@pytest.mark.parametrize(
    ("fields", "code", "attr"),
    [
        ({"name": {"a": 1}}, "invalid_input", "name"),
        ({"name": ["a"]}, "invalid_input", "name"),
        ({"name": True}, "invalid_input", "name"),
        ({"name": "a\x00b"}, "null_characters_not_allowed", "name"),
        ({"description": None}, "null", "description"),
        ({"description": {}}, "invalid_input", "description"),
        ({"pinned": "maybe"}, "invalid_input", "pinned"),
        ({"pinned": None}, "null", "pinned"),
        ({"pinned": [True]}, "invalid_input", "pinned"),
        ({"tags": "a,b"}, "not_a_list", "tags"),
        ({"tags": {"a": 1}}, "not_a_list", "tags"),
        ({"tags": [1]}, "invalid_input", "tags__0"),
        ({"tags": [["a"]]}, "invalid_input", "tags__0"),
        ({"restriction_level": None}, "null", "restriction_level"),
        ({"restriction_level": [37]}, "invalid_choice", "restriction_level"),
        ({"restriction_level": True}, "invalid_choice", "restriction_level"),
        ({"last_refresh": "yesterday"}, "invalid_input", "last_refresh"),
        ({"last_accessed_at": 5}, "invalid_input", "last_accessed_at"),
        ({"data_color_theme_id": "x"}, "invalid_input", "data_color_theme_id"),
        ({"data_color_theme_id": 10**30}, "max_value", "data_color_theme_id"),
        ({"breakdown_colors": None}, "null", "breakdown_colors"),
        ({"quick_filter_ids": ["nope"]}, "invalid_input", "quick_filter_ids"),
        ({"quick_filter_ids": "nope"}, "not_a_list", "quick_filter_ids"),
        ({"deleted": "nah"}, "invalid_input", "deleted"),
        ({"delete_insights": {}}, "invalid_input", "delete_insights"),
        ({"use_template": {"a": 1}}, "invalid_input", "use_template"),
        ({"use_dashboard": [1]}, "invalid_input", "use_dashboard"),
        ({"_create_in_folder": []}, "invalid_input", "_create_in_folder"),
        ({"tiles": "x"}, "not_a_list", "tiles"),
        ({"tiles": None}, "null", "tiles"),
        ({"duplicate_tiles": None}, "null", "duplicate_tiles"),
        ({"duplicate_tiles": 5}, "not_a_list", "duplicate_tiles"),
        ({"duplicate_tiles": {"id": 1}}, "not_a_list", "duplicate_tiles"),
        ({"duplicate_tiles": [None, None]}, "invalid_input", "duplicate_tiles"),
        ({"duplicate_tiles": [{"layouts": {}}]}, "required", "duplicate_tiles__id"),
        ({"duplicate_tiles": [{"id": "abc"}]}, "invalid_input", "duplicate_tiles__id"),
        ({"duplicate_tiles": [{"id": 987654321}]}, "invalid_input", "duplicate_tiles__id"),
        ({"last_refresh": ""}, "invalid_input", "last_refresh"),
        ({"tiles": {"id": 1}}, "not_a_list", "tiles"),
        ({"tiles": [1]}, "invalid_input", "tiles"),
        ({"tiles": [{"id": "abc", "color": "red"}]}, "invalid_input", "tiles__id"),
        ({"tiles": [{"id": {"x": 1}}]}, "invalid_input", "tiles__id"),
        ({"tiles": [{"text": "plain"}]}, "invalid_input", "text"),
        ({"tiles": [{"text": {"body": "x" * 4001}}]}, "max_length", "text__body"),
        ({"tiles": [{"text": {"body": {"a": 1}}}]}, "invalid_input", "text__body"),
        ({"tiles": [{"text": {"id": 999999, "body": "x"}}]}, "invalid_input", "text"),
        ({"tiles": [{"text": {"body": "x"}, "color": ["red"]}]}, "invalid_input", "tiles__color"),
        ({"tiles": [{"text": {"body": "x"}, "deleted": "nah"}]}, "invalid_input", "tiles__deleted"),
        ({"name": "\ud800"}, "surrogate_characters_not_allowed", "name"),
        ({"filters": {"k": "\udfff"}}, "surrogate_characters_not_allowed", "filters"),
    ],
)
def test_malformed_patch_fields_are_400_envelopes_never_5xx(api, base, make_dashboard, expect_error, fields, code,
                                                            attr):
    made = make_dashboard(name=unique("malformed"))
    raw = json.dumps(fields).encode()  # ASCII escapes, so lone surrogates can be sent too
    response = api.patch(f"{base}/dashboards/{made['id']}/", content=raw, headers={"Content-Type": "application/json"})
    expect_error(response, 400, code, attr=attr)
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["tiles"] == []  # nothing half-applied


@pytest.mark.parametrize("fields", [{"name": {"a": 1}}, {"tags": 5}, {"filters": 1}, {"restriction_level": "x"},
                                    {"use_dashboard": True}, {"deleted": []}])
def test_malformed_create_fields_are_400(api, base, expect_error, fields):
    response = api.post(f"{base}/dashboards/", json=fields)
    assert response.status_code == 400
    expect_error(response, 400, response.json()["code"])


def test_patch_changes_nothing_when_a_later_field_is_invalid(api, base, make_dashboard, expect_error):
    made = make_dashboard(name=unique("atomic"))
    expect_error(api.patch(f"{base}/dashboards/{made['id']}/",
                           json={"name": "should-not-stick", "tiles": [{"text": {"body": "ok"}}, 7]}),
                 400, "invalid_input", attr="tiles")
    fetched = api.get(f"{base}/dashboards/{made['id']}/").json()
    assert fetched["name"] == made["name"] and fetched["tiles"] == []


# --- restriction and privilege levels (§2.5, §2.7) ----------------------------------------------------------


def test_restricted_dashboard_for_a_plain_member(api, base, client_for, make_dashboard, expect_error):
    member = client_for("member_api_key")
    made = make_dashboard(name=unique("restricted"), restriction_level=37)
    seen = member.get(f"{base}/dashboards/{made['id']}/").json()
    assert seen["effective_restriction_level"] == 37 and seen["effective_privilege_level"] == 21
    assert seen["user_access_level"] == "viewer" and seen["access_control_version"] == "v1"
    expect_error(member.patch(f"{base}/dashboards/{made['id']}/", json={"name": "nope"}), 403, "permission_denied",
                 "You don't have edit permissions for this dashboard.")
    listed = next(i for i in member.get(f"{base}/dashboards/", params={"limit": 10000}).json()["results"]
                  if i["id"] == made["id"])
    assert listed["effective_privilege_level"] == 21


def test_open_dashboard_member_may_edit_but_not_change_restriction(api, base, client_for, make_dashboard,
                                                                   expect_error):
    member = client_for("member_api_key")
    made = make_dashboard(name=unique("open"))
    seen = member.get(f"{base}/dashboards/{made['id']}/").json()
    assert seen["effective_privilege_level"] == 37 and seen["user_access_level"] == "editor"
    assert member.patch(f"{base}/dashboards/{made['id']}/", json={"description": "by member"}).status_code == 200
    expect_error(member.patch(f"{base}/dashboards/{made['id']}/", json={"restriction_level": 21}), 403,
                 "permission_denied",
                 "Only the dashboard owner and project admins have the restriction rights required to change the"
                 " dashboard's restriction level.")
    # an invalid value gets its 400 first
    expect_error(member.patch(f"{base}/dashboards/{made['id']}/", json={"restriction_level": 99}), 400,
                 "invalid_choice", attr="restriction_level")


def test_member_owns_what_member_creates(client_for, base, make_dashboard):
    member = client_for("member_api_key")
    made = make_dashboard(client=member, name=unique("members-own"))
    assert made["user_access_level"] == "manager" and made["created_by"]["email"].startswith("member@")
    response = member.patch(f"{base}/dashboards/{made['id']}/", json={"restriction_level": 37})
    assert response.status_code == 200 and response.json()["effective_privilege_level"] == 37


# --- DELETE (§2.8) ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/", ""])
def test_delete_is_405_with_an_empty_body_and_keeps_the_dashboard(api, base, env_base, make_dashboard, suffix):
    made = make_dashboard(name=unique("undeletable"))
    for prefix in (base, env_base):
        response = api.delete(f"{prefix}/dashboards/{made['id']}{suffix}")
        assert response.status_code == 405 and response.content == b""
    assert api.get(f"{base}/dashboards/{made['id']}/").status_code == 200


@pytest.mark.parametrize("raw_id", ["987654321", "abc", "-3", "1e5"])
def test_delete_needs_no_lookup(api, base, raw_id):
    response = api.delete(f"{base}/dashboards/{raw_id}/")
    assert response.status_code == 405 and response.content == b""


def test_delete_without_write_scope_is_403_first(client_for, base, expect_error):
    expect_error(client_for("readonly_api_key").delete(f"{base}/dashboards/abc/"), 403, "permission_denied",
                 "API key missing required scope 'dashboard:write'")


# --- soft delete and undelete (§2.8) -----------------------------------------------------------------------


def test_soft_delete_hides_the_dashboard_everywhere(api, base, make_dashboard, add_text_tile, soft_delete,
                                                    expect_error):
    made = make_dashboard(name=unique("soft"))
    other = make_dashboard(name=unique("other"))
    tile = add_text_tile(made["id"], "soft-tile")
    before = all_dashboards(api, base)["count"]
    assert soft_delete(made["id"])["deleted"] is True
    path = f"{base}/dashboards/{made['id']}/"
    expect_error(api.get(path), 404, "not_found", "Not found.")
    after = all_dashboards(api, base)
    assert after["count"] == before - 1 and made["id"] not in {i["id"] for i in after["results"]}
    expect_error(api.patch(path, json={"name": "x"}), 404, "not_found", "Not found.")
    expect_error(api.patch(path, json={"deleted": True}), 404, "not_found")
    expect_error(api.patch(path, json={"deleted": "yes"}), 404, "not_found")
    expect_error(api.get(f"{path}sharing/"), 404, "not_found", "Dashboard not found.")
    expect_error(api.patch(f"{path}sharing/", json={"enabled": True}), 404, "not_found", "Dashboard not found.")
    expect_error(api.post(f"{path}sharing/refresh/"), 404, "not_found", "Dashboard not found.")
    expect_error(api.get(f"{path}collaborators/"), 404, "not_found", "Dashboard not found.")
    expect_error(api.post(f"{path}collaborators/", json={"user_uuid": str(uuid.uuid4()), "level": 37}), 404,
                 "not_found", "Dashboard not found.")
    expect_error(api.delete(f"{path}collaborators/{uuid.uuid4()}/"), 404, "not_found", "Dashboard not found.")
    expect_error(api.patch(f"{path}move_tile/", json={"tile": {"id": tile["id"]}, "to_dashboard": other["id"]}),
                 404, "not_found")
    expect_error(api.post(f"{base}/dashboards/", json={"use_dashboard": made["id"]}), 400, "invalid_input",
                 attr="use_dashboard")
    assert api.delete(path).status_code == 405


@pytest.mark.parametrize("falsy", [False, "false", 0, "0", "False", "off"])
def test_patch_with_a_falsy_deleted_restores_with_tiles(api, base, make_dashboard, add_text_tile, soft_delete, falsy):
    made = make_dashboard(name=unique("restore"))
    add_text_tile(made["id"], "survives")
    soft_delete(made["id"])
    response = api.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": falsy, "name": "restored"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"] is False and body["name"] == "restored"
    assert [t["text"]["body"] for t in body["tiles"]] == ["survives"]
    assert made["id"] in listed_ids(api, base)
    assert api.get(f"{base}/dashboards/{made['id']}/").status_code == 200


def test_undelete_as_form_data(api, base, make_dashboard, soft_delete):
    made = make_dashboard(name=unique("form-restore"))
    soft_delete(made["id"])
    response = api.patch(f"{base}/dashboards/{made['id']}/", data={"deleted": "false"})
    assert response.status_code == 200 and response.json()["deleted"] is False


def test_deleted_null_reaches_the_deleted_row_then_fails_validation(api, base, make_dashboard, soft_delete,
                                                                    expect_error):
    made = make_dashboard(name=unique("null-deleted"))
    expect_error(api.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": None}), 400, "null",
                 "This field may not be null.", "deleted")
    soft_delete(made["id"])
    expect_error(api.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": None}), 400, "null",
                 "This field may not be null.", "deleted")
    expect_error(api.get(f"{base}/dashboards/{made['id']}/"), 404, "not_found")


def test_soft_delete_with_delete_insights_is_accepted_and_reversible(api, base):
    made = api.post(f"{base}/dashboards/", json={"use_template": "DEFAULT_APP"}).json()
    insight_tiles = [t for t in made["tiles"] if t["insight"]]
    assert insight_tiles
    response = api.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": True, "delete_insights": True})
    assert response.status_code == 200 and response.json()["deleted"] is True
    restored = api.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": False}).json()
    assert {t["id"] for t in restored["tiles"]} == {t["id"] for t in made["tiles"]}


# --- tile payloads (§2.6) -----------------------------------------------------------------------------------


def test_text_tile_created_updated_and_removed_through_patch(api, base, make_dashboard, add_text_tile):
    made = make_dashboard(name=unique("tiles"))
    tile = add_text_tile(made["id"], "hello")
    assert set(tile) >= TILE_REQUIRED and tile["insight"] is None and tile["text"]["body"] == "hello"
    assert isinstance(tile["layouts"], dict) and tile["color"] is None
    path = f"{base}/dashboards/{made['id']}/"
    layouts = {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}
    updated = api.patch(path, json={"tiles": [{"id": tile["id"], "color": "blue", "layouts": layouts,
                                               "is_cached": True, "order": 3}]}).json()["tiles"]
    assert [(t["id"], t["color"], t["layouts"]) for t in updated] == [(tile["id"], "blue", layouts)]
    edited = api.patch(path, json={"tiles": [{"id": tile["id"], "text": {"id": tile["text"]["id"], "body": "bye"}}]})
    assert [t["text"]["body"] for t in edited.json()["tiles"]] == ["bye"]
    skipped = api.patch(path, json={"tiles": [{"id": 987654321, "color": "red"}, {"color": "red"}]})
    assert skipped.status_code == 200 and [t["color"] for t in skipped.json()["tiles"]] == ["blue"]
    removed = api.patch(path, json={"tiles": [{"id": tile["id"], "deleted": True}]})
    assert removed.status_code == 200 and removed.json()["tiles"] == []
    assert api.get(path).json()["tiles"] == []


def test_duplicate_copies_settings_and_live_tiles(api, base, make_dashboard, add_text_tile):
    source = make_dashboard(name=unique("dup-source"), filters={"date_from": "-30d"}, breakdown_colors=["#000"])
    kept = add_text_tile(source["id"], "kept")
    dropped = add_text_tile(source["id"], "dropped")
    api.patch(f"{base}/dashboards/{source['id']}/", json={"tiles": [{"id": dropped["id"], "deleted": True}]})
    shallow = api.post(f"{base}/dashboards/", json={"use_dashboard": source["id"], "name": unique("dup")}).json()
    assert shallow["creation_mode"] == "duplicate" and shallow["filters"] == {"date_from": "-30d"}
    assert shallow["breakdown_colors"] == ["#000"]
    assert [t["text"]["id"] for t in shallow["tiles"]] == [kept["text"]["id"]]  # shares the text
    assert shallow["tiles"][0]["id"] != kept["id"]
    deep = api.post(f"{base}/dashboards/", json={"use_dashboard": source["id"], "duplicate_tiles": True,
                                                 "filters": {"date_from": "-1d"}}).json()
    assert deep["filters"] == {"date_from": "-1d"}
    assert [t["text"]["body"] for t in deep["tiles"]] == ["kept"]
    assert deep["tiles"][0]["text"]["id"] != kept["text"]["id"]


@pytest.mark.parametrize("empty", [[], {}, "", True, False])
def test_patch_with_empty_tiles_or_duplicate_tiles_changes_no_tile(api, base, make_dashboard, add_text_tile, empty):
    """PostHog walks both with ``for ... in``: an empty iterable is no work; a boolean duplicate_tiles
    (the create input) is ignored by the reference (§2.5, §2.6)."""
    made = make_dashboard(name=unique("empty-tiles"))
    tile = add_text_tile(made["id"], "only")
    path = f"{base}/dashboards/{made['id']}/"
    body = {"duplicate_tiles": empty} if isinstance(empty, bool) else {"tiles": empty, "duplicate_tiles": empty}
    response = api.patch(path, json=body)
    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()["tiles"]] == [tile["id"]]


def test_patch_duplicate_tiles_deep_copies_the_named_tiles(api, base, make_dashboard, add_text_tile):
    """``DashboardSerializer.update``: each item names a live tile of this dashboard, copied deep with the
    item's ``layouts`` (default {}) (§2.5)."""
    made = make_dashboard(name=unique("dup-patch"))
    tile = add_text_tile(made["id"], "twin")
    path = f"{base}/dashboards/{made['id']}/"
    layouts = {"sm": {"x": 0, "y": 9, "w": 6, "h": 2}}
    response = api.patch(path, json={"duplicate_tiles": [{"id": tile["id"], "layouts": layouts}, {"id": tile["id"]}]})
    assert response.status_code == 200, response.text
    tiles = response.json()["tiles"]
    assert len(tiles) == 3 and [t["text"]["body"] for t in tiles] == ["twin"] * 3
    copies = [t for t in tiles if t["id"] != tile["id"]]
    assert {t["text"]["id"] for t in copies}.isdisjoint({tile["text"]["id"]})  # deep: new texts
    assert sorted(json.dumps(t["layouts"], sort_keys=True) for t in copies) == sorted(
        json.dumps(x, sort_keys=True) for x in (layouts, {}))


def test_blank_datetime_is_null_only_in_a_form(api, base, make_dashboard, expect_error):
    """DRF's ``Field.get_value`` reads a blank form field as null; in JSON ``""`` is a malformed datetime."""
    made = make_dashboard(name=unique("blank-datetime"))
    path = f"{base}/dashboards/{made['id']}/"
    assert api.patch(path, json={"last_refresh": "2024-01-02T03:04:05Z"}).json()["last_refresh"] is not None
    expect_error(api.patch(path, json={"last_refresh": ""}), 400, "invalid_input", attr="last_refresh")
    response = api.patch(path, data={"last_refresh": ""})
    assert response.status_code == 200 and response.json()["last_refresh"] is None


def test_use_template_default_app(api, base):
    response = api.post(f"{base}/dashboards/", json={"use_template": "DEFAULT_APP"})
    assert response.status_code == 201
    body = response.json()
    assert body["creation_mode"] == "template" and body["name"]
    assert len(body["tiles"]) >= 1
    named = api.post(f"{base}/dashboards/", json={"use_template": "DEFAULT_APP", "name": "mine"}).json()
    assert named["name"] == "mine"


# --- mutants: the switch breaks exactly the rule it names -----------------------------------------------------


def test_mutant_delete_returns_204_hard_deletes(mutant_server, base):
    client = mutant_server("dashboard_delete_returns_204").client()
    made = client.post(f"{base}/dashboards/", json={"name": "doomed"}).json()
    assert client.delete(f"{base}/dashboards/{made['id']}/").status_code == 204
    assert client.get(f"{base}/dashboards/{made['id']}/").status_code == 404


def test_mutant_delete_has_body(mutant_server, base):
    response = mutant_server("dashboard_delete_has_body").client().delete(f"{base}/dashboards/1/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_mutant_patch_not_stored(mutant_server, base):
    client = mutant_server("patch_not_stored").client()
    made = client.post(f"{base}/dashboards/", json={"name": "before"}).json()
    echoed = client.patch(f"{base}/dashboards/{made['id']}/", json={"name": "after", "pinned": True}).json()
    assert echoed["name"] == "after"
    assert client.get(f"{base}/dashboards/{made['id']}/").json()["name"] == "before"


def test_mutant_soft_delete_ignored(mutant_server, base):
    client = mutant_server("soft_delete_ignored").client()
    made = client.post(f"{base}/dashboards/", json={"name": "ignored"}).json()
    assert client.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": True}).json()["deleted"] is True
    assert client.get(f"{base}/dashboards/{made['id']}/").status_code == 200


def test_mutant_undelete_refused(mutant_server, base):
    client = mutant_server("undelete_refused").client()
    made = client.post(f"{base}/dashboards/", json={"name": "stuck", "deleted": True}).json()
    assert client.patch(f"{base}/dashboards/{made['id']}/", json={"deleted": False}).status_code == 404


def test_mutant_deleted_listed(mutant_server, base):
    client = mutant_server("deleted_listed").client()
    made = client.post(f"{base}/dashboards/", json={"name": "listed-anyway", "deleted": True}).json()
    assert made["id"] in listed_ids(client, base)


def test_mutant_list_includes_tiles(mutant_server, base):
    client = mutant_server("list_includes_tiles").client()
    client.post(f"{base}/dashboards/", json={"name": "tiled"})
    assert all("tiles" in i for i in all_dashboards(client, base)["results"])


def test_mutant_dashboard_missing_team_id(mutant_server, base):
    body = mutant_server("dashboard_missing_team_id").client().post(f"{base}/dashboards/", json={"name": "t"}).json()
    assert "team_id" not in body


def test_mutant_dashboard_created_by_string(mutant_server, base):
    client = mutant_server("dashboard_created_by_string").client()
    assert isinstance(client.post(f"{base}/dashboards/", json={"name": "c"}).json()["created_by"], str)


def test_mutant_dashboard_restriction_level_string(mutant_server, base):
    client = mutant_server("dashboard_restriction_level_string").client()
    assert client.post(f"{base}/dashboards/", json={"name": "r"}).json()["restriction_level"] == "21"


def test_mutant_unknown_dashboard_500(mutant_server, base):
    assert mutant_server("unknown_dashboard_500").client().get(f"{base}/dashboards/987654/").status_code == 500


def test_mutant_invalid_restriction_level_accepted(mutant_server, base):
    client = mutant_server("invalid_restriction_level_accepted").client()
    made = client.post(f"{base}/dashboards/", json={"name": "levels"}).json()
    assert client.patch(f"{base}/dashboards/{made['id']}/", json={"restriction_level": 99}).status_code == 200


def test_mutant_creation_mode_writable(mutant_server, base):
    client = mutant_server("creation_mode_writable").client()
    made = client.post(f"{base}/dashboards/", json={"name": "mode"}).json()
    patched = client.patch(f"{base}/dashboards/{made['id']}/", json={"creation_mode": "template"}).json()
    assert patched["creation_mode"] == "template"


def test_mutant_tags_not_stored(mutant_server, base):
    client = mutant_server("tags_not_stored").client()
    made = client.post(f"{base}/dashboards/", json={"name": "tags", "tags": ["a"]}).json()
    assert made["tags"] == []


def test_mutant_error_envelope_missing_attr(mutant_server, base):
    response = mutant_server("error_envelope_missing_attr").client().post(f"{base}/dashboards/", json={"name": []})
    assert response.status_code == 400 and "attr" not in response.json()


def test_mutant_dashboard_wrong_content_type(mutant_server, base):
    client = mutant_server("dashboard_wrong_content_type").client()
    made = client.post(f"{base}/dashboards/", json={"name": "plain"})
    assert made.headers["content-type"].startswith("text/plain")


def test_mutant_is_shared_not_updated(mutant_server, base):
    client = mutant_server("is_shared_not_updated").client()
    made = client.post(f"{base}/dashboards/", json={"name": "shared"}).json()
    client.patch(f"{base}/dashboards/{made['id']}/sharing/", json={"enabled": True})
    assert client.get(f"{base}/dashboards/{made['id']}/").json()["is_shared"] is False


REQUIRED_MUTANTS = (
    "dashboard_delete_returns_204", "dashboard_delete_has_body", "patch_not_stored", "soft_delete_ignored",
    "undelete_refused", "deleted_listed", "list_includes_tiles", "dashboard_missing_team_id",
    "dashboard_created_by_string", "dashboard_restriction_level_string", "unknown_dashboard_500",
    "invalid_restriction_level_accepted", "creation_mode_writable", "tags_not_stored", "sharing_array",
    "sharing_enable_not_stored", "sharing_token_not_rotated", "is_shared_not_updated",
    "sharing_of_deleted_dashboard_served", "collaborator_list_paginated", "collaborator_delete_returns_200_body",
    "collaborator_level21_accepted", "collaborator_duplicate_accepted", "collaborator_owner_accepted",
    "collaborator_patch_allowed", "tile_not_moved", "move_tile_unknown_tile_200", "move_tile_missing_field_500",
    "template_returns_201", "template_missing_name_accepted", "template_empty_tiles_accepted",
    "error_envelope_missing_attr", "dashboard_wrong_content_type",
)


def test_every_dashboard_mutant_is_declared_and_exercised(mutant_groups):
    listed = subprocess.run([sys.executable, "-m", "posthog_contract.reference", "--list-mutants"],
                            capture_output=True, text=True, check=True).stdout
    declared = {line.split("\t")[0] for line in listed.splitlines() if line}
    grouped = [name for group in mutant_groups for name in group]
    assert set(REQUIRED_MUTANTS) <= declared
    assert sorted(grouped) == sorted(REQUIRED_MUTANTS)  # each in exactly one server group, each with a test
    tested = {name for name in REQUIRED_MUTANTS
              if re.search(rf'(mutant_server|mutant_restricted|_mutant_pair)\([^)]*"{name}"', TEST_SOURCES)}
    assert tested == set(REQUIRED_MUTANTS)


@pytest.mark.parametrize("layouts", [[None, None], "sm", 3, {"sm": {"x": 1}}])
def test_tile_layouts_are_stored_verbatim(api, base, make_dashboard, layouts):
    """PostHog stores tile `layouts` verbatim (a model JSONField, no serializer check): any JSON is
    echoed as sent (issue 13; contract §12 q16), so the request and response schemas agree."""
    made = make_dashboard(name=unique("verbatim-layouts"))
    payload = {"tiles": [{"text": {"body": "v"}, "layouts": layouts}]}
    response = api.patch(f"{base}/dashboards/{made['id']}/", json=payload)
    assert response.status_code == 200, response.text
    assert [t["layouts"] for t in response.json()["tiles"]] == [layouts]
