"""The assembled OpenAPI document: valid, loadable by schemathesis, and built from one source.

schemathesis runs on `contract.openapi_document()`; these tests make sure it can (OpenAPI 3.1 with
2020-12 keywords such as ``not``/``oneOf``/type arrays), that every catalogue operation is in it under
both prefixes, that every documented error status carries the error envelope, and that the component
schemas are exactly the files in ``schemas/`` (nothing defined twice).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openapi_spec_validator
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from posthog_contract import contract, operations

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
PREFIXED = [op for op in operations.OPERATIONS if op.prefixed]
ABSOLUTE = [op for op in operations.OPERATIONS if not op.prefixed]

# Spec §1.4 scopes (copied from the spec, not from the catalogue).
SPEC_SCOPES = {
    "dashboards_list": "dashboard:read",
    "dashboards_retrieve": "dashboard:read",
    "dashboards_collaborators_list": "dashboard:read",
    "dashboards_create": "dashboard:write",
    "dashboards_partial_update": "dashboard:write",
    "dashboards_update": "dashboard:write",
    "dashboards_destroy": "dashboard:write",
    "dashboards_collaborators_create": "dashboard:write",
    "dashboards_collaborators_destroy": "dashboard:write",
    "dashboards_move_tile_partial_update": "dashboard:write",
    "dashboards_move_tile_create": "dashboard:write",
    "dashboards_create_from_template_json_create": "dashboard:write",
    "dashboards_sharing_list": "sharing_configuration:read",
    "dashboards_sharing_partial_update": "sharing_configuration:write",
    "dashboards_sharing_refresh_create": "sharing_configuration:write",
    "events_list": "query:read",
    "events_retrieve": "query:read",
    "projects_list": "project:read",
    "users_me_retrieve": "user:read",
    "organizations_members_list": "organization_member:read",
}
# Spec §0.1 / §0.2 success statuses.
SPEC_SUCCESS = {
    "dashboards_retrieve": 200,
    "dashboards_partial_update": 200,
    "dashboards_destroy": 405,
    "dashboards_move_tile_partial_update": 200,
    "dashboards_create_from_template_json_create": 200,
    "dashboards_sharing_list": 200,
    "dashboards_collaborators_destroy": 204,
    "events_list": 200,
    "events_retrieve": 200,
    "dashboards_list": 200,
    "dashboards_create": 201,
    "dashboards_collaborators_create": 201,
    "dashboards_collaborators_list": 200,
}


# Bodies PostHog accepts empty ({} or absent: DRF reads no body as {}), contract §2.3, §3.
OPTIONAL_BODIES = {"dashboard-write-body", "sharing-write-body"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return contract.openapi_document()


@pytest.fixture(scope="module")
def st_schema(document: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(document)


def iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{contract.component_name(name)}"}


def expected_operations(prefixes: tuple[str, ...] = ("projects", "environments")) -> set[tuple[str, str, str]]:
    """(METHOD, path, operationId) for every catalogue operation, computed independently."""
    expected = set()
    for op in PREFIXED:
        for prefix in prefixes:
            suffix = "_env" if prefix == "environments" else ""
            expected.add((op.method, f"/api/{prefix}/{{project_id}}{op.path}", op.operation_id + suffix))
    expected |= {(op.method, op.path, op.operation_id) for op in ABSOLUTE}
    return expected


# --- the catalogue -------------------------------------------------------------------------------


def test_catalogue_ids_are_unique_and_keys_are_unique() -> None:
    ids = [op.operation_id for op in operations.OPERATIONS]
    assert len(ids) == len(set(ids))
    keys = [(op.method, op.path) for op in operations.OPERATIONS]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("op", operations.OPERATIONS, ids=lambda op: op.operation_id)
def test_catalogue_entry_is_consistent(op: operations.Operation) -> None:
    """Path placeholders match declared path params; every named shape is a schema file."""
    names = set(contract.schema_names())
    placeholders = set(re.findall(r"\{(\w+)\}", op.path))
    assert placeholders == set(op.path_params)
    assert op.method in {"GET", "POST", "PATCH", "PUT", "DELETE"}
    assert op.path.endswith("/") and op.path.startswith("/")
    assert op.prefixed == (not op.path.startswith("/api/") and "capture" not in op.tags)
    for shape in (op.request_body, op.success_shape, op.error_shape):
        assert shape is None or shape in names
    for status, alternatives in op.error_alternatives.items():
        assert status in op.error_statuses
        assert set(alternatives) <= names
    assert list(op.error_statuses) == sorted(set(op.error_statuses))
    assert op.success_status not in op.error_statuses
    assert op.scope == SPEC_SCOPES.get(op.operation_id)


def test_documented_operations_are_spec_section_0_1() -> None:
    documented = {op.operation_id for op in operations.documented_operations()}
    assert documented == {
        "dashboards_retrieve",
        "dashboards_partial_update",
        "dashboards_destroy",
        "dashboards_move_tile_partial_update",
        "dashboards_create_from_template_json_create",
        "dashboards_sharing_list",
        "dashboards_collaborators_destroy",
        "events_list",
        "events_retrieve",
    }


@pytest.mark.parametrize(("operation_id", "status"), sorted(SPEC_SUCCESS.items()))
def test_success_status_is_the_spec_status(operation_id: str, status: int) -> None:
    assert operations.by_id(operation_id).success_status == status


def test_dashboard_delete_is_405_with_an_empty_body() -> None:
    op = operations.by_id("dashboards_destroy")
    assert (op.success_status, op.success_shape) == (405, None)


def test_events_list_query_parameters_have_real_types() -> None:
    """Spec §7.1: strings where the OpenAPI says integer, limit >= 1, properties as one JSON string."""
    params = {param.name: param for param in operations.by_id("events_list").query_params}
    assert params["distinct_id"].schema == {"type": "string"}
    assert params["limit"].schema == {"type": "integer", "minimum": 1}
    assert params["format"].schema["enum"] == ["json", "csv"]
    assert params["orderBy"].schema["type"] == "string"
    assert params["properties"].media_type == "application/json"
    assert {"event", "person_id", "after", "before", "offset", "include_person", "action_id"} <= set(params)


# --- the document ------------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    openapi_spec_validator.validate(document)


def test_every_operation_appears_under_both_prefixes(document: dict[str, Any]) -> None:
    """Prefixed operations under /api/projects/ and /api/environments/, the rest once."""
    found = {(method.upper(), path, operation["operationId"]) for path, method, operation in iter_operations(document)}
    assert found == expected_operations()


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in iter_operations(document)]
    assert len(ids) == len(set(ids))


def test_prefixes_argument_selects_prefixes() -> None:
    only = contract.openapi_document(prefixes=("environments",))
    found = {(method.upper(), path, operation["operationId"]) for path, method, operation in iter_operations(only)}
    assert found == expected_operations(("environments",))
    with pytest.raises(ValueError, match="unknown prefixes"):
        contract.openapi_document(prefixes=("teams",))


def test_project_id_is_a_string_path_parameter(document: dict[str, Any]) -> None:
    for path, _, operation in iter_operations(document):
        params = {param["name"]: param for param in operation["parameters"]}
        if path.startswith(("/api/projects/{project_id}", "/api/environments/{project_id}")):
            schema = params["project_id"]["schema"]
            assert schema["type"] == "string"
            assert re.fullmatch(schema["pattern"], "@current") and re.fullmatch(schema["pattern"], "12")
        for name in re.findall(r"\{(\w+)\}", path):
            assert params[name]["in"] == "path" and params[name]["required"] is True


def test_success_responses(document: dict[str, Any]) -> None:
    """Success with its schema, or no content for an empty body."""
    for op in operations.OPERATIONS:
        operation = document["paths"][op.full_path()][op.method.lower()]
        success = operation["responses"][str(op.success_status)]
        if op.success_shape is None:
            assert "content" not in success
        else:
            assert success["content"]["application/json"]["schema"] == ref(op.success_shape)
        if op.request_body:
            assert operation["requestBody"]["content"] == {"application/json": {"schema": ref(op.request_body)}}
            assert operation["requestBody"]["required"] is (op.request_body not in OPTIONAL_BODIES)
        else:
            assert "requestBody" not in operation


def test_every_error_status_has_the_error_schema(document: dict[str, Any]) -> None:
    """Every listed error status is documented with the envelope (capture: its own error body)."""
    for op in operations.OPERATIONS:
        for prefix in ("projects", "environments") if op.prefixed else ("projects",):
            responses = document["paths"][op.full_path(prefix)][op.method.lower()]["responses"]
            assert set(responses) == {str(op.success_status), *map(str, op.error_statuses)}
            for status in op.error_statuses:
                schema = responses[str(status)]["content"]["application/json"]["schema"]
                base = "capture-error" if "capture" in op.tags else "error-envelope"
                if status in op.error_alternatives:
                    assert schema["oneOf"][0] == ref(base)
                else:
                    assert schema == ref(base)


def test_rest_operations_document_the_usual_errors(document: dict[str, Any]) -> None:
    """401 and 429 everywhere on REST; 403/404 where a project or object is looked up; 400 with bodies."""
    for op in operations.OPERATIONS:
        if "capture" in op.tags:
            assert set(op.error_statuses) == {400, 401, 403, 413}
            continue
        assert {401, 403, 429} <= set(op.error_statuses), op.operation_id
        if op.prefixed:
            assert 404 in op.error_statuses, op.operation_id
        if op.request_body:
            assert {400, 415} <= set(op.error_statuses), op.operation_id


def test_envelope_exceptions(document: dict[str, Any]) -> None:
    """Spec §1.2: the invalid-UUID 400 and the sharing password 403 are alternatives to the envelope."""
    events = document["paths"]["/api/projects/{project_id}/events/{id}/"]["get"]["responses"]["400"]
    assert events["content"]["application/json"]["schema"] == {
        "oneOf": [ref("error-envelope"), ref("event-invalid-uuid-error")]
    }
    sharing = document["paths"]["/api/environments/{project_id}/dashboards/{dashboard_id}/sharing/"]["patch"]
    assert sharing["responses"]["403"]["content"]["application/json"]["schema"]["oneOf"][1] == ref(
        "sharing-password-error"
    )
    delete = document["paths"]["/api/projects/{project_id}/dashboards/{id}/"]["delete"]["responses"]
    assert "content" not in delete["405"]
    collaborator = document["paths"]["/api/projects/{project_id}/dashboards/{dashboard_id}/collaborators/{user_uuid}/"]
    assert "content" not in collaborator["delete"]["responses"]["204"]


def test_throttled_responses_require_retry_after(document: dict[str, Any]) -> None:
    for _, _, operation in iter_operations(document):
        if "429" in operation["responses"]:
            header = operation["responses"]["429"]["headers"]["Retry-After"]
            assert header["required"] is True and header["schema"] == {"type": "integer", "minimum": 1}


def test_security(document: dict[str, Any]) -> None:
    """REST operations use the personal key (bearer) with their scope; capture carries the project key."""
    assert document["components"]["securitySchemes"] == {
        "PersonalAPIKeyAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API key (phx_...) in Authorization: Bearer <key>.",
        }
    }
    assert "security" not in document
    for path, _, operation in iter_operations(document):
        if path in ("/batch/", "/capture/", "/i/v0/e/", "/e/"):
            assert operation["security"] == []
        else:
            scope = SPEC_SCOPES[operation["operationId"].removesuffix("_env")]
            assert operation["security"] == [{"PersonalAPIKeyAuth": [scope]}]


def test_links_target_operations_under_the_same_prefix(document: dict[str, Any]) -> None:
    """Links name real operations (the twin under /api/environments/) and their real parameters."""
    by_id = {operation["operationId"]: (path, operation) for path, _, operation in iter_operations(document)}
    count = 0
    for path, _, operation in iter_operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                count += 1
                target_path, target = by_id[link["operationId"]]
                assert target_path.split("/")[2] == path.split("/")[2]  # projects / environments
                names = {param["name"] for param in target["parameters"]}
                assert set(link["parameters"]) <= names
    assert count >= 2 * 6
    create = document["paths"]["/api/projects/{project_id}/dashboards/"]["post"]["responses"]["201"]["links"]
    assert create["GetDashboard"] == {
        "operationId": "dashboards_retrieve",
        "parameters": {"project_id": "$request.path.project_id", "id": "$response.body#/id"},
        "description": "Retrieve the new dashboard.",
    }
    assert {"PatchDashboard", "GetSharing", "MoveTile"} <= set(create)


# --- one source of truth ------------------------------------------------------------------------------


def _rewritten(node: Any) -> Any:
    """An independent copy of the ref rewriting: ``"x.json"`` -> ``#/components/schemas/<title>``."""
    if isinstance(node, dict):
        return {
            key: (ref(value.removesuffix(".json"))["$ref"] if key == "$ref" else _rewritten(value))
            for key, value in node.items()
            if key not in ("$schema", "$id")
        }
    if isinstance(node, list):
        return [_rewritten(item) for item in node]
    return node


def test_component_schemas_are_the_schema_files(document: dict[str, Any]) -> None:
    """Every file is a component, every component a file, unchanged but for $schema/$id and refs."""
    components = document["components"]["schemas"]
    assert set(components) == {contract.component_name(name) for name in contract.schema_names()}
    for name in contract.schema_names():
        path = contract.SCHEMAS_DIR / f"{name}.json"
        assert components[contract.component_name(name)] == _rewritten(json.loads(path.read_text()))


def test_every_ref_in_the_document_resolves(document: dict[str, Any]) -> None:
    components = document["components"]["schemas"]
    for node in walk(document):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            match = re.fullmatch(r"#/components/schemas/([^/]+)", node["$ref"])
            assert match and match.group(1) in components, node["$ref"]


def test_paths_define_no_shapes_inline(document: dict[str, Any]) -> None:
    """Request and JSON response bodies are component refs (or oneOf refs), never inline copies."""
    for _, _, operation in iter_operations(document):
        bodies = [operation.get("requestBody", {}).get("content", {})]
        bodies += [response.get("content", {}) for response in operation["responses"].values()]
        for content in bodies:
            for media, entry in content.items():
                schema = entry["schema"]
                if media != "application/json":
                    assert schema == {"type": "string"}
                elif "oneOf" in schema:
                    assert all(set(item) == {"$ref"} for item in schema["oneOf"])
                else:
                    assert set(schema) == {"$ref"}


def test_openapi_document_is_a_fresh_copy() -> None:
    first = contract.openapi_document()
    first["paths"].clear()
    first["components"]["schemas"]["Dashboard"]["required"].clear()
    second = contract.openapi_document()
    assert second["paths"] and second["components"]["schemas"]["Dashboard"]["required"]


def test_write_openapi(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    contract.write_openapi(target)
    assert json.loads(target.read_text()) == contract.openapi_document()


# --- schemathesis ----------------------------------------------------------------------------------


def test_schemathesis_loads_every_operation(st_schema: Any) -> None:
    found = set()
    for result in st_schema.get_all_operations():
        operation = result.ok()  # an Err here means schemathesis could not understand an operation
        found.add((operation.method.upper(), operation.path, operation.definition.raw["operationId"]))
    assert found == expected_operations()


def test_schemathesis_builds_a_state_machine_with_our_links() -> None:
    schema = schemathesis.openapi.from_dict(contract.openapi_document(prefixes=("projects",)))
    machine = schema.as_state_machine()
    transitions = [name for name in dir(machine) if "___201_" in name or "___200_" in name]
    for link in ("GetDashboard", "PatchDashboard", "GetSharing", "MoveTile", "RemoveCollaborator"):
        assert any(f"_{link}__" in name for name in transitions), link


def _generation_cases() -> list[tuple[str, str]]:
    cases = [(op.full_path("projects"), op.method) for op in operations.OPERATIONS]
    cases += [(op.full_path("environments"), op.method) for op in operations.documented_operations()]
    return cases


@pytest.mark.parametrize(("path", "method"), _generation_cases(), ids=lambda value: str(value))
def test_schemathesis_generates_valid_cases(st_schema: Any, path: str, method: str) -> None:
    """Positive generation works for every operation and yields bodies our own schemas accept
    (OpenAPI 3.1 + not/oneOf/anyOf survive the translation to hypothesis); negative generation works."""
    operation = st_schema[path][method]
    op = next(
        o
        for o in operations.OPERATIONS
        if operation.definition.raw["operationId"].removesuffix("_env") == o.operation_id
    )
    seen: list[Any] = []

    @settings(max_examples=8, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def positive(case: Any) -> None:
        seen.append(case)
        if op.request_body and not isinstance(case.body, NotSet):  # optional bodies may be left out
            assert contract.errors(case.body, op.request_body) == [], case.body
        for name, value in (case.path_parameters or {}).items():
            assert name in {"project_id", *op.path_params}
            assert value is not None

    @settings(max_examples=3, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case: Any) -> None:
        seen.append(case)

    positive()
    negative()
    assert seen


def _response(status: int, body: Any, path: str = "/api/projects/1/dashboards/") -> httpx.Response:
    response = httpx.Response(status, json=body, request=httpx.Request("GET", f"http://testserver{path}"))
    response.elapsed = dt.timedelta(0)  # schemathesis reads it; only a transport sets it
    return response


def _dashboard_item(**over: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "name": None,
        "description": "",
        "pinned": False,
        "created_at": "2024-01-01T00:00:00Z",
        "created_by": None,
        "last_accessed_at": None,
        "last_refresh": None,
        "last_viewed_at": None,
        "is_shared": False,
        "deleted": False,
        "creation_mode": "default",
        "tags": [],
        "restriction_level": 21,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "user_access_level": "manager",
        "access_control_version": "v2",
        "team_id": 1,
        **over,
    }


def test_schemathesis_response_validation_agrees_with_the_contract(st_schema: Any) -> None:
    """schemathesis validates with its own engine; it must read `not`, `oneOf`, type arrays and
    formats as `contract.errors` does."""
    listing = st_schema["/api/projects/{project_id}/dashboards/"]["GET"]
    page = {"count": 1, "next": None, "previous": None, "results": [_dashboard_item()]}
    assert listing.is_valid_response(_response(200, page))
    assert not listing.is_valid_response(_response(200, {**page, "results": [_dashboard_item(tiles=[])]}))
    assert not listing.is_valid_response(_response(200, {**page, "next": "/relative?offset=1"}))
    assert not listing.is_valid_response(_response(200, {**page, "results": [_dashboard_item(restriction_level=9)]}))
    envelope = {"type": "authentication_error", "code": "not_authenticated", "detail": "x", "attr": None}
    assert listing.is_valid_response(_response(401, envelope))
    assert not listing.is_valid_response(_response(401, {key: envelope[key] for key in ("type", "code", "detail")}))

    event = st_schema["/api/projects/{project_id}/events/{id}/"]["GET"]
    invalid_uuid = {"detail": "Invalid UUID", "code": "invalid", "type": "validation_error"}
    assert event.is_valid_response(_response(400, invalid_uuid, "/api/projects/1/events/x/"))
    assert event.is_valid_response(
        _response(400, {**envelope, "type": "validation_error"}, "/api/projects/1/events/x/")
    )
    assert not event.is_valid_response(_response(400, {"detail": "Invalid UUID"}, "/api/projects/1/events/x/"))
