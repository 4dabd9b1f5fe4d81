"""Dashboards (contract §2): list, create, retrieve, update, soft delete; the routes of every dashboards action.

PostHog source: ``products/dashboards/backend/api/dashboard.py`` (``DashboardSerializer``,
``DashboardsViewSet``). The order of checks follows §1.5: auth and scope, then the body's parse
errors where PostHog reads the body first (PATCH: the lookup depends on ``deleted``), the object
404, the object 403, field validation (first error in DRF's field order), business rules. Every
write happens in one transaction, so a refused request leaves nothing behind. Tiles and
``move_tile`` live in :mod:`.dashboard_tiles`, templates in :mod:`.dashboard_templates`.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import DASHBOARD_READ, DASHBOARD_WRITE, authorize
from .bodies import form_values, is_form, read_data
from .dashboard_access import (
    EVERYONE_CAN_EDIT,
    NAME_MAX_LENGTH,
    RESTRICTION_LEVELS,
    TAG_MAX_LENGTH,
    dashboard_json,
    detail_response,
    endpoint,
    find_dashboard,
    load_dashboard,
    lookup_dashboard,
    not_allowed,
    require_edit,
)
from .dashboard_templates import TEMPLATES, apply_template, create_from_template_json
from .dashboard_tiles import apply_tiles, copy_tile, duplicate_tiles, move_tile, plan_duplicates, plan_tiles
from .drf_fields import (
    boolean_field,
    char_field,
    choice_field,
    datetime_field,
    integer_field,
    invalid,
    list_field,
    null_error,
    reject_surrogates,
    str_to_bool,
)
from .environments import SENT_PATH
from .errors import empty_response, json_response
from .pages import page, window
from .plan import has as plan_has
from .routing import Route
from .storage import Database, json_text, loads
from .timeutil import iso_z, now

#: the derived per-field checks of every write (tests/test_writes.py); a killer names one of its items
_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
_EFFECTS = "tests/test_writes.py::test_write_changes_only_what_the_contract_says"
_FLOWS = "tests/test_flows.py"

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
BAD_RESTRICTION_ACCEPTED = mutants.declare(
    "invalid_restriction_level_accepted", "restriction_level other than 21/37 is 400 invalid_choice (§2.3)"
)
CREATION_MODE_WRITABLE = mutants.declare(
    "creation_mode_writable", "creation_mode is read-only: PATCH ignores it (§2.5)"
)
TAGS_NOT_STORED = mutants.declare("tags_not_stored", "tags sent on create or PATCH are stored and returned (§2.1)")
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
RESTRICTION_PATCH_IGNORED = mutants.declare(
    "restriction_level_patch_ignored", "a valid restriction_level PATCH is stored (§2.5, §2.7, §4.2)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-restriction_level]",
               f"{_FIELDS}[dashboards_update-restriction_level]"),
)
UNKNOWN_QUICK_FILTER_ACCEPTED = mutants.declare(
    "unknown_quick_filter_accepted",
    "quick_filter_ids naming no quick filter of the project is 400 'Quick filters not found' (§2.5)",
    killed_by=("tests/test_dashboards.py::test_an_unknown_quick_filter_is_400_quick_filters_not_found",),
)
PINNED_GARBAGE_ACCEPTED = mutants.declare(
    "pinned_garbage_accepted",
    "a pinned DRF's BooleanField cannot read (e.g. \"sometimes\") is a 400 invalid_input on `pinned` (§2.3)",
    killed_by=("tests/test_dashboards.py::test_non_boolean_pinned_is_400", "tests/test_property_based.py"),
)
# issue 23: a write judged on every field it stores, flows on the whole state, lists on every key
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
# issue 22: the read-backs a setting naming the host's own objects enables
# (POSTHOG_DATA_COLOR_THEME_ID, POSTHOG_QUICK_FILTER_ID)
THEME_ECHOED = mutants.declare(
    "dashboard_data_color_theme_echoed_not_stored",
    "PATCH/PUT store `data_color_theme_id` naming one of the host's data color themes (§2.1, §2.5, §2.9)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-data_color_theme_id]",
               f"{_FIELDS}[dashboards_update-data_color_theme_id]"),
)
QUICK_FILTERS_ECHOED = mutants.declare(
    "dashboard_quick_filter_ids_echoed_not_stored",
    "PATCH/PUT store `quick_filter_ids` naming the project's quick filters (§2.5, §2.9)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-quick_filter_ids]",
               f"{_FIELDS}[dashboards_update-quick_filter_ids]"),
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
UNDELETE_LEAVES_TILES = mutants.declare(
    "undelete_leaves_tiles_deleted", "an undelete brings the dashboard's tiles back (§2.8)",
    killed_by=(f"{_FLOWS}::test_soft_delete_then_undelete_restores_every_part",),
)
SOFT_DELETE_UNSHARES = mutants.declare(
    "soft_delete_disables_sharing", "soft delete and undelete leave the sharing configuration as it was (§2.8, §3)",
    killed_by=(f"{_FLOWS}::test_soft_delete_then_undelete_restores_every_part",),
)
DELETE_UNSHARES = mutants.declare(
    "dashboard_delete_405_disables_sharing", "the refused DELETE changes nothing: sharing stays as it was (§2.8)",
    killed_by=(f"{_EFFECTS}[dashboards_destroy]",),
)
ORDER_IGNORES_NAME = mutants.declare(
    "dashboards_order_ignores_name", "the dashboards list is ordered by pinned, then by name (§2.2)",
    killed_by=("tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list_in_order",),
)

SEARCH_MAX_LENGTH = 200
INT32 = 2**31 - 1
FILTERS_NOT_DICT = "Filters must be a dictionary"

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


def quick_filter_ids(value: Any, known: frozenset[str]) -> list[str]:
    """``DashboardSerializer.quick_filter_ids`` (``ListField(child=CharField(), allow_null=True)``) and its
    ``validate_quick_filter_ids`` (products/dashboards/backend/api/dashboard.py): falsy is ``[]``; each item
    ``str(uuid.UUID(v))`` else "Invalid UUID: v"; every id a quick filter of the project, else
    "Quick filters not found: a, b" (§2.5)."""
    items = list_field(value, "quick_filter_ids", allow_null=True) or []
    texts = [char_field(item, f"quick_filter_ids__{index}", allow_blank=False) for index, item in enumerate(items)]
    normalized = []
    for text in texts:
        try:
            normalized.append(str(uuid.UUID(text)))
        except ValueError:
            raise invalid(f"Invalid UUID: {text}", "quick_filter_ids") from None
    missing = [qf for qf in normalized if qf not in known]
    if missing and not mutants.active(UNKNOWN_QUICK_FILTER_ACCEPTED):
        raise invalid(f"Quick filters not found: {', '.join(missing)}", "quick_filter_ids")
    return normalized


def project_quick_filters(db: Database, project_id: int) -> frozenset[str]:
    """The ids a dashboard of this project may name in ``quick_filter_ids``."""
    return frozenset(row[0] for row in db.all("SELECT id FROM quick_filters WHERE project_id = ?", (project_id,)))


def validate_fields(
    data: dict[str, Any], form_tags: list[str] | None, *, form: bool = False,
    quick_filters: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The writable fields present in ``data``, converted as DRF would; the first error raises.
    ``form``: the body was a form (blank datetimes read as null); ``quick_filters``: the project's."""
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
            out[key] = quick_filter_ids(value, quick_filters)
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
    values = validate_fields(data, form_tags, form=is_form(request),
                             quick_filters=project_quick_filters(ctx.db, ctx.project_id))
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
    row = lookup_dashboard(ctx, request.path_params["id"])
    with ctx.db.write() as conn:
        conn.execute("UPDATE dashboards SET last_accessed_at = ? WHERE id = ?", (iso_z(now()), row["id"]))
    sent_path = request.scope.get(SENT_PATH, request.url.path)  # the rewrite serves it under /api/projects/
    if mutants.active(ENVIRONMENTS_DIFFER) and sent_path.startswith("/api/environments/"):
        return json_response({**dashboard_json(ctx, row, detail=True), "description": "another environment"})
    return detail_response(ctx, row["id"])


# --- update, soft delete, tiles (§2.5, §2.6, §2.8) -------------------------------------------------------

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
    row = lookup_dashboard(ctx, request.path_params["id"], include_deleted=include_deleted)
    levels = require_edit(ctx, row)
    values = validate_fields(data, form_tags, form=is_form(request),
                             quick_filters=project_quick_filters(ctx.db, ctx.project_id))
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
              LAST_REFRESH_ECHOED: "last_refresh", LAST_ACCESSED_ECHOED: "last_accessed_at",
              THEME_ECHOED: "data_color_theme_id", QUICK_FILTERS_ECHOED: "quick_filter_ids"}
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
