"""Dashboards (contract §2), ``move_tile`` (§5) and ``create_from_template_json`` (§6).

PostHog source: ``products/dashboards/backend/api/dashboard.py`` (``DashboardSerializer``,
``DashboardsViewSet``). The order of checks follows §1.5: auth and scope, then the body's parse
errors where PostHog reads the body first (PATCH: the lookup depends on ``deleted``), the object
404, the object 403, field validation (first error in DRF's field order), business rules. Every
write happens in one transaction, so a refused request leaves nothing behind.
"""

from __future__ import annotations

import copy
import functools
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import DASHBOARD_READ, DASHBOARD_WRITE, Ctx, authorize
from .bodies import form_values, is_form, read_data
from .dashboard_access import (
    EVERYONE_CAN_EDIT,
    RESTRICTION_LEVELS,
    access,
    boolean_field,
    char_field,
    choice_field,
    dashboard_json,
    datetime_field,
    dict_field,
    find_dashboard,
    integer_field,
    invalid,
    json_text,
    list_field,
    load_dashboard,
    not_allowed,
    null_error,
    object_id,
    reject_surrogates,
    require_edit,
    str_to_bool,
    uuid_field,
)
from .errors import empty_response, json_response
from .pages import page, window
from .plan import has as plan_has
from .plan import move_tile_key as plan_move_tile_key
from .routing import Route
from .storage import loads
from .timeutil import iso_z, now

#: the derived per-field checks of every write (tests/test_writes.py); a killer names one of its items
_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
_EFFECTS = "tests/test_writes.py::test_write_changes_only_what_the_contract_says"

DELETE_RETURNS_204 = mutants.declare(
    "dashboard_delete_returns_204", "DELETE answers 405 with an empty body and keeps the dashboard (§2.8)"
)
DELETE_HAS_BODY = mutants.declare(
    "dashboard_delete_has_body", "the dashboard DELETE 405 has an empty body (§1.2, §2.8)"
)
PATCH_NOT_STORED = mutants.declare(
    "patch_not_stored", "PATCH stores name, description, pinned and tags, not only echoes them (§2.5)"
)
SOFT_DELETE_IGNORED = mutants.declare(
    "soft_delete_ignored", "PATCH deleted:true hides the dashboard from retrieve and list (§2.8)"
)
UNDELETE_REFUSED = mutants.declare(
    "undelete_refused", "PATCH with a falsy deleted restores a soft-deleted dashboard (§2.8)"
)
DELETED_LISTED = mutants.declare("deleted_listed", "soft-deleted dashboards are excluded from the list (§2.2)")
UNKNOWN_500 = mutants.declare("unknown_dashboard_500", "an unknown dashboard id is 404 \"Not found.\" (§2.4)")
BAD_RESTRICTION_ACCEPTED = mutants.declare(
    "invalid_restriction_level_accepted", "restriction_level other than 21/37 is 400 invalid_choice (§2.3)"
)
CREATION_MODE_WRITABLE = mutants.declare(
    "creation_mode_writable", "creation_mode is read-only: PATCH ignores it (§2.5)"
)
TAGS_NOT_STORED = mutants.declare("tags_not_stored", "tags sent on create or PATCH are stored and returned (§2.1)")
TILE_NOT_MOVED = mutants.declare("tile_not_moved", "move_tile moves the tile to the destination (§5)")
MOVE_UNKNOWN_TILE_200 = mutants.declare(
    "move_tile_unknown_tile_200", "move_tile with a tile not on the source is 404 (§5)"
)
MOVE_MISSING_FIELD_500 = mutants.declare(
    "move_tile_missing_field_500", "move_tile without to_dashboard is 400 required, never a 5xx (§1.7, §5)"
)
TEMPLATE_201 = mutants.declare("template_returns_201", "create_from_template_json answers 200, not 201 (§6)")
TEMPLATE_NO_NAME_ACCEPTED = mutants.declare(
    "template_missing_name_accepted", "a template without template_name is 400 (§6)"
)
TEMPLATE_NO_TILES_ACCEPTED = mutants.declare(
    "template_empty_tiles_accepted", "a template with an empty tiles array is 400 (§6)"
)
ENVELOPE_MISSING_ATTR = mutants.declare(
    "error_envelope_missing_attr", "every 400 validation body carries type, code, detail and attr (§1.2)"
)
WRONG_CONTENT_TYPE = mutants.declare(
    "dashboard_wrong_content_type", "dashboard bodies are served as application/json (§1.2)"
)
TEMPLATE_EMPTY_200_NOTHING = mutants.declare(
    "template_empty_200_creates_nothing", "create_from_template_json creates the dashboard it answers for (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)
TEMPLATE_NAME_IGNORED = mutants.declare(
    "template_name_ignored", "the template's dashboard is named after template_name (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)
TEMPLATE_DESCRIPTION_IGNORED = mutants.declare(
    "template_description_ignored", "the template's dashboard description is dashboard_description (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)
TEMPLATE_TILES_DROPPED = mutants.declare(
    "template_tiles_dropped", "create_from_template_json makes one tile per template tile (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)
TEMPLATE_NOT_KEPT = mutants.declare(
    "template_dashboard_not_kept", "the dashboard create_from_template_json answers with is stored (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)
ANONYMOUS_EMPTY_200 = mutants.declare(
    "anonymous_move_tile_and_template_empty_200",
    "move_tile and create_from_template_json without credentials are 401, not an empty 200 (§1.3)",
    killed_by=(
        "tests/test_writes.py::test_every_operation_refuses_a_request_without_a_key",
        "tests/test_property_based.py::test_write_operations_conform",
    ),
)
CREATED_PINNED = mutants.declare(
    "create_default_pinned", "a new dashboard has the documented defaults: pinned false (§2.3)",
    killed_by=("tests/test_dashboards.py::test_create_returns_201_with_documented_defaults",),
)
NAME_UNBOUNDED = mutants.declare(
    "name_max_length_unchecked", "a name over 400 characters is 400 max_length (§2.3)",
    killed_by=(
        "tests/test_dashboards.py::test_name_over_400_characters_is_400_max_length",
        "tests/test_property_based.py",
    ),
)
FORM_IGNORED = mutants.declare(
    "form_data_ignored", "PATCH accepts form-urlencoded bodies (§1.1)",
    killed_by=("tests/test_dashboards.py::test_patch_accepts_form_data",),
)
PARSE_ERROR_RENAMED = mutants.declare(
    "malformed_json_is_invalid_input", "malformed JSON is a 400 invalid_request parse_error (§1.1, §1.2)",
    killed_by=("tests/test_dashboards.py::test_malformed_json_is_400_parse_error",),
)
ENVIRONMENTS_DIFFER = mutants.declare(
    "environments_prefix_serves_other_data", "both prefixes reach the same dashboard data (§1.1)",
    killed_by=("tests/test_dashboards.py::test_both_prefixes_serve_the_same_dashboard", "tests/test_stateful.py"),
)
PATCH_DELETED_SERVED = mutants.declare(
    "patch_of_soft_deleted_dashboard_200", "PATCH of a soft-deleted dashboard without a falsy deleted is 404 (§2.8)",
    killed_by=("tests/test_dashboard_lifecycle.py::test_patch_of_soft_deleted_dashboard_without_undelete_is_404",
               "tests/test_stateful.py"),
)
PINNED_LAST = mutants.declare(
    "pinned_dashboards_listed_last", "the dashboards list shows pinned dashboards first (§2.2)",
    killed_by=(
        "tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list_in_order",
        "tests/test_property_based.py",
        "tests/test_stateful.py",
    ),
)
MOVE_POST_REFUSED = mutants.declare(
    "move_tile_post_refused", "move_tile accepts POST as well as PATCH (§5)",
    killed_by=("tests/test_move_tile.py::test_move_tile_accepts_post_and_legacy_key", "tests/test_property_based.py"),
)
MOVE_UNKNOWN_DESTINATION_200 = mutants.declare(
    "move_tile_unknown_destination_200", "move_tile to an unknown dashboard is 404 (§5)",
    killed_by=("tests/test_move_tile.py::test_move_tile_to_an_unknown_dashboard_is_404",),
)
MOVE_MISSING_TILE_500 = mutants.declare(
    "move_tile_missing_tile_500", "move_tile without `tile` is 400 required, never a 5xx (§1.7, §5)",
    killed_by=("tests/test_move_tile.py::test_move_tile_without_a_required_key_is_400", "tests/test_property_based.py"),
)
RESTRICTION_PATCH_IGNORED = mutants.declare(
    "restriction_level_patch_ignored", "a valid restriction_level PATCH is stored (§2.5, §2.7, §4.2)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-restriction_level]",
               f"{_FIELDS}[dashboards_update-restriction_level]"),
)
PINNED_GARBAGE_ACCEPTED = mutants.declare(
    "pinned_garbage_accepted",
    "a pinned DRF's BooleanField cannot read (e.g. \"sometimes\") is a 400 invalid_input on `pinned` (§2.3)",
    killed_by=("tests/test_dashboards.py::test_non_boolean_pinned_is_400", "tests/test_property_based.py"),
)

# issue 23: a write judged on every field it stores, flows on the whole state, lists on every key
_FLOWS = "tests/test_flows.py"
FILTERS_ECHOED = mutants.declare(
    "dashboard_filters_echoed_not_stored", "PATCH/PUT store `filters`, not only answer them (§2.5, §2.9)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-filters]", f"{_FIELDS}[dashboards_update-filters]"),
)
VARIABLES_NOT_STORED = mutants.declare(
    "dashboard_variables_not_stored", "PATCH/PUT store `variables` (read back as persisted_variables, §2.5, §2.9)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-variables]", f"{_FIELDS}[dashboards_update-variables]"),
)
COLORS_ECHOED = mutants.declare(
    "dashboard_breakdown_colors_echoed_not_stored", "PATCH/PUT store `breakdown_colors` (§2.1, §2.5)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-breakdown_colors]",
               f"{_FIELDS}[dashboards_update-breakdown_colors]"),
)
LAST_REFRESH_ECHOED = mutants.declare(
    "dashboard_last_refresh_echoed_not_stored", "PATCH/PUT store `last_refresh` (§2.1, §2.5)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-last_refresh]", f"{_FIELDS}[dashboards_update-last_refresh]"),
)
LAST_ACCESSED_ECHOED = mutants.declare(
    "dashboard_last_accessed_at_echoed_not_stored",
    "PATCH/PUT store `last_accessed_at` (the list shows it; a retrieve sets it to now, §2.1, §2.9)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-last_accessed_at]",
               f"{_FIELDS}[dashboards_update-last_accessed_at]"),
)
CREATE_DROPS_FILTERS = mutants.declare(
    "dashboard_create_drops_filters", "create stores the `filters` it is sent (§2.3)",
    killed_by=(f"{_FIELDS}[dashboards_create-filters]",),
)
PUT_STORES_NOTHING = mutants.declare(
    "dashboard_put_stores_nothing", "PUT behaves like PATCH: it stores what it answers (§2.5)",
    killed_by=(f"{_FIELDS}[dashboards_update-",),
)
TILE_DISPLAY_DROPPED = mutants.declare(
    "tile_payload_display_dropped", "a new text tile keeps the colour and layout of its payload (§2.6)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-tiles]", f"{_FIELDS}[dashboards_update-tiles]"),
)
UNDELETE_LEAVES_TILES = mutants.declare(
    "undelete_leaves_tiles_deleted", "an undelete brings the dashboard's tiles back (§2.8)",
    killed_by=(f"{_FLOWS}::test_soft_delete_then_undelete_restores_every_part",),
)
SOFT_DELETE_UNSHARES = mutants.declare(
    "soft_delete_disables_sharing", "soft delete and undelete leave the sharing configuration as it was (§2.8, §3)",
    killed_by=(f"{_FLOWS}::test_soft_delete_then_undelete_restores_every_part",),
)
MOVE_RESETS_TILE = mutants.declare(
    "move_tile_resets_tile_display", "a moved tile keeps its colour and layout (§5: only its dashboard changes)",
    killed_by=(_EFFECTS,),
)
MOVE_EVERY_TILE = mutants.declare(
    "move_tile_moves_every_tile", "move_tile moves the one tile it names; the source keeps the others (§5)",
    killed_by=(_EFFECTS,),
)
DELETE_UNSHARES = mutants.declare(
    "dashboard_delete_405_disables_sharing", "the refused DELETE changes nothing: sharing stays as it was (§2.8)",
    killed_by=(f"{_EFFECTS}[dashboards_destroy]",),
)
TEMPLATE_FILTERS_DROPPED = mutants.declare(
    "template_filters_dropped", "the template's dashboard carries dashboard_filters (§6)",
    killed_by=(f"{_FIELDS}[dashboards_create_from_template_json_create-template.dashboard_filters]",),
)
TEMPLATE_RESTRICTED = mutants.declare(
    "template_dashboard_restricted", "a template's dashboard has the create defaults, restriction level 21 (§2.3, §6)",
    killed_by=(f"{_FLOWS}::test_template_creation_adds_one_dashboard_with_the_documented_defaults",),
)
ORDER_IGNORES_NAME = mutants.declare(
    "dashboards_order_ignores_name", "the dashboards list is ordered by pinned, then by name (§2.2)",
    killed_by=("tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list_in_order",),
)

NAME_MAX_LENGTH = 400
TAG_MAX_LENGTH = 255
SEARCH_MAX_LENGTH = 200
INT32 = 2**31 - 1
FILTERS_NOT_DICT = "Filters must be a dictionary"

Handler = Callable[[Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Handler:
    """Marks a dashboards handler; home of the envelope mutant that drops ``attr`` from 400s."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except errors.ApiError as exc:
            if exc.status == 400 and exc.type == "validation_error" and mutants.active(ENVELOPE_MISSING_ATTR):
                body = exc.body()
                del body["attr"]
                raise errors.RawResponse(json_response(body, 400)) from None
            raise

    return wrapped


def detail_response(ctx: Ctx, dashboard_id: int, status: int = 200) -> Response:
    row = ctx.db.one("SELECT * FROM dashboards WHERE id = ?", (dashboard_id,))
    response = json_response(dashboard_json(ctx, row, detail=True), status)
    if mutants.active(WRONG_CONTENT_TYPE):
        response.headers["content-type"] = "text/plain; charset=utf-8"
    return response


def _lookup(ctx: Ctx, raw_id: Any, *, include_deleted: bool = False) -> sqlite3.Row:
    if mutants.active(UNKNOWN_500) and find_dashboard(ctx.db, ctx.project_id, raw_id) is None:
        raise errors.server_error()
    return load_dashboard(ctx, raw_id, include_deleted=include_deleted)


# --- field validation (§2.3, §2.5) -----------------------------------------------------------------------

#: DRF validates writable fields in the serializer's field order and PostHog reports the first error
FIELD_ORDER = (
    "name",
    "description",
    "pinned",
    "last_accessed_at",
    "deleted",
    "breakdown_colors",
    "data_color_theme_id",
    "tags",
    "restriction_level",
    "last_refresh",
    "quick_filter_ids",
    "use_template",
    "use_dashboard",
    "delete_insights",
    "_create_in_folder",
)


def tagify(tags: list[Any]) -> list[str]:
    """PostHog's ``tagify`` (strip, lower-case) and de-duplication; first occurrence keeps its place."""
    out: list[str] = []
    for index, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise invalid("Not a valid string.", f"tags__{index}")
        name = tag.strip().lower()
        if len(name) > TAG_MAX_LENGTH:
            raise invalid(f"Ensure this field has no more than {TAG_MAX_LENGTH} characters.", f"tags__{index}",
                          "max_length")
        if name not in out:
            out.append(name)
    return out


def validate_fields(data: dict[str, Any], form_tags: list[str] | None, *, form: bool = False) -> dict[str, Any]:
    """The writable fields present in ``data``, converted as DRF would; the first error raises.
    ``form``: the body was a form (blank datetimes read as null)."""
    out: dict[str, Any] = {}
    for key in FIELD_ORDER:
        if key not in data:
            continue
        value = data[key]
        if key == "name":
            bound = 10**9 if mutants.active(NAME_UNBOUNDED) else NAME_MAX_LENGTH
            out[key] = char_field(value, key, max_length=bound, allow_null=True)
        elif key in ("description", "use_template", "_create_in_folder"):
            out[key] = char_field(value, key)
        elif key == "pinned" and mutants.active(PINNED_GARBAGE_ACCEPTED):
            out[key] = str_to_bool(value)  # any value, read as posthog.utils.str_to_bool would
        elif key in ("pinned", "deleted", "delete_insights"):
            out[key] = boolean_field(value, key)
        elif key in ("last_accessed_at", "last_refresh"):
            out[key] = datetime_field(value, key, form=form)
        elif key == "breakdown_colors":
            if value is None:
                raise null_error(key)
            out[key] = value
        elif key == "data_color_theme_id":
            out[key] = integer_field(value, key, allow_null=True, min_value=-INT32 - 1, max_value=INT32)
        elif key == "tags":
            tags = list_field(form_tags if form_tags is not None else value, key)
            assert tags is not None
            out[key] = tagify(tags)
        elif key == "restriction_level":
            if mutants.active(BAD_RESTRICTION_ACCEPTED):
                out[key] = integer_field(value, key, min_value=0, max_value=INT32)
            else:
                out[key] = choice_field(value, key, RESTRICTION_LEVELS)
        elif key == "quick_filter_ids":
            ids = list_field(value, key, allow_null=True) or []
            normalized = []
            for item in ids:
                if not isinstance(item, str):
                    raise invalid("Not a valid string.", key)
                try:
                    normalized.append(uuid_field(item, key))
                except errors.ApiError:
                    raise invalid(f"Invalid UUID: {item}", key) from None
            out[key] = normalized
        elif key == "use_dashboard":
            out[key] = integer_field(value, key, allow_null=True)
    if out.get("use_dashboard") and out.get("use_template"):
        raise invalid("`use_dashboard` and `use_template` cannot be used together", None)
    return out


def json_object_input(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``filters``/``variables`` come from the raw body: truthy non-objects are refused, empty ones ignored."""
    value = data.get(key)
    if not value:
        return None
    if not isinstance(value, dict):
        raise invalid(FILTERS_NOT_DICT, None)
    return value


async def body_and_tags(request: Request) -> tuple[dict[str, Any], list[str] | None]:
    try:
        data = await read_data(request)
    except errors.ApiError as exc:
        if exc.code == "parse_error" and mutants.active(PARSE_ERROR_RENAMED):
            raise errors.validation_error("JSON parse error") from None
        raise
    if mutants.active(FORM_IGNORED) and "form" in request.headers.get("content-type", ""):
        data = {}
    reject_surrogates(data)
    form_tags = await form_values(request, "tags") if "tags" in data else None
    return data, form_tags


# --- templates (§2.3 use_template, §6) -------------------------------------------------------------------

_LAYOUT = {"sm": {"h": 5, "w": 6, "x": 0, "y": 0, "minH": 5, "minW": 3}, "xs": {"h": 5, "w": 1, "x": 0, "y": 0}}


def _at(x: int, y: int) -> dict[str, Any]:
    return {"sm": {**_LAYOUT["sm"], "x": x, "y": y}, "xs": {**_LAYOUT["xs"], "y": y}}


#: the reference's one built-in template (PostHog's ``DEFAULT_APP``: the original "Product analytics")
DEFAULT_APP: dict[str, Any] = {
    "template_name": "Product analytics",
    "dashboard_description": "",
    "dashboard_filters": {},
    "tags": [],
    "tiles": [
        {
            "type": "INSIGHT",
            "name": "Daily active users (DAUs)",
            "description": "Shows the number of unique users that use your app every day.",
            "query": {
                "kind": "InsightVizNode",
                "source": {
                    "kind": "TrendsQuery",
                    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}],
                    "interval": "day",
                    "dateRange": {"date_from": "-30d"},
                },
            },
            "layouts": _at(0, 0),
            "color": "blue",
        },
        {
            "type": "INSIGHT",
            "name": "Weekly active users (WAUs)",
            "description": "Shows the number of unique users that use your app every week.",
            "query": {
                "kind": "InsightVizNode",
                "source": {
                    "kind": "TrendsQuery",
                    "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}],
                    "interval": "week",
                    "dateRange": {"date_from": "-90d"},
                },
            },
            "layouts": _at(6, 0),
            "color": "green",
        },
        {
            "type": "TEXT",
            "body": "Add insights to this dashboard to track what matters to your product.",
            "layouts": _at(0, 5),
        },
    ],
}
TEMPLATES = {"DEFAULT_APP": DEFAULT_APP}

#: PostHog's ``dashboard_template_schema.json``, plus the reference's tile shape so that a malformed
#: tile is a 400 rather than PostHog's 500 (§1.7)
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["template_name", "dashboard_description", "dashboard_filters", "tiles"],
    "properties": {
        "id": {"type": "string"},
        "template_name": {"type": "string"},
        "team_id": {"type": ["number", "null"]},
        "created_at": {"type": "string"},
        "image_url": {"type": ["string", "null"]},
        "dashboard_description": {"type": "string"},
        "dashboard_filters": {"type": "object"},
        "tiles": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"type": "string"},
                    "name": {"type": ["string", "null"]},
                    "description": {"type": ["string", "null"]},
                    "body": {"type": ["string", "null"], "maxLength": 4000},
                    "filters": {"type": ["object", "null"]},
                    "query": {"type": ["object", "null"]},
                    "layouts": {"type": ["object", "null"]},
                    "color": {"type": ["string", "null"]},
                },
            },
        },
        "variables": {
            "anyOf": [
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "name", "type", "default", "description", "required"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "type": {"enum": ["event"]},
                            "default": {"type": "object"},
                            "description": {"type": "string"},
                            "required": {"type": "boolean"},
                        },
                    },
                },
                {"type": "null"},
            ]
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def _template_validator() -> Draft202012Validator:
    schema = copy.deepcopy(TEMPLATE_SCHEMA)
    if mutants.active(TEMPLATE_NO_NAME_ACCEPTED):
        schema["required"].remove("template_name")
    if mutants.active(TEMPLATE_NO_TILES_ACCEPTED):
        del schema["properties"]["tiles"]["minItems"]
    return Draft202012Validator(schema)


def apply_template(ctx: Ctx, conn: sqlite3.Connection, dashboard_id: int, template: dict[str, Any]) -> None:
    """PostHog's ``create_from_template``: name (when unset), description, filters, tags, one tile per tile."""
    stamp = iso_z(now())
    current = conn.execute("SELECT name, tags FROM dashboards WHERE id = ?", (dashboard_id,)).fetchone()
    name = current["name"] or template.get("template_name")
    tags = loads(current["tags"]) or []
    for tag in template.get("tags") or []:
        if tag not in tags:
            tags.append(tag)
    conn.execute(
        "UPDATE dashboards SET name = ?, description = ?, filters = ?, tags = ? WHERE id = ?",
        (name, template.get("dashboard_description") or "", json_text(template.get("dashboard_filters") or {}),
         json_text(tags), dashboard_id),
    )
    for tile in template.get("tiles") or []:
        layouts = json_text(tile.get("layouts") or {})
        if tile.get("type") == "INSIGHT":
            query = tile.get("query")
            filters = {} if query else (tile.get("filters") or {})
            insight_id = conn.execute(
                "INSERT INTO insights (project_id, name, description, filters, query, created_at) VALUES (?,?,?,?,?,?)",
                (ctx.project_id, tile.get("name"), tile.get("description") or "", json_text(filters), json_text(query),
                 stamp),
            ).lastrowid
            conn.execute(
                "INSERT INTO tiles (dashboard_id, insight_id, layouts, color) VALUES (?,?,?,?)",
                (dashboard_id, insight_id, layouts, tile.get("color")),
            )
        elif tile.get("type") == "TEXT":
            text_id = conn.execute(
                "INSERT INTO texts (project_id, body, created_at, created_by) VALUES (?,?,?,?)",
                (ctx.project_id, tile.get("body"), stamp, ctx.user["id"]),
            ).lastrowid
            conn.execute(
                "INSERT INTO tiles (dashboard_id, text_id, layouts, color) VALUES (?,?,?,?)",
                (dashboard_id, text_id, layouts, tile.get("color")),
            )
        # other tile types: PostHog logs and skips them


def copy_tile(ctx: Ctx, conn: sqlite3.Connection, tile: sqlite3.Row, target_id: int, *, deep: bool,
              layouts: str | None = None) -> None:
    """One tile onto ``target_id``; a shallow copy shares the insight or text, a deep one copies it and
    appends " (Copy)" to the insight's name (PostHog: ``DashboardSerializer._deep_duplicate_tiles``)."""
    stamp = iso_z(now())
    insight_id, text_id = tile["insight_id"], tile["text_id"]
    if deep and insight_id is not None:
        insight = conn.execute("SELECT * FROM insights WHERE id = ?", (insight_id,)).fetchone()
        insight_id = conn.execute(
            "INSERT INTO insights (project_id, name, description, filters, query, created_at) VALUES (?,?,?,?,?,?)",
            (ctx.project_id, f"{insight['name']} (Copy)" if insight["name"] else None, insight["description"],
             insight["filters"], insight["query"], stamp),
        ).lastrowid
    elif deep and text_id is not None:
        text = conn.execute("SELECT * FROM texts WHERE id = ?", (text_id,)).fetchone()
        text_id = conn.execute(
            "INSERT INTO texts (project_id, body, created_at, created_by) VALUES (?,?,?,?)",
            (ctx.project_id, text["body"], stamp, ctx.user["id"]),
        ).lastrowid
    conn.execute(
        "INSERT INTO tiles (dashboard_id, insight_id, text_id, layouts, color, show_description,"
        " transparent_background) VALUES (?,?,?,?,?,?,?)",
        (target_id, insight_id, text_id, tile["layouts"] if layouts is None else layouts, tile["color"],
         tile["show_description"], tile["transparent_background"]),
    )


def duplicate_tiles(ctx: Ctx, conn: sqlite3.Connection, source_id: int, target_id: int, *, deep: bool) -> None:
    """Copy the source's non-deleted tiles; shallow copies share insights and texts (§2.3)."""
    tiles = conn.execute("SELECT * FROM tiles WHERE dashboard_id = ? AND deleted = 0 ORDER BY id", (source_id,))
    for tile in tiles.fetchall():
        copy_tile(ctx, conn, tile, target_id, deep=deep)


# --- list, create, retrieve ------------------------------------------------------------------------------


@endpoint
async def list_dashboards(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_READ)
    query = request.query_params
    search = query.get("search")
    if search is not None and len(search) > SEARCH_MAX_LENGTH:
        raise invalid(f"Ensure this field has no more than {SEARCH_MAX_LENGTH} characters.", "search", "max_length")
    sql, params = "SELECT * FROM dashboards WHERE project_id = ?", [ctx.project_id]
    if not mutants.active(DELETED_LISTED):
        sql += " AND deleted = 0"
    if query.get("creation_mode"):
        sql += " AND creation_mode = ?"
        params.append(query["creation_mode"])
    else:
        sql += " AND creation_mode != 'unlisted'"
    pinned_order = "ASC" if mutants.active(PINNED_LAST) else "DESC"
    by_name = "" if mutants.active(ORDER_IGNORES_NAME) else "name IS NULL, name, "
    rows = ctx.db.all(sql + f" ORDER BY pinned {pinned_order}, {by_name}id", params)
    tags = [t for t in query.getlist("tags") if t]
    if tags:
        rows = [r for r in rows if set(loads(r["tags"]) or []) & set(tags)]
    match_type: dict[int, str] = {}
    if search:
        needle = search.lower()
        rows = [r for r in rows if needle in (r["name"] or "").lower() or needle in r["description"].lower()]
        rows.sort(key=lambda r: (r["name"] or "").lower() != needle)  # stable: exact names first
        match_type = {r["id"]: "exact" for r in rows}
    win = window(request)
    items = []
    for row in rows[win.offset : win.offset + win.limit]:
        item = dashboard_json(ctx, row, detail=False)
        if search:
            item["search_match_type"] = match_type[row["id"]]
        items.append(item)
    return json_response(page(request, items, len(rows), win))


@endpoint
async def create_dashboard(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_WRITE)
    data, form_tags = await body_and_tags(request)
    values = validate_fields(data, form_tags, form=is_form(request))
    use_template = values.pop("use_template", None)
    use_dashboard = values.pop("use_dashboard", None)
    source = None
    if use_dashboard:
        source = find_dashboard(ctx.db, ctx.project_id, use_dashboard)
        if source is None:
            raise invalid("Invalid value provided", "use_dashboard")
    filters = json_object_input(data, "filters")
    json_object_input(data, "variables")  # refused when truthy and no object (§2.3), never stored:
    # `variables` is a SerializerMethodField that PostHog's DashboardSerializer.create never reads
    if use_template and use_template not in TEMPLATES:
        raise invalid(f"Invalid template provided: {use_template}", "use_template")

    creation_mode = "template" if use_template else "duplicate" if use_dashboard else "default"
    if mutants.active(CREATE_DROPS_FILTERS):
        filters = None
    if filters is None:
        filters = (loads(source["filters"]) or {}) if source is not None else {}
    copied: dict[str, Any] = {}
    if source is not None:  # PostHog copies these when the original has a truthy value
        for column in ("variables", "breakdown_colors", "quick_filter_ids"):
            if loads(source[column]):
                copied[column] = source[column]
        if source["data_color_theme_id"]:
            copied["data_color_theme_id"] = source["data_color_theme_id"]
    tags = values.get("tags")
    if mutants.active(TAGS_NOT_STORED) or not plan_has("tagging"):  # tagged_item.py: ignored without the feature
        tags = None
    with ctx.db.write() as conn:
        dashboard_id = conn.execute(
            "INSERT INTO dashboards (project_id, name, description, pinned, created_at, created_by, last_accessed_at,"
            " last_refresh, deleted, creation_mode, filters, variables, breakdown_colors, data_color_theme_id, tags,"
            " restriction_level, quick_filter_ids) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                ctx.project_id,
                values.get("name"),
                values.get("description", ""),
                int(bool(values.get("pinned", mutants.active(CREATED_PINNED)))),
                iso_z(now()),
                ctx.user["id"],
                values.get("last_accessed_at"),
                values.get("last_refresh"),
                int(bool(values.get("deleted"))),
                creation_mode,
                json_text(filters),
                copied.get("variables"),
                copied.get("breakdown_colors", json_text(values.get("breakdown_colors"))),
                copied.get("data_color_theme_id", values.get("data_color_theme_id")),
                json_text([]),
                values.get("restriction_level", EVERYONE_CAN_EDIT),
                copied.get("quick_filter_ids", json_text(values.get("quick_filter_ids") or None)),
            ),
        ).lastrowid
        assert dashboard_id is not None
        if use_template:
            apply_template(ctx, conn, dashboard_id, TEMPLATES[use_template])
        elif source is not None:
            deep = data.get("duplicate_tiles", False)
            duplicate_tiles(ctx, conn, source["id"], dashboard_id, deep=str_to_bool(deep) if isinstance(deep, str)
                            else bool(deep))
        if tags is not None:
            conn.execute("UPDATE dashboards SET tags = ? WHERE id = ?", (json_text(tags), dashboard_id))
    return detail_response(ctx, dashboard_id, 201)


@endpoint
async def retrieve_dashboard(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_READ)
    row = _lookup(ctx, request.path_params["id"])
    with ctx.db.write() as conn:
        conn.execute("UPDATE dashboards SET last_accessed_at = ? WHERE id = ?", (iso_z(now()), row["id"]))
    if mutants.active(ENVIRONMENTS_DIFFER) and "/api/environments/" in request.url.path:
        return json_response({**dashboard_json(ctx, row, detail=True), "description": "another environment"})
    return detail_response(ctx, row["id"])


# --- update, soft delete, tiles (§2.5, §2.6, §2.8) -------------------------------------------------------

TILE_DISPLAY_FIELDS = ("color", "layouts", "deleted", "show_description", "transparent_background",
                       "filters_overrides")


def _tile_display(item: dict[str, Any]) -> dict[str, Any]:
    """The display columns a tile payload sets, validated (PostHog would 500 on most bad types)."""
    out: dict[str, Any] = {}
    if "color" in item:
        out["color"] = char_field(item["color"], "tiles__color", max_length=400, allow_null=True)
    if "layouts" in item:
        # PostHog stores `layouts` verbatim (DashboardTile.layouts is a model JSONField the tile
        # payload reaches unvalidated): any JSON is echoed as sent; null keeps the default {}
        layouts = item["layouts"]
        out["layouts"] = json_text({} if layouts is None else layouts)
    for key in ("deleted", "show_description", "transparent_background"):
        if key in item:
            value = boolean_field(item[key], f"tiles__{key}", allow_null=key != "deleted")
            out[key] = None if value is None else int(value)
    return out


def plan_tiles(ctx: Ctx, dashboard_id: int, raw: Any) -> list[tuple[str, dict[str, Any]]]:
    """Validate every tile payload before any write; returns the operations to apply.

    PostHog walks ``for tile_data in initial_data.pop("tiles", [])`` (``DashboardSerializer.update``): an
    empty iterable (``[]``, ``{}``, ``""``) is no tiles; null or any other non-list makes it raise (a
    500 there, a 400 here, §1.7).
    """
    if isinstance(raw, str | dict) and not raw:
        return []
    if raw is None:
        raise null_error("tiles")
    items = list_field(raw, "tiles")
    assert items is not None
    plan: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(item).__name__}.", "tiles")
        item = {k: v for k, v in item.items() if k not in ("is_cached", "order")}
        tile_id = None
        if item.get("id") is not None:
            tile_id = integer_field(item["id"], "tiles__id")
        existing = None
        if tile_id is not None and object_id(tile_id) is not None:
            existing = ctx.db.one("SELECT * FROM tiles WHERE id = ? AND dashboard_id = ?", (tile_id, dashboard_id))
        display = _tile_display(item)
        text = item.get("text")
        if text:
            text = dict_field(text, "text")
            body = char_field(text.get("body"), "text__body", max_length=4000, allow_null=True,
                              max_length_message="Text body cannot exceed 4000 characters")
            text_id = None
            if text.get("id") is not None:
                text_id = object_id(text["id"])
                on_dashboard = text_id is not None and ctx.db.one(
                    "SELECT 1 FROM tiles t JOIN texts x ON x.id = t.text_id"
                    " WHERE t.dashboard_id = ? AND t.text_id = ? AND x.project_id = ?",
                    (dashboard_id, text_id, ctx.project_id),
                )
                if not on_dashboard:
                    raise invalid("Text tile not found.", "text")
            plan.append(("text", {"tile": existing, "text_id": text_id, "body": body, "display": display}))
        elif existing is not None and display:
            plan.append(("display", {"tile": existing, "display": display}))
        # display-only payloads for unknown ids (or without id) are skipped
    return plan


def plan_duplicates(ctx: Ctx, dashboard_id: int, raw: Any) -> list[tuple[sqlite3.Row, str | None]]:
    """PATCH ``duplicate_tiles`` as PostHog's ``DashboardSerializer.update`` reads it (§2.5):
    ``for tile_data in initial_data.pop("duplicate_tiles", [])``, each item a tile of this dashboard by
    ``tile_data["id"]``, deep-copied with ``tile_data.get("layouts", {})`` as its layouts. An empty
    iterable (``[]``, ``{}``, ``""``) copies nothing. Anything else makes PostHog raise (a TypeError, or
    ``DashboardTile.DoesNotExist`` for a tile not live on this dashboard): a 500 there, a 400 here
    (§1.7). A boolean, the create input (§2.3), is ignored."""
    if raw is True or raw is False or (isinstance(raw, str | list | dict) and not raw):
        return []
    if raw is None:
        raise null_error("duplicate_tiles")
    items = list_field(raw, "duplicate_tiles")
    assert items is not None
    plan: list[tuple[sqlite3.Row, str | None]] = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(item).__name__}.", "duplicate_tiles")
        if "id" not in item:
            raise invalid("This field is required.", "duplicate_tiles__id", "required")
        tile_id = object_id(integer_field(item["id"], "duplicate_tiles__id"))
        tile = None
        if tile_id is not None:
            tile = ctx.db.one("SELECT * FROM tiles WHERE id = ? AND dashboard_id = ? AND deleted = 0",
                              (tile_id, dashboard_id))
        if tile is None:
            raise invalid("Tile not found.", "duplicate_tiles__id")
        layouts = item.get("layouts")
        plan.append((tile, json_text({} if layouts is None else layouts)))
    return plan


def apply_tiles(ctx: Ctx, conn: sqlite3.Connection, dashboard_id: int, plan: list[tuple[str, dict[str, Any]]]) -> None:
    stamp = iso_z(now())
    for kind, op in plan:
        display = op["display"]
        tile_id = op["tile"]["id"] if op["tile"] is not None else None
        if kind == "text":
            text_id = op["text_id"]
            if text_id is None:
                text_id = conn.execute(
                    "INSERT INTO texts (project_id, body, created_at, created_by) VALUES (?,?,?,?)",
                    (ctx.project_id, op["body"], stamp, ctx.user["id"]),
                ).lastrowid
            else:
                conn.execute(
                    "UPDATE texts SET body = ?, last_modified_at = ?, last_modified_by = ? WHERE id = ?",
                    (op["body"], stamp, ctx.user["id"], text_id),
                )
            if tile_id is None:
                tile_id = conn.execute(
                    "INSERT INTO tiles (dashboard_id, text_id, layouts) VALUES (?,?,?)", (dashboard_id, text_id, "{}")
                ).lastrowid
            else:
                conn.execute("UPDATE tiles SET text_id = ?, insight_id = NULL WHERE id = ?", (text_id, tile_id))
        if mutants.active(TILE_DISPLAY_DROPPED) and kind == "text" and op["tile"] is None:
            display = {}  # a new text tile: its payload's colour and layout dropped
        for column, value in display.items():
            if column in TILE_DISPLAY_FIELDS:
                conn.execute(f"UPDATE tiles SET {column} = ? WHERE id = ?", (value, tile_id))


def soft_delete(conn: sqlite3.Connection, dashboard_id: int, *, delete_insights: bool) -> None:
    if delete_insights:
        conn.execute(
            "UPDATE insights SET deleted = 1 WHERE id IN ("
            " SELECT t.insight_id FROM tiles t WHERE t.dashboard_id = ? AND t.insight_id IS NOT NULL"
            " AND t.deleted = 0 AND (SELECT COUNT(*) FROM tiles o WHERE o.insight_id = t.insight_id"
            " AND o.deleted = 0) = 1)",
            (dashboard_id,),
        )
    conn.execute("UPDATE tiles SET deleted = 1 WHERE dashboard_id = ?", (dashboard_id,))
    if mutants.active(SOFT_DELETE_UNSHARES):
        conn.execute("UPDATE sharing_configurations SET enabled = 0 WHERE dashboard_id = ?", (dashboard_id,))


def undelete(conn: sqlite3.Connection, dashboard_id: int) -> None:
    if not mutants.active(UNDELETE_LEAVES_TILES):
        conn.execute("UPDATE tiles SET deleted = 0 WHERE dashboard_id = ?", (dashboard_id,))
    conn.execute(
        "UPDATE insights SET deleted = 0 WHERE id IN (SELECT insight_id FROM tiles WHERE dashboard_id = ?)",
        (dashboard_id,),
    )


COLUMNS = ("name", "description", "pinned", "last_accessed_at", "deleted", "breakdown_colors", "data_color_theme_id",
           "tags", "restriction_level", "last_refresh", "quick_filter_ids")


@endpoint
async def update_dashboard(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_WRITE)
    data, form_tags = await body_and_tags(request)
    # PostHog's queryset shows deleted rows only to a PATCH carrying a falsy `deleted` (§2.8)
    include_deleted = "deleted" in data and not str_to_bool(data["deleted"])
    if mutants.active(UNDELETE_REFUSED):
        include_deleted = False
    if mutants.active(PATCH_DELETED_SERVED):
        include_deleted = True
    row = _lookup(ctx, request.path_params["id"], include_deleted=include_deleted)
    levels = require_edit(ctx, row)
    values = validate_fields(data, form_tags, form=is_form(request))
    if "restriction_level" in values and not levels.can_restrict:
        raise errors.permission_denied(
            "Only the dashboard owner and project admins have the restriction rights required to change the"
            " dashboard's restriction level."
        )
    filters = json_object_input(data, "filters")
    variables = json_object_input(data, "variables")
    plan = plan_tiles(ctx, row["id"], data.get("tiles", []))
    duplicates = plan_duplicates(ctx, row["id"], data.get("duplicate_tiles", []))

    changes: dict[str, Any] = {k: v for k, v in values.items() if k in COLUMNS}
    for key in ("pinned", "deleted"):
        if key in changes:
            changes[key] = int(changes[key])
    for key in ("breakdown_colors", "tags"):
        if key in changes:
            changes[key] = json_text(changes[key])
    if "quick_filter_ids" in changes:
        changes["quick_filter_ids"] = json_text(changes["quick_filter_ids"] or None)
    if filters is not None:
        changes["filters"] = json_text(filters)
    if variables is not None:
        changes["variables"] = json_text(variables)
    if mutants.active(CREATION_MODE_WRITABLE) and data.get("creation_mode") in ("default", "template", "duplicate",
                                                                                "unlisted"):
        changes["creation_mode"] = data["creation_mode"]
    if mutants.active(TAGS_NOT_STORED) or not plan_has("tagging"):  # tagged_item.py: ignored without the feature
        changes.pop("tags", None)
    if mutants.active(RESTRICTION_PATCH_IGNORED):
        changes.pop("restriction_level", None)
    echo_deleted = False
    if mutants.active(SOFT_DELETE_IGNORED) and changes.get("deleted"):
        del changes["deleted"]
        echo_deleted = True

    with ctx.db.write() as conn:
        if row["deleted"] and "deleted" in changes and not changes["deleted"]:
            undelete(conn, row["id"])
        if changes.get("deleted"):
            soft_delete(conn, row["id"], delete_insights=bool(values.get("delete_insights")))
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            conn.execute(f"UPDATE dashboards SET {assignments} WHERE id = ?", (*changes.values(), row["id"]))
        apply_tiles(ctx, conn, row["id"], plan)
        for tile, layouts in duplicates:
            copy_tile(ctx, conn, tile, row["id"], deep=True, layouts=layouts)

    fresh = ctx.db.one("SELECT * FROM dashboards WHERE id = ?", (row["id"],))
    body = dashboard_json(ctx, fresh, detail=True)
    if echo_deleted:
        body["deleted"] = True
    if mutants.active(PATCH_NOT_STORED):
        with ctx.db.write() as conn:
            conn.execute(
                "UPDATE dashboards SET name = ?, description = ?, pinned = ?, tags = ? WHERE id = ?",
                (row["name"], row["description"], row["pinned"], row["tags"], row["id"]),
            )
    echoed = {FILTERS_ECHOED: "filters", VARIABLES_NOT_STORED: "variables", COLORS_ECHOED: "breakdown_colors",
              LAST_REFRESH_ECHOED: "last_refresh", LAST_ACCESSED_ECHOED: "last_accessed_at"}
    restore = [column for name, column in echoed.items() if mutants.active(name)]
    if mutants.active(PUT_STORES_NOTHING) and request.method == "PUT":
        restore = [column for column in row.keys() if column not in ("id", "project_id")]  # noqa: SIM118 (a Row)
    if restore:  # the answer above shows the write; the row keeps what it had
        with ctx.db.write() as conn:
            assignments = ", ".join(f"{column} = ?" for column in restore)
            conn.execute(f"UPDATE dashboards SET {assignments} WHERE id = ?",
                         (*(row[column] for column in restore), row["id"]))
    return json_response(body)


@endpoint
async def destroy_dashboard(request: Request) -> Response:
    """405 with an empty body for any id, after auth and scope, without a lookup (§2.8)."""
    ctx = await authorize(request, DASHBOARD_WRITE)
    if mutants.active(DELETE_RETURNS_204):
        row = load_dashboard(ctx, request.path_params["id"], include_deleted=True)
        with ctx.db.write() as conn:
            for table in ("tiles", "sharing_configurations", "collaborators"):
                conn.execute(f"DELETE FROM {table} WHERE dashboard_id = ?", (row["id"],))
            conn.execute("DELETE FROM dashboards WHERE id = ?", (row["id"],))
        return empty_response(204)
    if mutants.active(DELETE_HAS_BODY):
        raise errors.method_not_allowed("DELETE")
    if mutants.active(DELETE_UNSHARES) and (found := find_dashboard(ctx.db, ctx.project_id, request.path_params["id"])):
        with ctx.db.write() as conn:
            conn.execute("UPDATE sharing_configurations SET enabled = 0 WHERE dashboard_id = ?", (found["id"],))
    return empty_response(405)


# --- move_tile (§5) --------------------------------------------------------------------------------------


@endpoint
async def move_tile(request: Request) -> Response:
    if mutants.active(ANONYMOUS_EMPTY_200) and "authorization" not in request.headers:
        return empty_response(200)
    ctx = await authorize(request, DASHBOARD_WRITE)
    if mutants.active(MOVE_POST_REFUSED) and request.method == "POST":
        raise errors.method_not_allowed(request.method)
    source = _lookup(ctx, request.path_params["id"])
    require_edit(ctx, source)
    data = await read_data(request)
    reject_surrogates(data)

    # --move-tile-key: newest PostHog reads only `to_dashboard` (MoveTileRequestSerializer, required),
    # mid-era releases only `toDashboard`; by default the reference reads both (§5, §11)
    keys = {"both": ("to_dashboard", "toDashboard")}.get(plan_move_tile_key(), (plan_move_tile_key(),))
    present = [key for key in keys if key in data]
    if present:
        raw_destination, destination_attr = data[present[0]], present[0] if len(keys) == 1 else "to_dashboard"
    else:
        if mutants.active(MOVE_MISSING_FIELD_500):
            raise errors.server_error()
        raise errors.required(keys[0])
    destination_id = integer_field(raw_destination, destination_attr)
    if "tile" not in data:
        if mutants.active(MOVE_MISSING_TILE_500):
            raise errors.server_error()
        raise errors.required("tile")
    tile_data = data["tile"]
    if tile_data is None:
        raise null_error("tile")
    dict_field(tile_data, "tile")
    if "id" not in tile_data:
        raise errors.required("tile__id")
    tile_id = integer_field(tile_data["id"], "tile__id")

    tile = None
    if object_id(tile_id) is not None:
        tile = ctx.db.one("SELECT * FROM tiles WHERE id = ? AND dashboard_id = ? AND deleted = 0",
                          (tile_id, source["id"]))
    if tile is None:
        if mutants.active(MOVE_UNKNOWN_TILE_200):
            return detail_response(ctx, source["id"])
        raise errors.not_found()
    if mutants.active(MOVE_UNKNOWN_DESTINATION_200) and find_dashboard(ctx.db, ctx.project_id, destination_id) is None:
        return detail_response(ctx, source["id"])
    destination = load_dashboard(ctx, destination_id)
    if not access(ctx, destination).can_edit:
        raise errors.permission_denied("You don't have edit permissions for the destination dashboard.")
    if destination["id"] != source["id"]:
        for column in ("insight_id", "text_id"):
            if tile[column] is not None and ctx.db.one(
                f"SELECT 1 FROM tiles WHERE dashboard_id = ? AND {column} = ? AND deleted = 0",
                (destination["id"], tile[column]),
            ):
                raise invalid("Invalid request data for moving tile.", None)
        if not mutants.active(TILE_NOT_MOVED):
            with ctx.db.write() as conn:
                conn.execute("UPDATE tiles SET dashboard_id = ? WHERE id = ?", (destination["id"], tile["id"]))
                if mutants.active(MOVE_RESETS_TILE):
                    conn.execute("UPDATE tiles SET color = NULL, layouts = '{}' WHERE id = ?", (tile["id"],))
                if mutants.active(MOVE_EVERY_TILE):
                    conn.execute("UPDATE tiles SET dashboard_id = ? WHERE dashboard_id = ? AND deleted = 0",
                                 (destination["id"], source["id"]))
    return detail_response(ctx, source["id"])


# --- create_from_template_json (§6) ----------------------------------------------------------------------


@endpoint
async def create_from_template_json(request: Request) -> Response:
    if mutants.active(ANONYMOUS_EMPTY_200) and "authorization" not in request.headers:
        return empty_response(200)
    ctx = await authorize(request, DASHBOARD_WRITE)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media not in ("application/json", "") and not media.endswith("+json"):
        raise errors.unsupported_media_type(content_type)  # PostHog's only parser here is its JSON one
    data = await read_data(request)
    reject_surrogates(data)
    if "template" not in data:
        raise errors.required("template")
    template = data["template"]
    if template is None:
        raise null_error("template")
    dict_field(template, "template")
    error = best_match(_template_validator().iter_errors(template))
    if error is not None:
        raise invalid(error.message, None)
    tags = [t for t in dict.fromkeys(template.get("tags") or [])]
    if any(len(t) > TAG_MAX_LENGTH for t in tags):
        raise invalid(f"Ensure this field has no more than {TAG_MAX_LENGTH} characters.", None, "max_length")
    if mutants.active(TEMPLATE_EMPTY_200_NOTHING):
        return empty_response(200)
    applied = {**template, "tags": tags}
    if mutants.active(TEMPLATE_NAME_IGNORED):
        applied["template_name"] = "Untitled template"
    if mutants.active(TEMPLATE_DESCRIPTION_IGNORED):
        applied["dashboard_description"] = ""
    if mutants.active(TEMPLATE_TILES_DROPPED):
        applied["tiles"] = []
    if mutants.active(TEMPLATE_FILTERS_DROPPED):
        applied["dashboard_filters"] = {}
    with ctx.db.write() as conn:
        dashboard_id = conn.execute(
            "INSERT INTO dashboards (project_id, created_at, created_by) VALUES (?,?,?)",
            (ctx.project_id, iso_z(now()), ctx.user["id"]),
        ).lastrowid
        assert dashboard_id is not None
        apply_template(ctx, conn, dashboard_id, applied)
        if mutants.active(TEMPLATE_RESTRICTED):
            conn.execute("UPDATE dashboards SET restriction_level = 37 WHERE id = ?", (dashboard_id,))
    response = detail_response(ctx, dashboard_id, 201 if mutants.active(TEMPLATE_201) else 200)
    if mutants.active(TEMPLATE_NOT_KEPT):
        with ctx.db.write() as conn:
            conn.execute("UPDATE dashboards SET deleted = 1 WHERE id = ?", (dashboard_id,))
    return response


ROUTES = [
    Route(
        "{prefix}/dashboards",
        {
            "GET": list_dashboards,
            "POST": create_dashboard,
            "PATCH": not_allowed(DASHBOARD_WRITE),
            "PUT": not_allowed(DASHBOARD_WRITE),
            "DELETE": not_allowed(DASHBOARD_WRITE),
        },
    ),
    Route(
        "{prefix}/dashboards/create_from_template_json",
        {
            "POST": create_from_template_json,
            "GET": not_allowed(DASHBOARD_READ),
            "PATCH": not_allowed(DASHBOARD_WRITE),
            "PUT": not_allowed(DASHBOARD_WRITE),
            "DELETE": not_allowed(DASHBOARD_WRITE),
        },
    ),
    Route(
        "{prefix}/dashboards/{id}",
        {
            "GET": retrieve_dashboard,
            "PATCH": update_dashboard,
            "PUT": update_dashboard,
            "DELETE": destroy_dashboard,
            "POST": not_allowed(DASHBOARD_WRITE),
        },
    ),
    Route(
        "{prefix}/dashboards/{id}/move_tile",
        {
            "PATCH": move_tile,
            "POST": move_tile,
            "GET": not_allowed(DASHBOARD_READ),
            "PUT": not_allowed(DASHBOARD_WRITE),
            "DELETE": not_allowed(DASHBOARD_WRITE),
        },
    ),
]
