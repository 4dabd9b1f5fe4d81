"""The operation catalogue: every HTTP operation the contract covers, as plain data.

One entry per (method, path). The assembled OpenAPI document (`contract.openapi_document`), the
suite and the reports all read this table, so an operation is described exactly once. Shapes are
named by the stem of their file in `schemas/` (``"dashboard"`` -> ``schemas/dashboard.json``).

Paths of prefixed operations are the suffix after ``/api/projects/{project_id}`` or
``/api/environments/{project_id}`` (contract §0.1, §1.1); the prefix's ``project_id`` parameter is
added by whoever builds the full path (see `PREFIXES`). Non-prefixed operations carry their
absolute path (`Operation.prefixed` is False): project discovery, the current user, organisation
members and the capture endpoints.

No I/O happens here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonSchema = Mapping[str, Any]

#: The two URL prefixes every prefixed operation is served under (contract §1.1).
PREFIXES: Mapping[str, str] = {
    "projects": "/api/projects/{project_id}",
    "environments": "/api/environments/{project_id}",
}

#: `project_id`: an integer or `@current` (the key owner's current project); else 404.
PROJECT_ID_SCHEMA: JsonSchema = {
    "type": "string",
    "pattern": "^(@current|[0-9]+)$",
    "description": "Project id (an integer) or @current. Find it with GET /api/projects/.",
}

_UUID_HEX = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


@dataclass(frozen=True)
class Param:
    """A query parameter.

    ``media_type="application/json"`` means the value travels JSON-encoded in one parameter
    (OpenAPI ``content`` instead of ``schema``), as the events ``properties`` filter does.
    """

    name: str
    schema: JsonSchema
    description: str = ""
    required: bool = False
    media_type: str | None = None


@dataclass(frozen=True)
class Link:
    """An OpenAPI link from an operation's success response to another operation (stateful runs).

    ``operation_id`` names a catalogue operation; under the environments prefix the builder
    points it at the environment twin. ``parameters`` maps the target's parameter names to
    OpenAPI runtime expressions (``$response.body#/id``, ``$request.path.project_id``).
    """

    name: str
    operation_id: str
    parameters: Mapping[str, str]
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of the contract.

    ``success_shape`` None means an empty body (204, and the dashboard DELETE 405).
    ``error_statuses`` lists the error answers that apply (all carry ``error_shape``);
    ``error_alternatives`` names further shapes accepted at a status (the envelope exceptions of
    contract §1.2), combined with ``error_shape`` by ``oneOf``.
    """

    operation_id: str
    method: str
    path: str
    summary: str
    scope: str | None
    documented: bool
    path_params: Mapping[str, JsonSchema]
    query_params: tuple[Param, ...]
    request_body: str | None
    success_status: int
    success_shape: str | None
    error_statuses: tuple[int, ...]
    tags: tuple[str, ...]
    prefixed: bool = True
    description: str = ""
    error_shape: str = "error-envelope"
    error_alternatives: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    success_media_types: tuple[str, ...] = ("application/json",)
    links: tuple[Link, ...] = ()
    #: report matrix columns (`report.match.CHECK_KINDS`) that cannot apply to this operation, with why;
    #: the report shows them as "not applicable" and leaves them out of "applicable cells checked"
    not_applicable: Mapping[str, str] = field(default_factory=dict)
    #: writes: the operation whose answer shows what the write stored (its persistence checks read it)
    read_back: str | None = None
    #: writes: what the write changes in the state it touches (`posthog_contract.state`), everything
    #: else staying; for writes whose body fields are all inputs (or that have no body). A key is a
    #: path of the state ("sharing.access_token", "dashboard.tiles[tile]"), the value what happens to
    #: it: "changes", "removed", "added" (from the source dashboard's same item, or the request)
    effect: Mapping[str, str] | None = None
    #: where PostHog declares no scope for the operation, so a personal key gets 403 "This action does
    #: not support personal API key access" whatever its scopes (contract §1.4); "" = never
    scopeless_on: str = ""

    def __hash__(self) -> int:  # mappings are unhashable; the id is unique
        return hash(self.operation_id)

    def full_path(self, prefix: str = "projects") -> str:
        """The OpenAPI path template under ``prefix`` (a key of `PREFIXES`)."""
        return PREFIXES[prefix] + self.path if self.prefixed else self.path


# --- matrix cells that cannot apply (Operation.not_applicable) -------------------------------------

_ONE_OBJECT = "it answers one object, not a page of a list"
_NO_QUERY = "the operation has no query parameters"
_NO_BODY = "its success answer has no body, so the host's /api/schema/ has no response fields to compare"
_NA_ONE = {"pagination": _ONE_OBJECT, "parameters": _NO_QUERY}
_NA_NO_BODY = {**_NA_ONE, "drift": _NO_BODY}

# --- shared parameter schemas -------------------------------------------------------------------

_DASHBOARD_ID: JsonSchema = {"type": "integer", "description": "A dashboard id."}
_DASHBOARD_PATH = {"id": _DASHBOARD_ID}
_NESTED_DASHBOARD_PATH = {"dashboard_id": _DASHBOARD_ID}
_USER_UUID: JsonSchema = {
    "type": "string",
    "format": "uuid",
    "description": "The collaborator's user UUID (PostHog documents the name user__uuid). "
    "An unknown or malformed value answers 404.",
}
_EVENT_ID: JsonSchema = {
    "type": "string",
    "pattern": f"^{_UUID_HEX}$",
    "description": "The event UUID, with or without dashes, any case. Not a UUID -> 400 'Invalid UUID'.",
}

_LIMIT_OFFSET = (
    Param("limit", {"type": "integer"}, "Page size (default 100; invalid, 0 or negative -> 100)."),
    Param("offset", {"type": "integer"}, "Rows to skip (default 0; invalid or negative -> 0)."),
)

_EVENT_TIME: JsonSchema = {
    "type": "string",
    "anyOf": [
        {"format": "date-time"},
        {"format": "date"},
        {"pattern": "^-?[0-9]+[hdwmy]$"},
    ],
}

_EVENTS_LIST_PARAMS = (
    Param("event", {"type": "string"}, "Exact event name."),
    Param(
        "distinct_id",
        {"type": "string"},
        "Exact distinct id. A string (PostHog's OpenAPI says integer, contract §10).",
    ),
    Param(
        "person_id",
        {"type": "string", "pattern": f"^([0-9]+|{_UUID_HEX})$"},
        "Person integer id or UUID; unknown -> 200 with no results.",
    ),
    Param(
        "after",
        _EVENT_TIME,
        "Exclusive lower bound: ISO 8601 (Z, +00:00 or +0000; naive = project timezone), a date, "
        "or relative -<n><h|d|w|m|y>. Personal keys without it see the last 24 h only.",
    ),
    Param(
        "before",
        _EVENT_TIME,
        "Exclusive upper bound, same forms as after; default now + 5 s.",
    ),
    Param(
        "properties",
        {"$ref": "events-properties-param.json"},
        "Property filters as one URL-encoded JSON string (contract §7.2); unparsable -> 400.",
        media_type="application/json",
    ),
    Param(
        "limit",
        {"type": "integer", "minimum": 1},
        "Page size: default 100, silently capped at 1000; non-integer or < 1 -> 400 (reference).",
    ),
    Param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": 50000},
        "Deprecated: rows to skip (> 50000 -> 400). `next` never needs it.",
    ),
    Param("include_person", {"type": "boolean"}, "true/1 fills `person`; otherwise it is null."),
    Param("format", {"type": "string", "enum": ["json", "csv"]}, "json (default) or csv (unpaginated)."),
    Param(
        "orderBy",
        {"type": "string", "enum": ['["-timestamp"]', '["timestamp"]']},
        "A JSON list: newest first (default) or oldest first; anything else -> 400 (reference).",
    ),
    Param("action_id", {"type": "integer"}, "Events of an action; unknown -> no results."),
)

# --- error status sets ----------------------------------------------------------------------------

_READ = (401, 403, 404, 429)
_READ_400 = (400, 401, 403, 404, 429)
_WRITE = (400, 401, 403, 404, 415, 429)
_GLOBAL_READ = (401, 403, 429)
_CAPTURE = (400, 401, 403, 413)

# --- links for stateful runs ----------------------------------------------------------------------

_FROM_NEW_DASHBOARD = {"project_id": "$request.path.project_id", "id": "$response.body#/id"}
_FROM_NEW_DASHBOARD_NESTED = {"project_id": "$request.path.project_id", "dashboard_id": "$response.body#/id"}
_DASHBOARD_LINKS = (
    Link("GetDashboard", "dashboards_retrieve", _FROM_NEW_DASHBOARD, "Retrieve the new dashboard."),
    Link("PatchDashboard", "dashboards_partial_update", _FROM_NEW_DASHBOARD, "Update the new dashboard."),
    Link("GetSharing", "dashboards_sharing_list", _FROM_NEW_DASHBOARD_NESTED, "Its sharing configuration."),
    Link("MoveTile", "dashboards_move_tile_partial_update", _FROM_NEW_DASHBOARD, "Move a tile off it."),
    Link("ListCollaborators", "dashboards_collaborators_list", _FROM_NEW_DASHBOARD_NESTED, "Its collaborators."),
    Link("AddCollaborator", "dashboards_collaborators_create", _FROM_NEW_DASHBOARD_NESTED, "Add a collaborator."),
)

#: move_tile: the tile leaves the source and lands on the destination as it was, id kept (contract §5;
#: PostHog: DashboardsViewSet.move_tile only sets the tile's dashboard_id)
_MOVE_EFFECT = {"dashboard.tiles[tile]": "removed", "destination.tiles[tile]": "added"}

# --- the catalogue ---------------------------------------------------------------------------------

OPERATIONS: tuple[Operation, ...] = (
    # §0.1 documented operations ------------------------------------------------------------------
    Operation(
        operation_id="dashboards_retrieve",
        method="GET",
        path="/dashboards/{id}/",
        summary="Retrieve a dashboard",
        description="Detail body; sets last_accessed_at. Missing, other-project, soft-deleted or "
        "non-integer id -> 404 (contract §2.4).",
        scope="dashboard:read",
        documented=True,
        not_applicable=_NA_ONE,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="dashboard",
        error_statuses=_READ,
        tags=("dashboards",),
    ),
    Operation(
        operation_id="dashboards_partial_update",
        method="PATCH",
        path="/dashboards/{id}/",
        summary="Update a dashboard (also soft delete / undelete, tile payloads)",
        description="Spec §2.5, §2.6, §2.8. PATCH {deleted: true} soft-deletes; a falsy deleted undeletes.",
        scope="dashboard:write",
        documented=True,
        not_applicable=_NA_ONE,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body="dashboard-write-body",
        success_status=200,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        read_back="dashboards_retrieve",
    ),
    Operation(
        operation_id="dashboards_destroy",
        method="DELETE",
        path="/dashboards/{id}/",
        summary="Hard delete is forbidden: always 405 with an empty body",
        description="Hard delete of this model is not allowed; use PATCH {deleted: true}. No lookup "
        "happens: any id, even a missing or non-integer one, gets 405 (contract §2.8).",
        scope="dashboard:write",
        documented=True,
        not_applicable=_NA_NO_BODY,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body=None,
        success_status=405,
        success_shape=None,
        error_statuses=_READ,
        tags=("dashboards",),
        read_back="dashboards_retrieve",
        effect={},  # 405: nothing changes (contract §2.8)
    ),
    Operation(
        operation_id="dashboards_move_tile_partial_update",
        method="PATCH",
        path="/dashboards/{id}/move_tile/",
        summary="Move a tile to another dashboard; returns the source dashboard",
        description="Spec §5. Documented with a dashboard body and 'No response body'; reality: "
        "{tile: {id}, to_dashboard} and the source Dashboard. Older releases refuse personal keys (403).",
        scope="dashboard:write",
        documented=True,
        not_applicable=_NA_ONE,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body="move-tile-body",
        success_status=200,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        read_back="dashboards_retrieve",
        effect=_MOVE_EFFECT,
        scopeless_on="older releases (contract §5, §11)",
    ),
    Operation(
        operation_id="dashboards_create_from_template_json_create",
        method="POST",
        path="/dashboards/create_from_template_json/",
        summary="Create a dashboard from a JSON template (200, not 201)",
        description="Spec §6. PostHog declares no scope, so it refuses personal API keys (403 'This "
        "action does not support personal API key access'); the reference accepts dashboard:write.",
        scope="dashboard:write",
        documented=True,
        not_applicable=_NA_ONE,
        path_params={},
        query_params=(),
        request_body="create-from-template-json-body",
        success_status=200,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        links=(Link("GetCreatedDashboard", "dashboards_retrieve", _FROM_NEW_DASHBOARD, "Retrieve the new dashboard."),),
        read_back="dashboards_retrieve",
        scopeless_on="PostHog (the action declares no scope, contract §6)",
    ),
    Operation(
        operation_id="dashboards_sharing_list",
        method="GET",
        path="/dashboards/{dashboard_id}/sharing/",
        summary="The dashboard's sharing configuration (one object)",
        description="Spec §3. Documented as a list; it is one object. Never configured: an unsaved "
        "default with created_at null and a fresh token on each GET.",
        scope="sharing_configuration:read",
        documented=True,
        not_applicable=_NA_ONE,
        path_params=_NESTED_DASHBOARD_PATH,
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="sharing-configuration",
        error_statuses=_READ,
        tags=("sharing",),
    ),
    Operation(
        operation_id="dashboards_collaborators_destroy",
        method="DELETE",
        path="/dashboards/{dashboard_id}/collaborators/{user_uuid}/",
        summary="Remove a dashboard collaborator",
        description="Spec §4.1. 204, empty. Unknown or malformed uuid -> 404; effective restriction 21 -> 400.",
        scope="dashboard:write",
        documented=True,
        not_applicable=_NA_NO_BODY,
        path_params={**_NESTED_DASHBOARD_PATH, "user_uuid": _USER_UUID},
        query_params=(),
        request_body=None,
        success_status=204,
        success_shape=None,
        error_statuses=_READ_400,
        tags=("collaborators",),
        read_back="dashboards_collaborators_list",
        effect={"collaborators[user]": "removed"},  # contract §4.1
    ),
    Operation(
        operation_id="events_list",
        method="GET",
        path="/events/",
        summary="List events (keyset-paginated on timestamp)",
        description="Spec §7. Effectively deprecated, still served. next carries before/after = the "
        "last returned timestamp and every other parameter; no count/previous.",
        scope="query:read",
        documented=True,
        path_params={},
        query_params=_EVENTS_LIST_PARAMS,
        request_body=None,
        success_status=200,
        success_shape="event-list-page",
        error_statuses=_READ_400,
        tags=("events",),
        success_media_types=("application/json", "text/csv"),
    ),
    Operation(
        operation_id="events_retrieve",
        method="GET",
        path="/events/{id}/",
        summary="Retrieve one event by UUID",
        description="Spec §8. A non-UUID id answers 400 without attr (envelope exception); an absent "
        "one 404 'No events exist for event UUID <id>'.",
        scope="query:read",
        documented=True,
        not_applicable={"pagination": _ONE_OBJECT},
        path_params={"id": _EVENT_ID},
        query_params=(Param("include_person", {"type": "boolean"}, "true/1 fills `person`; otherwise it is null."),),
        request_body=None,
        success_status=200,
        success_shape="event",
        error_statuses=_READ_400,
        tags=("events",),
        error_alternatives={400: ("event-invalid-uuid-error",)},
    ),
    # §0.2 supporting operations ------------------------------------------------------------------
    Operation(
        operation_id="dashboards_list",
        method="GET",
        path="/dashboards/",
        summary="List dashboards (limit/offset; no tiles in items)",
        description="Spec §2.2. Pinned first, then by name; soft-deleted and unlisted ones excluded.",
        scope="dashboard:read",
        documented=False,
        path_params={},
        query_params=(
            *_LIMIT_OFFSET,
            Param("search", {"type": "string", "maxLength": 200}, "Name search (> 200 chars -> 400)."),
        ),
        request_body=None,
        success_status=200,
        success_shape="dashboard-list-page",
        error_statuses=_READ_400,
        tags=("dashboards",),
    ),
    Operation(
        operation_id="dashboards_create",
        method="POST",
        path="/dashboards/",
        summary="Create a dashboard (201)",
        description="Spec §2.3. Nothing is required; use_template / use_dashboard create from a template or duplicate.",
        scope="dashboard:write",
        documented=False,
        path_params={},
        query_params=(),
        request_body="dashboard-write-body",
        success_status=201,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        links=_DASHBOARD_LINKS,
        read_back="dashboards_retrieve",
    ),
    Operation(
        operation_id="dashboards_update",
        method="PUT",
        path="/dashboards/{id}/",
        summary="Replace a dashboard (behaves like PATCH)",
        description="Spec §0.2, §2.5: PUT = PATCH; implemented, not needed by the suite.",
        scope="dashboard:write",
        documented=False,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body="dashboard-write-body",
        success_status=200,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        read_back="dashboards_retrieve",
    ),
    Operation(
        operation_id="dashboards_move_tile_create",
        method="POST",
        path="/dashboards/{id}/move_tile/",
        summary="Move a tile (POST form of move_tile)",
        description="Spec §5: newer releases and the reference accept POST as well as PATCH.",
        scope="dashboard:write",
        documented=False,
        path_params=_DASHBOARD_PATH,
        query_params=(),
        request_body="move-tile-body",
        success_status=200,
        success_shape="dashboard",
        error_statuses=_WRITE,
        tags=("dashboards",),
        read_back="dashboards_retrieve",
        effect=_MOVE_EFFECT,
    ),
    Operation(
        operation_id="dashboards_sharing_partial_update",
        method="PATCH",
        path="/dashboards/{dashboard_id}/sharing/",
        summary="Enable/disable sharing, change its settings",
        description="Spec §3. The first PATCH stores the configuration; dashboard is_shared follows "
        "enabled. password_required without the feature -> 403 {error} (envelope exception).",
        scope="sharing_configuration:write",
        documented=False,
        path_params=_NESTED_DASHBOARD_PATH,
        query_params=(),
        request_body="sharing-write-body",
        success_status=200,
        success_shape="sharing-configuration",
        error_statuses=_WRITE,
        tags=("sharing",),
        error_alternatives={403: ("sharing-password-error",)},
        read_back="dashboards_sharing_list",
    ),
    Operation(
        operation_id="dashboards_sharing_refresh_create",
        method="POST",
        path="/dashboards/{dashboard_id}/sharing/refresh/",
        summary="Issue a new sharing configuration and access token",
        description="Spec §3: new access_token and created_at, other settings copied.",
        scope="sharing_configuration:write",
        documented=False,
        path_params=_NESTED_DASHBOARD_PATH,
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="sharing-configuration",
        error_statuses=_READ,
        tags=("sharing",),
        read_back="dashboards_sharing_list",
        effect={"sharing.access_token": "changes", "sharing.created_at": "changes"},  # contract §3
    ),
    Operation(
        operation_id="dashboards_collaborators_list",
        method="GET",
        path="/dashboards/{dashboard_id}/collaborators/",
        summary="List a dashboard's collaborators (plain array)",
        description="Spec §4.1: unpaginated, unordered. EE-only route (404 on builds without it).",
        scope="dashboard:read",
        documented=False,
        path_params=_NESTED_DASHBOARD_PATH,
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="collaborator-list",
        error_statuses=_READ,
        tags=("collaborators",),
    ),
    Operation(
        operation_id="dashboards_collaborators_create",
        method="POST",
        path="/dashboards/{dashboard_id}/collaborators/",
        summary="Add a dashboard collaborator (201)",
        description="Spec §4.1: needs effective restriction level 37 (PostHog's paid access-control "
        "feature); the nine checks of the spec's table answer 404/403/400.",
        scope="dashboard:write",
        documented=False,
        path_params=_NESTED_DASHBOARD_PATH,
        query_params=(),
        request_body="collaborator-create-body",
        success_status=201,
        success_shape="collaborator",
        error_statuses=_WRITE,
        tags=("collaborators",),
        links=(
            Link(
                "RemoveCollaborator",
                "dashboards_collaborators_destroy",
                {
                    "project_id": "$request.path.project_id",
                    "dashboard_id": "$request.path.dashboard_id",
                    "user_uuid": "$response.body#/user/uuid",
                },
                "Remove the collaborator just added.",
            ),
        ),
        read_back="dashboards_collaborators_list",
        effect={"collaborators[user]": "added"},  # contract §4.1
    ),
    Operation(
        operation_id="projects_list",
        method="GET",
        path="/api/projects/",
        summary="List the projects the key can access (project discovery)",
        description="Spec §0.4: limit/offset pagination; items carry id, uuid, organization, name, "
        "api_token, timezone.",
        scope="project:read",
        documented=False,
        path_params={},
        query_params=_LIMIT_OFFSET,
        request_body=None,
        success_status=200,
        success_shape="project-list-page",
        error_statuses=_GLOBAL_READ,
        tags=("projects",),
        prefixed=False,
    ),
    Operation(
        operation_id="users_me_retrieve",
        method="GET",
        path="/api/users/@me/",
        summary="The key owner (minimal shape)",
        description="Spec §4.3: uuid and email required; used to find a collaborator who is not the owner.",
        scope="user:read",
        documented=False,
        path_params={},
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="current-user",
        error_statuses=_GLOBAL_READ,
        tags=("users",),
        prefixed=False,
    ),
    Operation(
        operation_id="organizations_members_list",
        method="GET",
        path="/api/organizations/@current/members/",
        summary="Members of the key owner's current organisation (minimal shape)",
        description="Spec §4.3: a page or a bare array; items carry user and level.",
        scope="organization_member:read",
        documented=False,
        path_params={},
        query_params=(),
        request_body=None,
        success_status=200,
        success_shape="organization-member-list",
        error_statuses=_GLOBAL_READ,
        tags=("organizations",),
        prefixed=False,
    ),
    *(
        Operation(
            operation_id=operation_id,
            method="POST",
            path=path,
            summary=f"Capture events via {path} (capture host)",
            description="Spec §9: authenticated by the project API key in the body, never by a "
            "personal key; every capture path accepts every body form; errors use the capture "
            "format, not the REST envelope. Events become listable asynchronously.",
            scope=None,
            documented=False,
            path_params={},
            query_params=(),
            request_body="capture-request",
            success_status=200,
            success_shape="capture-response",
            error_statuses=_CAPTURE,
            tags=("capture",),
            prefixed=False,
            error_shape="capture-error",
        )
        for operation_id, path in (
            ("capture_batch", "/batch/"),
            ("capture_capture", "/capture/"),
            ("capture_i_v0_e", "/i/v0/e/"),
            ("capture_e", "/e/"),
        )
    ),
)

_BY_ID: Mapping[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def by_id(operation_id: str) -> Operation:
    """The catalogue entry with this operation id (KeyError names the id)."""
    return _BY_ID[operation_id]


def documented_operations() -> tuple[Operation, ...]:
    """The §0.1 operations: those PostHog documents."""
    return tuple(op for op in OPERATIONS if op.documented)
