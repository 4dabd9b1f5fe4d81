"""``GET /api/schema/``: the reference server's own OpenAPI document, shaped like PostHog's.

PostHog serves its drf-spectacular OpenAPI at ``/api/schema/`` (YAML by default, JSON on request);
the suite's drift check compares it with the contract. The reference describes what *it* returns,
from its own knowledge written down here (it never imports the suite): component names are
PostHog's (``Dashboard``, ``DashboardBasic``, ``SharingConfiguration``, ``DashboardCollaborator``,
``ClickhouseEvent``, ``PaginatedClickhouseEventList``, ``UserBasic`` ...), nullability is OpenAPI
3.0's ``nullable``, and a nullable reference is ``allOf: [$ref] + nullable`` as drf-spectacular
writes it. Unlike PostHog's, this document matches the server's reality (sharing is one object,
``move_tile`` answers the source dashboard); ``selftests/report`` checks it against real answers.

Field types use a compact notation: ``integer``, ``string``, ``boolean``, ``number``, ``object``
(free-form), ``any``, ``date-time``, ``uuid``, ``email``, ``uri``; ``$Name`` a component;
``[T]`` an array of T; a trailing ``?`` nullable; a leading ``!`` write-only, ``~`` not always present.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import mutants
from .auth import authenticate
from .errors import json_response
from .routing import Route

DROPS_TEAM_ID = mutants.declare(
    "schema_doc_drops_team_id",
    "the served OpenAPI (/api/schema/) documents every field the server returns: Dashboard team_id (drift, §2.1)",
)

_USER_BASIC = {
    "id": "integer",
    "uuid": "uuid",
    "distinct_id": "string?",
    "first_name": "string",
    "last_name": "string",
    "email": "email",
    "is_email_verified": "boolean?",
    "hedgehog_config": "object?",
    "role_at_organization": "string?",
}

_DASHBOARD_BASIC = {
    "id": "integer",
    "name": "string?",
    "description": "string",
    "pinned": "boolean",
    "created_at": "date-time",
    "created_by": "$UserBasic?",
    "last_accessed_at": "date-time?",
    "last_viewed_at": "date-time?",
    "is_shared": "boolean",
    "deleted": "boolean",
    "creation_mode": "$CreationModeEnum",
    "tags": "[string]",
    "restriction_level": "$RestrictionLevelEnum",
    "effective_restriction_level": "$RestrictionLevelEnum",
    "effective_privilege_level": "$RestrictionLevelEnum",
    "user_access_level": "string?",
    "access_control_version": "string",
    "last_refresh": "date-time?",
    "team_id": "integer",
}

#: component -> field -> type; a component whose value is a string is an alias (enum, list)
COMPONENTS: dict[str, Any] = {
    "UserBasic": _USER_BASIC,
    "CreationModeEnum": {"enum": ["default", "template", "duplicate", "unlisted"], "type": "string"},
    "RestrictionLevelEnum": {"enum": [21, 37], "type": "integer"},
    "DashboardBasic": {**_DASHBOARD_BASIC, "search_match_type": "~string"},
    "Dashboard": {
        **_DASHBOARD_BASIC,
        "filters": "object",
        "variables": "object?",
        "breakdown_colors": "any",
        "data_color_theme_id": "integer?",
        "persisted_filters": "object?",
        "persisted_variables": "object?",
        "quick_filter_ids": "[uuid]",
        "tiles": "[$DashboardTile]?",
        "use_template": "!string",
        "use_dashboard": "!integer?",
        "delete_insights": "!boolean",
    },
    "DashboardTile": {
        "id": "integer",
        "insight": "$InsightBasic?",
        "text": "$Text?",
        "button_tile": "object?",
        "layouts": "object",
        "color": "string?",
        "show_description": "boolean?",
        "transparent_background": "boolean?",
        "filters_overrides": "object?",
        "order": "integer?",
        "last_refresh": "date-time?",
        "is_cached": "boolean",
    },
    "InsightBasic": {
        "id": "integer",
        "short_id": "string",
        "name": "string?",
        "derived_name": "string?",
        "description": "string?",
        "filters": "object",
        "query": "object?",
        "deleted": "boolean",
        "created_at": "date-time",
        "created_by": "$UserBasic?",
        "dashboards": "[integer]",
        "tags": "[string]",
        "last_refresh": "date-time?",
        "result": "any",
    },
    "Text": {
        "id": "integer",
        "body": "string?",
        "created_by": "$UserBasic?",
        "last_modified_at": "date-time",
        "last_modified_by": "$UserBasic?",
        "team": "integer",
    },
    "PaginatedDashboardBasicList": {
        "count": "integer",
        "next": "uri?",
        "previous": "uri?",
        "results": "[$DashboardBasic]",
    },
    "SharingConfiguration": {
        "created_at": "date-time?",
        "enabled": "boolean",
        "access_token": "string?",
        "settings": "object?",
        "password_required": "boolean",
        "share_passwords": "[object]",
    },
    "DashboardCollaborator": {
        "id": "uuid",
        "dashboard_id": "integer",
        "user": "$UserBasic",
        "level": "$RestrictionLevelEnum",
        "added_at": "date-time",
        "updated_at": "date-time",
        "user_uuid": "!uuid",
    },
    "ClickhouseEvent": {
        "id": "string",
        "distinct_id": "string",
        "properties": "object",
        "event": "string",
        "timestamp": "string",
        "person": "$EventPerson?",
        "elements": "[$EventElement]",
        "elements_chain": "string",
    },
    "EventPerson": {"is_identified": "boolean", "distinct_ids": "[string]", "properties": "object"},
    "EventElement": {
        "event": "string?",
        "text": "string?",
        "tag_name": "string?",
        "attr_class": "[string]?",
        "href": "string?",
        "attr_id": "string?",
        "nth_child": "integer?",
        "nth_of_type": "integer?",
        "attributes": "object",
        "order": "integer?",
    },
    "PaginatedClickhouseEventList": {"next": "uri?", "results": "[$ClickhouseEvent]"},
    "ProjectBackwardCompatBasic": {
        "id": "integer",
        "uuid": "uuid",
        "organization": "uuid",
        "name": "string",
        "api_token": "string",
        "timezone": "string",
    },
    "PaginatedProjectBackwardCompatBasicList": {
        "count": "integer",
        "next": "uri?",
        "previous": "uri?",
        "results": "[$ProjectBackwardCompatBasic]",
    },
}

#: (method, path after the prefix, operation id stem, success status, response; "[X]" an array, None no body)
_PREFIXED: tuple[tuple[str, str, str, int, str | None], ...] = (
    ("GET", "/dashboards/", "dashboards_list", 200, "PaginatedDashboardBasicList"),
    ("POST", "/dashboards/", "dashboards_create", 201, "Dashboard"),
    ("GET", "/dashboards/{id}/", "dashboards_retrieve", 200, "Dashboard"),
    ("PATCH", "/dashboards/{id}/", "dashboards_partial_update", 200, "Dashboard"),
    ("PUT", "/dashboards/{id}/", "dashboards_update", 200, "Dashboard"),
    ("DELETE", "/dashboards/{id}/", "dashboards_destroy", 405, None),
    ("PATCH", "/dashboards/{id}/move_tile/", "dashboards_move_tile_partial_update", 200, "Dashboard"),
    ("POST", "/dashboards/{id}/move_tile/", "dashboards_move_tile_create", 200, "Dashboard"),
    ("POST", "/dashboards/create_from_template_json/", "dashboards_create_from_template_json_create", 200, "Dashboard"),
    ("GET", "/dashboards/{dashboard_id}/sharing/", "dashboards_sharing_list", 200, "SharingConfiguration"),
    ("PATCH", "/dashboards/{dashboard_id}/sharing/", "dashboards_sharing_partial_update", 200, "SharingConfiguration"),
    (
        "POST",
        "/dashboards/{dashboard_id}/sharing/refresh/",
        "dashboards_sharing_refresh_create",
        200,
        "SharingConfiguration",
    ),
    (
        "GET",
        "/dashboards/{dashboard_id}/collaborators/",
        "dashboards_collaborators_list",
        200,
        "[DashboardCollaborator]",
    ),
    (
        "POST",
        "/dashboards/{dashboard_id}/collaborators/",
        "dashboards_collaborators_create",
        201,
        "DashboardCollaborator",
    ),
    (
        "DELETE",
        "/dashboards/{dashboard_id}/collaborators/{user__uuid}/",
        "dashboards_collaborators_destroy",
        204,
        None,
    ),
    ("GET", "/events/", "events_list", 200, "PaginatedClickhouseEventList"),
    ("GET", "/events/{id}/", "events_retrieve", 200, "ClickhouseEvent"),
)
_GLOBAL: tuple[tuple[str, str, str, int, str | None], ...] = (
    ("GET", "/api/projects/", "list", 200, "PaginatedProjectBackwardCompatBasicList"),
)
#: PostHog names the environments prefix's parameter environment_id, the projects prefix's project_id
_PREFIXES = (("/api/environments/{environment_id}", "environments"), ("/api/projects/{project_id}", "projects"))
_FORMATS = {"date-time": "date-time", "uuid": "uuid", "email": "email", "uri": "uri"}


def _type(notation: str) -> dict[str, Any]:
    """One field's OpenAPI 3.0 schema from the compact notation of this module."""
    schema: dict[str, Any]
    write_only = notation.startswith("!")
    notation = notation.removeprefix("!").removeprefix("~")
    nullable = notation.endswith("?")
    notation = notation.removesuffix("?")
    if notation.startswith("[") and notation.endswith("]"):
        schema = {"type": "array", "items": _type(notation[1:-1])}
    elif notation.startswith("$"):
        ref = {"$ref": f"#/components/schemas/{notation[1:]}"}
        schema = {"allOf": [ref]} if nullable else ref
    elif notation == "any":
        schema = {}
    elif notation == "object":
        schema = {"type": "object", "additionalProperties": {}}
    elif notation in _FORMATS:
        schema = {"type": "string", "format": _FORMATS[notation]}
    else:
        schema = {"type": notation}
    if nullable:
        schema["nullable"] = True
    if write_only:
        schema["writeOnly"] = True
    return schema


def _component(fields: dict[str, Any]) -> dict[str, Any]:
    if "enum" in fields:
        return dict(fields)
    return {
        "type": "object",
        "properties": {name: _type(notation) for name, notation in fields.items()},
        "required": [name for name, notation in fields.items() if not notation.startswith(("!", "~"))],
    }


def _response(status: int, body: str | None, summary: str) -> dict[str, Any]:
    if body is None:
        return {str(status): {"description": f"{summary} (no response body)"}}
    schema = _type(body) if body.startswith("[") else _type("$" + body)
    return {str(status): {"content": {"application/json": {"schema": schema}}, "description": ""}}


def _parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    return [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}} for name in names]


def document() -> dict[str, Any]:
    """The OpenAPI document this server serves (built per request: mutants may change it)."""
    components = {name: _component(fields) for name, fields in COMPONENTS.items()}
    if mutants.active(DROPS_TEAM_ID):
        for name in ("Dashboard", "DashboardBasic"):
            components[name]["properties"].pop("team_id", None)
            components[name]["required"].remove("team_id")
    paths: dict[str, dict[str, Any]] = {}
    for prefix, stem in _PREFIXES:
        for method, suffix, operation_id, status, body in _PREFIXED:
            path = prefix + suffix
            paths.setdefault(path, {})[method.lower()] = {
                "operationId": f"{stem}_{operation_id}",
                "parameters": _parameters(path),
                "responses": _response(status, body, operation_id),
                "security": [{"PersonalAPIKeyAuth": []}],
                **({"deprecated": True} if stem == "projects" else {}),
            }
    for method, path, operation_id, status, body in _GLOBAL:
        paths.setdefault(path, {})[method.lower()] = {
            "operationId": f"{path.strip('/').replace('/', '_').removeprefix('api_')}_{operation_id}",
            "parameters": _parameters(path),
            "responses": _response(status, body, operation_id),
            "security": [{"PersonalAPIKeyAuth": []}],
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "PostHog API (reference server)", "version": "reference"},
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(components),
            "securitySchemes": {"PersonalAPIKeyAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


async def serve_schema(request: Request) -> Response:
    """Any valid personal API key may read it (no scope); the document is JSON whatever is asked."""
    await authenticate(request)
    return json_response(document())


ROUTES = [Route("/api/schema", {"GET": serve_schema})]
