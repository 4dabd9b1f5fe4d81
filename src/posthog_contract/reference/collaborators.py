"""Dashboard collaborators (contract §4): explicit edit privileges on restricted dashboards.

PostHog source: ``ee/api/dashboard_collaborator.py`` (``DashboardCollaboratorViewSet``). The list
is a plain array; POST applies §4.1's rules in their order; DELETE looks the collaborator up by
user UUID before it checks the restriction level; the item answers 405 to GET, PATCH and PUT.
"""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import DASHBOARD_READ, DASHBOARD_WRITE, Ctx, authorize
from .bodies import read_data
from .dashboard_access import (
    CAN_EDIT,
    DASHBOARD_NOT_FOUND,
    EVERYONE_CAN_EDIT,
    RESTRICTION_LEVELS,
    access,
    access_for,
    load_dashboard,
    membership_level,
    not_allowed,
    require_edit,
)
from .drf_fields import choice_field, invalid, reject_surrogates, uuid_field
from .errors import empty_response, json_response
from .pages import page, window
from .routing import Route
from .timeutil import iso_z, now
from .users import user_basic

LIST_PAGINATED = mutants.declare(
    "collaborator_list_paginated", "the collaborators list is a plain array, not a paginated object (§4.1)"
)
DELETE_200_BODY = mutants.declare(
    "collaborator_delete_returns_200_body", "collaborator DELETE answers 204 with an empty body (§4.1)"
)
LEVEL21_ACCEPTED = mutants.declare(
    "collaborator_level21_accepted", "adding a collaborator with level 21 is 400 (§4.1 rule 5)"
)
DUPLICATE_ACCEPTED = mutants.declare(
    "collaborator_duplicate_accepted", "adding an existing collaborator again is 400 (§4.1 rule 9)"
)
OWNER_ACCEPTED = mutants.declare(
    "collaborator_owner_accepted", "adding the owner or an admin as collaborator is 400 (§4.1 rule 8)"
)
PATCH_ALLOWED = mutants.declare("collaborator_patch_allowed", "PATCH on a collaborator answers 405 (§4.1)")
ADDED_NOT_LISTED = mutants.declare(
    "collaborator_added_not_listed", "an added collaborator is listed (§4.1)",
    killed_by=("tests/test_collaborators.py::test_add_collaborator_is_201_and_listed",),
)
REMOVED_STILL_LISTED = mutants.declare(
    "collaborator_removed_still_listed", "a removed collaborator is no longer listed (§4.1)",
    killed_by=("tests/test_collaborators.py::test_remove_collaborator_is_204_and_unlisted",),
)
DELETE_UNKNOWN_204 = mutants.declare(
    "collaborator_delete_unknown_204", "DELETE of a user who is not a collaborator is 404 (§4.1)",
    killed_by=("tests/test_collaborators.py::test_remove_a_non_collaborator_is_404",),
)
_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
ROW_LEVEL_21 = mutants.declare(
    "collaborator_row_level_21", "a collaborator's row shows its level, 37 (§4.1)",
    killed_by=(f"{_FIELDS}[dashboards_collaborators_create-level]",
               "tests/test_writes.py::test_write_changes_only_what_the_contract_says[dashboards_collaborators_create]"),
)
ROW_DASHBOARD_FROM_BODY = mutants.declare(
    "collaborator_dashboard_id_from_body",
    "`dashboard_id` is read-only: the answer names the dashboard of the path, never the body's (§4.1)",
    killed_by=(f"{_FIELDS}[dashboards_collaborators_create-dashboard_id]",),
)
REMOVED_EVERYWHERE = mutants.declare(
    "collaborator_removed_from_every_dashboard",
    "removing a collaborator removes them from that dashboard only (§4.1)",
    killed_by=("tests/test_writes.py::test_write_changes_only_what_the_contract_says[dashboards_collaborators_destroy]",),
)
LOWEST_LEVEL_ACCEPTED = mutants.declare(
    "collaborator_lowest_level_accepted", "no collaborators on a dashboard at restriction level 21 (§4.1 rule 4)",
    killed_by=("tests/test_collaborators.py::test_add_on_lowest_restriction_level_is_400",),
)


def _dashboard(ctx: Ctx, request: Request) -> sqlite3.Row:
    return load_dashboard(ctx, request.path_params["dashboard_id"], detail=DASHBOARD_NOT_FOUND)


def collaborator_json(row: sqlite3.Row) -> dict[str, Any]:
    """``row`` joins collaborators (``c_*`` columns) with the user's columns."""
    return {
        "id": row["c_id"],
        "dashboard_id": row["c_dashboard_id"],
        "user": user_basic(row),
        "level": 21 if mutants.active(ROW_LEVEL_21) else row["c_level"],
        "added_at": row["c_added_at"],
        "updated_at": row["c_updated_at"],
    }


_SELECT = (
    "SELECT c.id AS c_id, c.dashboard_id AS c_dashboard_id, c.level AS c_level, c.added_at AS c_added_at,"
    " c.updated_at AS c_updated_at, u.* FROM collaborators c JOIN users u ON u.id = c.user_id"
    " WHERE c.dashboard_id = ? AND u.is_active = 1"
)


def _find(ctx: Ctx, dashboard_id: int, raw_uuid: str) -> sqlite3.Row:
    """The collaborator by user UUID (any spelling Django's UUIDField takes), else 404 "Not found."."""
    try:
        user_uuid = str(uuid.UUID(raw_uuid))
    except ValueError:
        raise errors.not_found() from None
    row = ctx.db.one(_SELECT + " AND u.uuid = ?", (dashboard_id, user_uuid))
    if row is None:
        raise errors.not_found()
    return row


async def list_collaborators(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_READ)
    dashboard = _dashboard(ctx, request)
    items = [collaborator_json(r) for r in ctx.db.all(_SELECT + " ORDER BY c.added_at, c.id", (dashboard["id"],))]
    if mutants.active(ADDED_NOT_LISTED):
        items = []
    if mutants.active(LIST_PAGINATED):
        win = window(request)
        return json_response(page(request, items[win.offset : win.offset + win.limit], len(items), win))
    return json_response(items)


async def add_collaborator(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_WRITE)
    dashboard = _dashboard(ctx, request)  # rule 1
    require_edit(ctx, dashboard)  # rule 2
    data = await read_data(request)
    reject_surrogates(data)
    # rule 3: DRF's field order is level, then user_uuid
    if "level" not in data:
        raise errors.required("level")
    level = choice_field(data["level"], "level", RESTRICTION_LEVELS)
    if "user_uuid" not in data:
        raise errors.required("user_uuid")
    user_uuid = uuid_field(data["user_uuid"], "user_uuid")
    lowest = access(ctx, dashboard).effective_restriction_level <= EVERYONE_CAN_EDIT
    if lowest and not mutants.active(LOWEST_LEVEL_ACCEPTED):  # rule 4
        raise invalid("Cannot add collaborators to a dashboard on the lowest restriction level.", None)
    if level != CAN_EDIT and not mutants.active(LEVEL21_ACCEPTED):  # rule 5
        raise invalid("Only edit access can be explicitly specified currently.", None)
    user = ctx.db.one("SELECT * FROM users WHERE uuid = ? AND is_active = 1", (user_uuid,))
    if user is None:  # rule 6
        raise invalid("User does not exist.", None)
    user_level = membership_level(ctx.db, ctx.project_id, user["id"])
    if user_level is None:  # rule 7
        raise invalid("Cannot add collaborators that have no access to the project.", None)
    assert ctx.organization is not None
    theirs = access_for(
        ctx.db, dashboard, user["id"], org_access_control=bool(ctx.organization["access_control"]), org_level=user_level
    )
    if theirs.can_restrict and not mutants.active(OWNER_ACCEPTED):  # rule 8
        raise invalid(
            "Cannot add collaborators that already have inherent access (the dashboard owner or a project admins).",
            None,
        )
    existing = ctx.db.one(_SELECT + " AND u.id = ?", (dashboard["id"], user["id"]))
    if existing is not None:  # rule 9
        if mutants.active(DUPLICATE_ACCEPTED):
            return json_response(collaborator_json(existing), 201)
        raise invalid("User already is a collaborator.", None)
    stamp = iso_z(now())
    with ctx.db.write() as conn:
        conn.execute(
            "INSERT INTO collaborators (id, dashboard_id, user_id, level, added_at, updated_at) VALUES (?,?,?,?,?,?)",
            (str(uuid.uuid4()), dashboard["id"], user["id"], level, stamp, stamp),
        )
    row = ctx.db.one(_SELECT + " AND u.id = ?", (dashboard["id"], user["id"]))
    if mutants.active(ROW_DASHBOARD_FROM_BODY) and isinstance(data.get("dashboard_id"), int):
        return json_response({**collaborator_json(row), "dashboard_id": data["dashboard_id"]}, 201)
    return json_response(collaborator_json(row), 201)


async def remove_collaborator(request: Request) -> Response:
    ctx = await authorize(request, DASHBOARD_WRITE)
    dashboard = _dashboard(ctx, request)
    require_edit(ctx, dashboard)
    listed = ctx.db.one(_SELECT + " AND u.uuid = ?", (dashboard["id"], request.path_params["user_uuid"]))
    if mutants.active(DELETE_UNKNOWN_204) and listed is None:
        return empty_response(204)
    row = _find(ctx, dashboard["id"], request.path_params["user_uuid"])
    if access(ctx, dashboard).effective_restriction_level <= EVERYONE_CAN_EDIT:
        raise invalid("Cannot remove collaborators from a dashboard on the lowest restriction level.", None)
    if not mutants.active(REMOVED_STILL_LISTED):
        with ctx.db.write() as conn:
            conn.execute("DELETE FROM collaborators WHERE id = ?", (row["c_id"],))
            if mutants.active(REMOVED_EVERYWHERE):
                conn.execute("DELETE FROM collaborators WHERE user_id = ?", (row["id"],))
    if mutants.active(DELETE_200_BODY):
        return json_response(collaborator_json(row), 200)
    return empty_response(204)


async def patch_collaborator(request: Request) -> Response:
    if not mutants.active(PATCH_ALLOWED):
        return await not_allowed(DASHBOARD_WRITE)(request)
    ctx = await authorize(request, DASHBOARD_WRITE)
    dashboard = _dashboard(ctx, request)
    return json_response(collaborator_json(_find(ctx, dashboard["id"], request.path_params["user_uuid"])))


ROUTES = [
    Route(
        "{prefix}/dashboards/{dashboard_id}/collaborators",
        {
            "GET": list_collaborators,
            "POST": add_collaborator,
            "PATCH": not_allowed(DASHBOARD_WRITE),
            "PUT": not_allowed(DASHBOARD_WRITE),
            "DELETE": not_allowed(DASHBOARD_WRITE),
        },
    ),
    Route(
        "{prefix}/dashboards/{dashboard_id}/collaborators/{user_uuid}",
        {
            "DELETE": remove_collaborator,
            "GET": not_allowed(DASHBOARD_READ),
            "PATCH": patch_collaborator,
            "PUT": not_allowed(DASHBOARD_WRITE),
            "POST": not_allowed(DASHBOARD_WRITE),
        },
    ),
]
