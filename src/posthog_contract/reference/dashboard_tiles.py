"""Tiles: PATCH tile payloads (contract §2.6), ``duplicate_tiles``, copies, and ``move_tile`` (§5).

PostHog source: ``products/dashboards/backend/api/dashboard.py`` (``DashboardSerializer.update``,
``_update_tiles``, ``_deep_duplicate_tiles``; ``DashboardsViewSet.move_tile``) and
``products/dashboards/backend/models/dashboard_tile.py``. Every payload is validated before any
write, so a refused PATCH leaves nothing behind.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import DASHBOARD_WRITE, Ctx, authorize
from .bodies import read_data
from .dashboard_access import (
    ANONYMOUS_EMPTY_200,
    access,
    detail_response,
    endpoint,
    find_dashboard,
    load_dashboard,
    lookup_dashboard,
    object_id,
    require_edit,
)
from .drf_fields import (
    boolean_field,
    char_field,
    choice_field,
    dict_field,
    integer_field,
    invalid,
    list_field,
    null_error,
    reject_surrogates,
    uuid_field,
)
from .errors import empty_response
from .plan import move_tile_key as plan_move_tile_key
from .storage import json_text
from .timeutil import iso_z, now

#: the derived per-field checks of every write (tests/test_writes.py); a killer names one of its items
_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
_EFFECTS = "tests/test_writes.py::test_write_changes_only_what_the_contract_says"

TILE_NOT_MOVED = mutants.declare("tile_not_moved", "move_tile moves the tile to the destination (§5)")
TILE_DISPLAY_DROPPED = mutants.declare(
    "tile_payload_display_dropped", "a new text tile keeps the colour and layout of its payload (§2.6)",
    killed_by=(f"{_FIELDS}[dashboards_partial_update-tiles]", f"{_FIELDS}[dashboards_update-tiles]"),
)
MOVE_RESETS_TILE = mutants.declare(
    "move_tile_resets_tile_display", "a moved tile keeps its colour and layout (§5: only its dashboard changes)",
    killed_by=(_EFFECTS,),
)
MOVE_EVERY_TILE = mutants.declare(
    "move_tile_moves_every_tile", "move_tile moves the one tile it names; the source keeps the others (§5)",
    killed_by=(_EFFECTS,),
)
MOVE_UNKNOWN_TILE_200 = mutants.declare(
    "move_tile_unknown_tile_200", "move_tile with a tile not on the source is 404 (§5)"
)
MOVE_MISSING_FIELD_500 = mutants.declare(
    "move_tile_missing_field_500", "move_tile without to_dashboard is 400 required, never a 5xx (§1.7, §5)"
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

# --- tile payloads in PATCH (§2.6) ------------------------------------------------------------------

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
        elif item.get("button_tile"):
            plan.append(("button", {"tile": existing, "display": display,
                                    **_plan_button(ctx, dashboard_id, item["button_tile"])}))
        elif item.get("widget"):
            _refuse_widget(item["widget"])
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
                conn.execute("UPDATE tiles SET text_id = ?, insight_id = NULL, button_tile_id = NULL WHERE id = ?",
                             (text_id, tile_id))
        elif kind == "button":
            tile_id = _apply_button(ctx, conn, dashboard_id, tile_id, op, stamp)
        if mutants.active(TILE_DISPLAY_DROPPED) and kind == "text" and op["tile"] is None:
            display = {}  # a new text tile: its payload's colour and layout dropped
        for column, value in display.items():
            if column in TILE_DISPLAY_FIELDS:
                conn.execute(f"UPDATE tiles SET {column} = ? WHERE id = ?", (value, tile_id))


# --- button and widget tile items (§2.6) ----------------------------------------------------------------

BUTTON_PLACEMENTS = ("left", "right")
BUTTON_STYLES = ("primary", "secondary")
#: PostHog's EXPECTED_WIDGET_TYPES (products/dashboards/backend/widget_registry.py, WIDGET_SPECS)
WIDGET_TYPES = ("activity_events_list", "error_tracking_list", "experiment_results", "experiments_list",
                "logs_list", "session_replay_list", "survey_results")
_PATHNAME = re.compile(r"^/[a-zA-Z0-9._~:/?#\[\]@!$&'()*+,;=%-]*$")
_HOSTNAME = re.compile(
    r"^(localhost|\d{1,3}(\.\d{1,3}){3}|[0-9a-f.]*:[0-9a-f:.]*|([a-z0-9-]+\.)+([a-z]{2,63}|xn--[a-z0-9-]+))$"
)


def _button_url(value: Any) -> str:
    """``ButtonTileSerializer.url``: a CharField (max 2000) and its ``validate_url``: a pathname of URL
    characters, or an http(s) URL (Django's ``URLValidator``, approximated by scheme, host and no spaces)."""
    url = char_field(value, "button_tile__url", max_length=2000, allow_blank=False,
                     max_length_message="Button URL cannot exceed 2000 characters")
    assert url is not None
    if url.startswith("/"):
        if not _PATHNAME.match(url):
            raise invalid("Pathname must start with / and contain valid URL path characters", "button_tile__url")
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or any(c.isspace() for c in url) or parts.scheme.lower() not in ("http", "https") or (
        not _HOSTNAME.match(host)
    ):
        raise invalid("Must be a valid URL or a pathname starting with /", "button_tile__url")
    return url


def _plan_button(ctx: Ctx, dashboard_id: int, raw: Any) -> dict[str, Any]:
    """A ``button_tile`` item as ``DashboardSerializer._update_tiles`` reads it: ``ButtonTileSerializer``
    validates ``url``, ``text``, ``placement``, ``style`` in field order, its errors keyed under
    ``button_tile`` (attr ``button_tile__url``); an ``id`` names a button tile of the project ("Button
    tile not found in this team.") that sits on this dashboard ("Button tile not found.")."""
    data = dict_field(raw, "button_tile")
    fields: dict[str, Any] = {}
    if "url" not in data:
        raise errors.required("button_tile__url")
    fields["url"] = _button_url(data["url"])
    if "text" not in data:
        raise errors.required("button_tile__text")
    fields["text"] = char_field(data["text"], "button_tile__text", max_length=200, allow_blank=False,
                                max_length_message="Button text cannot exceed 200 characters")
    # placement is a serializer ChoiceField with default "left" (so an update without it resets it);
    # style the model's choices field, read only when sent
    fields["placement"] = choice_field(data.get("placement", "left"), "button_tile__placement", BUTTON_PLACEMENTS)
    if "style" in data:
        fields["style"] = choice_field(data["style"], "button_tile__style", BUTTON_STYLES)
    button_id = None
    if data.get("id"):
        button_id = str(data["id"])
        if not ctx.db.one("SELECT 1 FROM button_tiles WHERE id = ? AND project_id = ?", (button_id, ctx.project_id)):
            raise invalid("Button tile not found in this team.", "button_tile")
        on_dashboard = "SELECT 1 FROM tiles WHERE dashboard_id = ? AND button_tile_id = ?"
        if not ctx.db.one(on_dashboard, (dashboard_id, button_id)):
            raise invalid("Button tile not found.", "button_tile")
    return {"button_id": button_id, "fields": fields}


def _apply_button(ctx: Ctx, conn: sqlite3.Connection, dashboard_id: int, tile_id: int | None, op: dict[str, Any],
                  stamp: str) -> int:
    fields = {"style": "primary", **op["fields"]} if op["button_id"] is None else op["fields"]
    button_id = op["button_id"]
    if button_id is None:
        button_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO button_tiles (id, project_id, url, text, placement, style, created_by, last_modified_at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (button_id, ctx.project_id, fields["url"], fields["text"], fields["placement"], fields["style"],
             ctx.user["id"], stamp),
        )
    else:
        assignments = ", ".join(f"{column} = ?" for column in fields)
        conn.execute(f"UPDATE button_tiles SET {assignments}, last_modified_at = ?, last_modified_by = ? WHERE id = ?",
                     (*fields.values(), stamp, ctx.user["id"], button_id))
    if tile_id is None:
        return int(conn.execute("INSERT INTO tiles (dashboard_id, button_tile_id, layouts) VALUES (?,?,?)",
                                (dashboard_id, button_id, "{}")).lastrowid or 0)
    conn.execute("UPDATE tiles SET button_tile_id = ?, text_id = NULL, insight_id = NULL WHERE id = ?",
                 (button_id, tile_id))
    return tile_id


def _refuse_widget(raw: Any) -> None:
    """A ``widget`` item: ``DashboardPatchWidgetSerializer`` validates ``config``, ``name``, ``description``,
    ``widget_type`` and ``id`` (errors keyed under ``widget``), then ``dashboard_widgets_enabled`` is asked;
    the reference's project does not have PostHog's dashboard widgets, so a valid item is 400 too (§2.6)."""
    data = dict_field(raw, "widget")
    if "config" in data and data["config"] is None:
        raise null_error("widget__config")  # JSONField: any JSON but null
    if "name" in data:
        char_field(data["name"], "widget__name", max_length=400, allow_null=True)
    if "description" in data:
        char_field(data["description"], "widget__description")
    if "widget_type" in data:
        choice_field(data["widget_type"], "widget__widget_type", WIDGET_TYPES)
    if "id" in data:
        uuid_field(data["id"], "widget__id")
    raise invalid("Dashboard widgets are not enabled for this project.", "widget")


# --- copies (use_dashboard §2.3, duplicate_tiles §2.5) ----------------------------------------------

def copy_tile(ctx: Ctx, conn: sqlite3.Connection, tile: sqlite3.Row, target_id: int, *, deep: bool,
              layouts: str | None = None) -> None:
    """One tile onto ``target_id``; a shallow copy shares the insight or text, a deep one copies it and
    appends " (Copy)" to the insight's name (PostHog: ``DashboardSerializer._deep_duplicate_tiles``)."""
    stamp = iso_z(now())
    insight_id, text_id, button_id = tile["insight_id"], tile["text_id"], tile["button_tile_id"]
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
    elif deep and button_id is not None:
        button = conn.execute("SELECT * FROM button_tiles WHERE id = ?", (button_id,)).fetchone()
        button_id = str(uuid.uuid4())
        conn.execute(
            "INSERT INTO button_tiles (id, project_id, url, text, placement, style, created_by, last_modified_at)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (button_id, ctx.project_id, button["url"], button["text"], button["placement"], button["style"],
             ctx.user["id"], stamp),
        )
    conn.execute(
        "INSERT INTO tiles (dashboard_id, insight_id, text_id, button_tile_id, layouts, color, show_description,"
        " transparent_background) VALUES (?,?,?,?,?,?,?,?)",
        (target_id, insight_id, text_id, button_id, tile["layouts"] if layouts is None else layouts, tile["color"],
         tile["show_description"], tile["transparent_background"]),
    )


def duplicate_tiles(ctx: Ctx, conn: sqlite3.Connection, source_id: int, target_id: int, *, deep: bool) -> None:
    """Copy the source's non-deleted tiles; shallow copies share insights and texts (§2.3)."""
    tiles = conn.execute("SELECT * FROM tiles WHERE dashboard_id = ? AND deleted = 0 ORDER BY id", (source_id,))
    for tile in tiles.fetchall():
        copy_tile(ctx, conn, tile, target_id, deep=deep)


# --- move_tile (§5) --------------------------------------------------------------------------------------


@endpoint
async def move_tile(request: Request) -> Response:
    if mutants.active(ANONYMOUS_EMPTY_200) and "authorization" not in request.headers:
        return empty_response(200)
    ctx = await authorize(request, DASHBOARD_WRITE)
    if mutants.active(MOVE_POST_REFUSED) and request.method == "POST":
        raise errors.method_not_allowed(request.method)
    source = lookup_dashboard(ctx, request.path_params["id"])
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
        for column in ("insight_id", "text_id", "button_tile_id"):
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
