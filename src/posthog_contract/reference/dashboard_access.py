"""What dashboards, sharing and collaborators share: lookup, permission levels, the Dashboard body.

- lookup: a dashboard of the request's project, live unless asked otherwise, else 404 with the
  detail the endpoint uses ("Not found." or "Dashboard not found.");
- levels (contract §2.7, PostHog's ``UserDashboardPermissions``): effective restriction, effective
  privilege, ``can_edit``, ``can_restrict`` and the reference's ``user_access_level``;
- the ``Dashboard`` / ``DashboardBasic`` bodies (§2.1) and ``Tile`` (§2.1);
- the dashboards endpoints' shared frame (:func:`endpoint`, :func:`detail_response`,
  :func:`lookup_dashboard`), used by ``dashboards``, ``dashboard_tiles`` and ``dashboard_templates``.

DRF's field readers live in :mod:`.drf_fields`.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants, plan
from .auth import Ctx, refuse_undeclared_method
from .errors import json_response
from .storage import Database, loads
from .users import user_basic

IS_SHARED_NOT_UPDATED = mutants.declare(
    "is_shared_not_updated", "a dashboard's is_shared follows its sharing configuration's enabled (§2.1, §3)"
)
MISSING_TEAM_ID = mutants.declare("dashboard_missing_team_id", "dashboard bodies carry an integer team_id (§2.1)")
CREATED_BY_STRING = mutants.declare(
    "dashboard_created_by_string", "a dashboard's created_by is a UserBasic object or null, not an email (§2.1)"
)
RESTRICTION_LEVEL_STRING = mutants.declare(
    "dashboard_restriction_level_string", "restriction and privilege levels are the integers 21|37 (§2.1)"
)
LIST_INCLUDES_TILES = mutants.declare("list_includes_tiles", "dashboard list items must not carry tiles (§2.1)")
UNKNOWN_500 = mutants.declare("unknown_dashboard_500", "an unknown dashboard id is 404 \"Not found.\" (§2.4)")
ENVELOPE_MISSING_ATTR = mutants.declare(
    "error_envelope_missing_attr", "every 400 validation body carries type, code, detail and attr (§1.2)"
)
WRONG_CONTENT_TYPE = mutants.declare(
    "dashboard_wrong_content_type", "dashboard bodies are served as application/json (§1.2)"
)
ANONYMOUS_EMPTY_200 = mutants.declare(
    "anonymous_move_tile_and_template_empty_200",
    "move_tile and create_from_template_json without credentials are 401, not an empty 200 (§1.3)",
    killed_by=(
        "tests/test_writes.py::test_every_operation_refuses_a_request_without_a_key",
        "tests/test_property_based.py::test_write_operations_conform",
    ),
)

EVERYONE_CAN_EDIT = 21  # restriction level; as a privilege level: CAN_VIEW
ONLY_COLLABORATORS_CAN_EDIT = 37  # restriction level; as a privilege level: CAN_EDIT
CAN_VIEW, CAN_EDIT = 21, 37
RESTRICTION_LEVELS = (EVERYONE_CAN_EDIT, ONLY_COLLABORATORS_CAN_EDIT)
ORG_ADMIN_LEVEL = 8
MAX_DB_INT = 2**63 - 1  # SQLite integers: larger values cannot even be looked up

NAME_MAX_LENGTH = 400  # Dashboard.name
TAG_MAX_LENGTH = 255  # Tag.name

DASHBOARD_NOT_FOUND = "Dashboard not found."
NO_EDIT_RIGHTS = "You don't have edit permissions for this dashboard."


# --- lookup ----------------------------------------------------------------------------------------------


def object_id(raw: Any) -> int | None:
    """A path or body id as Django's integer pk lookup takes it; anything else finds nothing."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw <= MAX_DB_INT else None
    if isinstance(raw, str) and re.fullmatch(r"[0-9]+", raw) and int(raw) <= MAX_DB_INT:
        return int(raw)
    return None


def find_dashboard(db: Database, project_id: int, raw_id: Any, *, include_deleted: bool = False) -> sqlite3.Row | None:
    dashboard_id = object_id(raw_id)
    if dashboard_id is None:
        return None
    sql = "SELECT * FROM dashboards WHERE id = ? AND project_id = ?"
    if not include_deleted:
        sql += " AND deleted = 0"
    return db.one(sql, (dashboard_id, project_id))


def load_dashboard(
    ctx: Ctx, raw_id: Any, *, detail: str = "Not found.", include_deleted: bool = False
) -> sqlite3.Row:
    """The project's dashboard (live unless ``include_deleted``), or 404 ``detail``."""
    row = find_dashboard(ctx.db, ctx.project_id, raw_id, include_deleted=include_deleted)
    if row is None:
        raise errors.not_found(detail)
    return row


def not_allowed(scope: str) -> Callable[[Request], Awaitable[Response]]:
    """A 405 handler: DRF authenticates and checks the scope before it answers 405 (§1.4, §1.5).

    ``scope`` names the route's resource; the scope actually required is PostHog's for a method
    without an action (``auth.undeclared_method_scope``): a scoped personal key gets 403.
    """

    async def handler(request: Request) -> Response:
        await refuse_undeclared_method(request)
        raise errors.method_not_allowed(request.method)

    handler.refuses = True  # type: ignore[attr-defined]  # not listed in Allow
    return handler


# --- levels (§2.7) ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    effective_restriction_level: int
    effective_privilege_level: int
    can_restrict: bool
    can_edit: bool
    user_access_level: str


def organization_of(db: Database, project_id: int) -> sqlite3.Row:
    return db.one(
        "SELECT o.* FROM organizations o JOIN projects p ON p.organization_id = o.id WHERE p.id = ?", (project_id,)
    )


def membership_level(db: Database, project_id: int, user_id: int) -> int | None:
    """The user's organisation level for the project (None: no access to the project)."""
    return db.scalar(
        "SELECT m.level FROM memberships m JOIN projects p ON p.organization_id = m.organization_id"
        " JOIN users u ON u.id = m.user_id WHERE p.id = ? AND m.user_id = ? AND u.is_active = 1",
        (project_id, user_id),
    )


def collaborator_level(db: Database, dashboard_id: int, user_id: int) -> int | None:
    return db.scalar(
        "SELECT c.level FROM collaborators c JOIN users u ON u.id = c.user_id"
        " WHERE c.dashboard_id = ? AND c.user_id = ? AND u.is_active = 1",
        (dashboard_id, user_id),
    )


def access_for(
    db: Database, dashboard: sqlite3.Row, user_id: int, *, org_access_control: bool, org_level: int | None
) -> Access:
    restriction = dashboard["restriction_level"]
    effective_restriction = restriction if org_access_control else EVERYONE_CAN_EDIT
    can_restrict = dashboard["created_by"] == user_id or (org_level or 0) >= ORG_ADMIN_LEVEL
    if effective_restriction == EVERYONE_CAN_EDIT or can_restrict:
        privilege = CAN_EDIT
    else:
        privilege = collaborator_level(db, dashboard["id"], user_id) or CAN_VIEW
    can_edit = privilege >= CAN_EDIT
    level = "manager" if can_restrict else "editor" if can_edit else "viewer"
    return Access(effective_restriction, privilege, can_restrict, can_edit, level)


def access(ctx: Ctx, dashboard: sqlite3.Row) -> Access:
    """The caller's levels on a dashboard of the request's project."""
    assert ctx.organization is not None
    return access_for(
        ctx.db,
        dashboard,
        ctx.user["id"],
        org_access_control=bool(ctx.organization["access_control"]),
        org_level=ctx.membership_level,
    )


def require_edit(ctx: Ctx, dashboard: sqlite3.Row, detail: str = NO_EDIT_RIGHTS) -> Access:
    found = access(ctx, dashboard)
    if not found.can_edit:
        raise errors.permission_denied(detail)
    return found


# --- sharing state shared with the Dashboard body ---------------------------------------------------------


def current_sharing(db: Database, dashboard_id: int) -> sqlite3.Row | None:
    """The dashboard's live sharing configuration (refreshed ones carry ``expires_at``)."""
    return db.one(
        "SELECT * FROM sharing_configurations WHERE dashboard_id = ? AND expires_at IS NULL ORDER BY id DESC LIMIT 1",
        (dashboard_id,),
    )


def is_shared(db: Database, dashboard_id: int) -> bool:
    if mutants.active(IS_SHARED_NOT_UPDATED):
        return False
    row = current_sharing(db, dashboard_id)
    return bool(row is not None and row["enabled"])


# --- bodies (§2.1) ---------------------------------------------------------------------------------------


def _user(db: Database, user_id: int | None) -> dict[str, Any] | None:
    if user_id is None:
        return None
    row = db.one("SELECT * FROM users WHERE id = ?", (user_id,))
    return None if row is None else user_basic(row)


def short_id(insight_id: int) -> str:
    """A stable 8-character id like PostHog's insight short ids."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    number, out = insight_id * 2654435761 % 62**8, ""
    for _ in range(8):
        number, digit = divmod(number, 62)
        out += alphabet[digit]
    return out


def insight_json(db: Database, insight: sqlite3.Row) -> dict[str, Any]:
    dashboards = [
        r[0]
        for r in db.all(
            "SELECT DISTINCT t.dashboard_id FROM tiles t JOIN dashboards d ON d.id = t.dashboard_id"
            " WHERE t.insight_id = ? AND t.deleted = 0 AND d.deleted = 0 ORDER BY t.dashboard_id",
            (insight["id"],),
        )
    ]
    return {
        "id": insight["id"],
        "short_id": short_id(insight["id"]),
        "name": insight["name"],
        "derived_name": None,
        "description": insight["description"],
        "filters": loads(insight["filters"]) or {},
        "query": loads(insight["query"]),
        "deleted": bool(insight["deleted"]),
        "created_at": insight["created_at"],
        "created_by": None,
        "dashboards": dashboards,
        "tags": [],
        "last_refresh": None,
        "result": None,
    }


def text_json(db: Database, text: sqlite3.Row, project_id: int) -> dict[str, Any]:
    return {
        "id": text["id"],
        "body": text["body"],
        "created_by": _user(db, text["created_by"]),
        "last_modified_at": text["last_modified_at"],
        "last_modified_by": _user(db, text["last_modified_by"]),
        "team": project_id,
    }


def button_tile_json(db: Database, button: sqlite3.Row) -> dict[str, Any]:
    """PostHog's ``ButtonTileSerializer`` (fields ``__all__``, the declared ones first)."""
    tiles = db.all("SELECT id, dashboard_id, deleted FROM tiles WHERE button_tile_id = ? ORDER BY id", (button["id"],))
    return {
        "id": button["id"],
        "created_by": _user(db, button["created_by"]),
        "last_modified_by": _user(db, button["last_modified_by"]),
        "url": button["url"],
        "text": button["text"],
        "placement": button["placement"],
        "dashboard_tiles": [{"id": r["id"], "dashboard_id": r["dashboard_id"], "deleted": bool(r["deleted"])}
                            for r in tiles],
        "style": button["style"],
        "last_modified_at": button["last_modified_at"],
        "team": button["project_id"],
    }


def _layout_key(tile: sqlite3.Row) -> tuple[float, float, int]:
    """PostHog orders tiles by their ``sm`` layout (y, then x; 100 when absent), stably."""
    layouts = loads(tile["layouts"])
    sm = layouts.get("sm") if isinstance(layouts, dict) else None
    sm = sm if isinstance(sm, dict) else {}

    def number(value: Any) -> float:
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 100.0

    return number(sm.get("y", 100)), number(sm.get("x", 100)), tile["id"]


def live_tiles(db: Database, dashboard_id: int) -> list[sqlite3.Row]:
    """Non-deleted tiles whose insight (if any) is not deleted, in layout order."""
    rows = db.all(
        "SELECT t.* FROM tiles t LEFT JOIN insights i ON i.id = t.insight_id"
        " WHERE t.dashboard_id = ? AND t.deleted = 0 AND (t.insight_id IS NULL OR i.deleted = 0) ORDER BY t.id",
        (dashboard_id,),
    )
    return sorted(rows, key=_layout_key)


def tile_json(db: Database, tile: sqlite3.Row, order: int, project_id: int) -> dict[str, Any]:
    insight = None
    if tile["insight_id"] is not None:
        row = db.one("SELECT * FROM insights WHERE id = ?", (tile["insight_id"],))
        insight = None if row is None else insight_json(db, row)
    text = None
    if tile["text_id"] is not None:
        row = db.one("SELECT * FROM texts WHERE id = ?", (tile["text_id"],))
        text = None if row is None else text_json(db, row, project_id)
    button = None
    if tile["button_tile_id"] is not None:
        row = db.one("SELECT * FROM button_tiles WHERE id = ?", (tile["button_tile_id"],))
        button = None if row is None else button_tile_json(db, row)
    return {
        "id": tile["id"],
        "insight": insight,
        "text": text,
        "button_tile": button,
        "layouts": {} if loads(tile["layouts"]) is None else loads(tile["layouts"]),  # verbatim JSON
        "color": tile["color"],
        "show_description": None if tile["show_description"] is None else bool(tile["show_description"]),
        "transparent_background": (
            None if tile["transparent_background"] is None else bool(tile["transparent_background"])
        ),
        "filters_overrides": {},
        "order": order,
        "last_refresh": None,
        "is_cached": False,
    }


def dashboard_json(ctx: Ctx, row: sqlite3.Row, *, detail: bool) -> dict[str, Any]:
    """PostHog's ``DashboardSerializer`` (detail) or ``DashboardBasicSerializer`` (list items)."""
    db = ctx.db
    levels = access(ctx, row)
    created_by: Any = _user(db, row["created_by"])
    if created_by is not None and mutants.active(CREATED_BY_STRING):
        created_by = created_by["email"]
    body: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "pinned": bool(row["pinned"]),
        "created_at": row["created_at"],
        "created_by": created_by,
        "last_accessed_at": row["last_accessed_at"],
        "last_viewed_at": row["last_viewed_at"],
        "is_shared": is_shared(db, row["id"]),
        "deleted": bool(row["deleted"]),
        "creation_mode": row["creation_mode"],
    }
    filters = loads(row["filters"]) or {}
    variables = loads(row["variables"])
    if detail:
        body["filters"] = filters
        body["variables"] = variables if variables is not None else {}
        body["breakdown_colors"] = loads(row["breakdown_colors"])
        body["data_color_theme_id"] = row["data_color_theme_id"]
    restriction: Any = row["restriction_level"]
    effective_restriction: Any = levels.effective_restriction_level
    effective_privilege: Any = levels.effective_privilege_level
    if mutants.active(RESTRICTION_LEVEL_STRING):
        restriction, effective_restriction, effective_privilege = (
            str(restriction), str(effective_restriction), str(effective_privilege)
        )
    body.update(
        {
            # without the paid tagging feature PostHog reads `tags: []` (posthog/api/tagged_item.py,
            # TaggedItemSerializerMixin: tags only when the organisation has AvailableFeature.TAGGING)
            "tags": (loads(row["tags"]) or []) if plan.has("tagging") else [],
            "restriction_level": restriction,
            "effective_restriction_level": effective_restriction,
            "effective_privilege_level": effective_privilege,
            "user_access_level": levels.user_access_level,
            "access_control_version": "v1" if row["restriction_level"] > EVERYONE_CAN_EDIT else "v2",
            "last_refresh": row["last_refresh"],
        }
    )
    if detail:
        body["persisted_filters"] = filters or None
        body["persisted_variables"] = variables or None
    body["team_id"] = row["project_id"]
    if mutants.active(MISSING_TEAM_ID):
        del body["team_id"]
    if detail:
        body["quick_filter_ids"] = loads(row["quick_filter_ids"]) or []
    if detail or mutants.active(LIST_INCLUDES_TILES):
        body["tiles"] = [
            tile_json(db, tile, order, row["project_id"]) for order, tile in enumerate(live_tiles(db, row["id"]))
        ]
    return plan.shape("dashboard", body)


# --- the dashboards endpoints' frame ---------------------------------------------------------------------

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
    """The Dashboard body of ``dashboard_id`` as a response (create, retrieve, move_tile, templates)."""
    row = ctx.db.one("SELECT * FROM dashboards WHERE id = ?", (dashboard_id,))
    response = json_response(dashboard_json(ctx, row, detail=True), status)
    if mutants.active(WRONG_CONTENT_TYPE):
        response.headers["content-type"] = "text/plain; charset=utf-8"
    return response


def lookup_dashboard(ctx: Ctx, raw_id: Any, *, include_deleted: bool = False) -> sqlite3.Row:
    """The path's dashboard for a dashboards endpoint, or 404 "Not found." (§2.4)."""
    if mutants.active(UNKNOWN_500) and find_dashboard(ctx.db, ctx.project_id, raw_id) is None:
        raise errors.server_error()
    return load_dashboard(ctx, raw_id, include_deleted=include_deleted)
