"""What dashboards, sharing and collaborators share: lookup, permission levels, the Dashboard body.

- lookup: a dashboard of the request's project, live unless asked otherwise, else 404 with the
  detail the endpoint uses ("Not found." or "Dashboard not found.");
- levels (contract §2.7, PostHog's ``UserDashboardPermissions``): effective restriction, effective
  privilege, ``can_edit``, ``can_restrict`` and the reference's ``user_access_level``;
- the ``Dashboard`` / ``DashboardBasic`` bodies (§2.1) and ``Tile`` (§2.1);
- DRF's field rules, so that a 400 carries DRF's code, detail and ``attr`` (§1.2).
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants, plan
from .auth import Ctx, refuse_undeclared_method
from .storage import Database, loads
from .timeutil import iso_z
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

EVERYONE_CAN_EDIT = 21  # restriction level; as a privilege level: CAN_VIEW
ONLY_COLLABORATORS_CAN_EDIT = 37  # restriction level; as a privilege level: CAN_EDIT
CAN_VIEW, CAN_EDIT = 21, 37
RESTRICTION_LEVELS = (EVERYONE_CAN_EDIT, ONLY_COLLABORATORS_CAN_EDIT)
ORG_ADMIN_LEVEL = 8
MAX_DB_INT = 2**63 - 1  # SQLite integers: larger values cannot even be looked up

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
    return {
        "id": tile["id"],
        "insight": insight,
        "text": text,
        "button_tile": None,
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


# --- DRF's field rules ------------------------------------------------------------------------------------

_TRUE = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"})
_FALSE = frozenset({"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_DJANGO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def invalid(detail: str, attr: str | None, code: str = "invalid_input") -> errors.ApiError:
    return errors.validation_error(detail, attr=attr, code=code)


def null_error(attr: str) -> errors.ApiError:
    return invalid("This field may not be null.", attr, "null")


def type_name(value: Any) -> str:
    return type(value).__name__


def str_to_bool(value: Any) -> bool:
    """PostHog's ``posthog.utils.str_to_bool``: truthy spellings only; everything else is False."""
    if not value:
        return False
    return str(value).lower() in ("y", "yes", "t", "true", "on", "1")


def boolean_field(value: Any, attr: str, *, allow_null: bool = False) -> bool | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if value is True or (isinstance(value, str) and value in _TRUE):
        return True
    if value is False or (isinstance(value, str) and value in _FALSE):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    raise invalid("Must be a valid boolean.", attr)


def char_field(
    value: Any,
    attr: str,
    *,
    max_length: int | None = None,
    allow_null: bool = False,
    allow_blank: bool = True,
    max_length_message: str | None = None,
) -> str | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("Not a valid string.", attr)
    text = str(value).strip()
    if text == "":
        if not allow_blank:
            raise invalid("This field may not be blank.", attr, "blank")
        return ""
    if "\x00" in text:
        raise invalid("Null characters are not allowed.", attr, "null_characters_not_allowed")
    found = _SURROGATE.search(text)
    if found:
        raise invalid(
            f"Surrogate characters are not allowed: U+{ord(found.group()):X}.", attr, "surrogate_characters_not_allowed"
        )
    if max_length is not None and len(text) > max_length:
        raise invalid(
            max_length_message or f"Ensure this field has no more than {max_length} characters.", attr, "max_length"
        )
    return text


def integer_field(
    value: Any, attr: str, *, allow_null: bool = False, min_value: int | None = None, max_value: int | None = None
) -> int | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, str) and len(value) > 1000:
        raise invalid("String value too large.", attr, "max_string_length")
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        number = int(re.sub(r"\.0*\s*$", "", str(value)))
    except (ValueError, OverflowError):
        raise invalid("A valid integer is required.", attr) from None
    if max_value is not None and number > max_value:
        raise invalid(f"Ensure this value is less than or equal to {max_value}.", attr, "max_value")
    if min_value is not None and number < min_value:
        raise invalid(f"Ensure this value is greater than or equal to {min_value}.", attr, "min_value")
    return number


def choice_field(value: Any, attr: str, choices: tuple[int, ...], *, allow_null: bool = False) -> int | None:
    """DRF's ChoiceField: the input's ``str()`` must be one of the choices' ``str()``."""
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    by_string = {str(choice): choice for choice in choices}
    if not isinstance(value, bool) and str(value) in by_string:
        return by_string[str(value)]
    raise invalid(f'"{value}" is not a valid choice.', attr, "invalid_choice")


def datetime_field(value: Any, attr: str, *, allow_null: bool = True, form: bool = False) -> str | None:
    """DRF's DateTimeField on ISO 8601 input; stored and shown in DRF's ``...Z`` format.

    A blank value is null only in a form body (``Field.get_value`` on HTML input); in JSON ``""`` is
    just a malformed datetime (``DateTimeField.to_internal_value``: 400 ``invalid``).
    """
    if value is None or (value == "" and allow_null and form):
        if allow_null:
            return None
        raise null_error(attr)
    message = (
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
    )
    if not isinstance(value, str):
        raise invalid(message, attr)
    moment = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        match = _DJANGO_DATETIME.match(value)
        if match:
            try:
                moment = datetime.fromisoformat(_django_to_iso(match))
            except ValueError:
                moment = None
    if moment is None:
        raise invalid(message, attr)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return iso_z(moment)
    except (ValueError, OverflowError):
        raise invalid(message, attr) from None


def _django_to_iso(match: re.Match[str]) -> str:
    parts = match.groupdict()
    micro = (parts["microsecond"] or "0").ljust(6, "0")
    tz = parts["tzinfo"] or ""
    if tz and tz != "Z" and len(tz) == 3:
        tz += ":00"
    return (
        f"{int(parts['year']):04d}-{int(parts['month']):02d}-{int(parts['day']):02d}T{int(parts['hour']):02d}:"
        f"{int(parts['minute']):02d}:{int(parts['second'] or 0):02d}.{micro}{tz.replace('Z', '+00:00')}"
    )


def list_field(value: Any, attr: str, *, allow_null: bool = False) -> list[Any] | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, str) or not isinstance(value, list):
        raise invalid(f'Expected a list of items but got type "{type_name(value)}".', attr, "not_a_list")
    return value


def dict_field(value: Any, attr: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid data. Expected a dictionary, but got {type_name(value)}.", attr)
    return value


def uuid_field(value: Any, attr: str) -> str:
    """DRF's UUIDField: a UUID string in any of Python's spellings, or an integer."""
    if value is None:
        raise null_error(attr)
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return str(uuid.UUID(int=value))
        if isinstance(value, str):
            return str(uuid.UUID(hex=value))
        raise ValueError
    except (ValueError, TypeError, AttributeError):
        raise invalid("Must be a valid UUID.", attr) from None


def reject_surrogates(data: dict[str, Any]) -> None:
    """Lone surrogates cannot be stored or echoed as UTF-8: refuse them up front, on the field that has one."""

    def find(value: Any) -> str | None:
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            return found.group() if found else None
        if isinstance(value, dict):
            for key, item in value.items():
                hit = find(key) or find(item)
                if hit:
                    return hit
        if isinstance(value, list):
            for item in value:
                hit = find(item)
                if hit:
                    return hit
        return None

    for key, value in data.items():
        hit = find(key)
        attr = None if hit else key
        hit = hit or find(value)
        if hit:
            raise invalid(
                f"Surrogate characters are not allowed: U+{ord(hit):X}.", attr, "surrogate_characters_not_allowed"
            )


def json_text(value: Any) -> str | None:
    """JSON for a JSON column (ASCII-escaped, so any text the parser accepted can be stored)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))
