"""The reference server's ``create_from_template_json`` (contract §6), through HTTP only."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

TEMPLATE: dict[str, Any] = {
    "template_name": "Contract template",
    "dashboard_description": "made from JSON",
    "dashboard_filters": {"date_from": "-14d"},
    "tags": ["templated"],
    "tiles": [
        {"type": "TEXT", "body": "Hello from a template", "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}}},
        {"type": "INSIGHT", "name": "Pageviews", "query": {"kind": "InsightVizNode"}, "layouts": {},
         "color": "blue", "description": "views"},
    ],
}


def template_path(base: str) -> str:
    return f"{base}/dashboards/create_from_template_json/"


def with_template(**changes: Any) -> dict[str, Any]:
    template = copy.deepcopy(TEMPLATE)
    template["template_name"] = f"Contract template {uuid.uuid4().hex[:8]}"
    for key, value in changes.items():
        if value is None:
            template.pop(key, None)
        else:
            template[key] = value
    return {"template": template}


def count(api: Any, base: str) -> int:
    return api.get(f"{base}/dashboards/", params={"limit": 1}).json()["count"]


def test_creates_the_dashboard_and_answers_200(api, base, reference):
    body = with_template()
    response = api.post(template_path(base), json={**body, "creation_context": "contract", "_create_in_folder": ""})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    made = response.json()
    assert made["name"] == body["template"]["template_name"]
    assert made["description"] == "made from JSON" and made["filters"] == {"date_from": "-14d"}
    assert made["tags"] == ["templated"]
    assert made["creation_mode"] in ("default", "template", "duplicate", "unlisted")
    assert made["team_id"] == reference["project_id"] and made["created_by"]["email"].startswith("owner@")
    text = [t for t in made["tiles"] if t["text"]]
    insight = [t for t in made["tiles"] if t["insight"]]
    assert [t["text"]["body"] for t in text] == ["Hello from a template"] and text[0]["insight"] is None
    assert [t["insight"]["name"] for t in insight] == ["Pageviews"] and insight[0]["color"] == "blue"
    fetched = api.get(f"{base}/dashboards/{made['id']}/").json()
    assert {t["id"] for t in fetched["tiles"]} == {t["id"] for t in made["tiles"]}


def test_both_prefixes_and_no_trailing_slash(api, env_base):
    response = api.post(template_path(env_base).rstrip("/"), json=with_template())
    assert response.status_code == 200


def test_unknown_tile_types_are_skipped_and_unknown_keys_ignored(api, base):
    body = with_template(tiles=[{"type": "BUTTON"}, {"type": "TEXT", "body": "kept"}])
    body["template"]["unexpected"] = {"x": 1}
    made = api.post(template_path(base), json=body).json()
    assert [t["text"]["body"] for t in made["tiles"]] == ["kept"]


@pytest.mark.parametrize("key", ["template_name", "dashboard_description", "dashboard_filters", "tiles"])
def test_missing_required_key_is_400_naming_it(api, base, expect_error, key):
    before = count(api, base)
    body = expect_error(api.post(template_path(base), json=with_template(**{key: None})), 400, "invalid_input",
                        attr=None)
    assert body["detail"] == f"'{key}' is a required property"
    assert count(api, base) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"tiles": []},
        {"tiles": "x"},
        {"tiles": [1]},
        {"tiles": [{"body": "no type"}]},
        {"template_name": 5},
        {"dashboard_filters": []},
        {"dashboard_description": None, "template_name": None},
        {"tags": [1]},
        {"tags": "a"},
        {"variables": "x"},
        {"tiles": [{"type": "TEXT", "body": {"a": 1}}]},
        {"tiles": [{"type": "TEXT", "body": "b", "layouts": "sm"}]},
    ],
)
def test_schema_violations_are_400_and_leave_nothing_behind(api, base, expect_error, changes):
    before = count(api, base)
    body = expect_error(api.post(template_path(base), json=with_template(**changes)), 400, "invalid_input",
                        attr=None)
    assert body["detail"]
    assert count(api, base) == before


def test_missing_or_non_object_template(api, base, expect_error):
    expect_error(api.post(template_path(base), json={}), 400, "required", "This field is required.", "template")
    expect_error(api.post(template_path(base), json={"template": "x"}), 400, "invalid_input", attr="template")
    expect_error(api.post(template_path(base), json={"template": [TEMPLATE]}), 400, "invalid_input", attr="template")
    expect_error(api.post(template_path(base), json={"template": None}), 400, "null", attr="template")


def test_non_json_bodies(api, base, expect_error):
    expect_error(api.post(template_path(base), data={"template": "x"}), 415, "unsupported_media_type")
    expect_error(api.post(template_path(base), content=b"{", headers={"Content-Type": "application/json"}), 400,
                 "parse_error")


def test_needs_the_write_scope(client_for, base, expect_error):
    expect_error(client_for("readonly_api_key").post(template_path(base), json=with_template()), 403,
                 "permission_denied", "API key missing required scope 'dashboard:write'")
    expect_error(client_for(None).post(template_path(base), json=with_template()), 401, "not_authenticated")


# --- mutants ------------------------------------------------------------------------------------------------


def test_mutant_template_returns_201(mutant_server, base):
    assert mutant_server("template_returns_201").client().post(template_path(base), json=with_template()).status_code \
        == 201


def test_mutant_template_missing_name_accepted(mutant_server, base):
    client = mutant_server("template_missing_name_accepted").client()
    assert client.post(template_path(base), json=with_template(template_name=None)).is_success


def test_mutant_template_empty_tiles_accepted(mutant_server, base):
    client = mutant_server("template_empty_tiles_accepted").client()
    assert client.post(template_path(base), json=with_template(tiles=[])).is_success
