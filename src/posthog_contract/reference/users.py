"""Users, organisation members and projects: what the suite needs to find ids and a collaborator (§0.4, §4.3)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import pages, plan
from .auth import authorize
from .errors import json_response
from .routing import Route


def user_basic(row: sqlite3.Row) -> dict[str, Any]:
    """PostHog's ``UserBasicSerializer`` (§2.1), as the configured release answers it."""
    return plan.shape("user_basic", {
        "id": row["id"],
        "uuid": row["uuid"],
        "distinct_id": row["distinct_id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "email": row["email"],
        "is_email_verified": None if row["is_email_verified"] is None else bool(row["is_email_verified"]),
        "hedgehog_config": None,
        "role_at_organization": row["role_at_organization"],
    })


def project_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "uuid": row["uuid"],
        "organization": row["organization_id"],
        "name": row["name"],
        "api_token": row["api_token"],
        "timezone": row["timezone"],
    }


def _visible_projects(ctx_db: Any, user_id: int, scoped_teams: list[int] | None) -> list[sqlite3.Row]:
    rows = ctx_db.all(
        "SELECT p.* FROM projects p JOIN memberships m ON m.organization_id = p.organization_id"
        " WHERE m.user_id = ? ORDER BY p.id",
        (user_id,),
    )
    return [r for r in rows if scoped_teams is None or r["id"] in scoped_teams]


async def me(request: Request) -> Response:
    ctx = await authorize(request, "user:read", project=False)
    user = ctx.user
    body = user_basic(user)
    project = ctx.db.one("SELECT * FROM projects WHERE id = ?", (user["current_project_id"],))
    if project is not None:
        organization = ctx.db.one("SELECT * FROM organizations WHERE id = ?", (project["organization_id"],))
        body["organization"] = {"id": organization["id"], "name": organization["name"]}
        body["team"] = {
            "id": project["id"],
            "project_id": project["id"],
            "name": project["name"],
            "api_token": project["api_token"],
        }
    return json_response(body)


async def members(request: Request) -> Response:
    ctx = await authorize(request, "organization_member:read", project=False)
    project = ctx.db.one("SELECT * FROM projects WHERE id = ?", (ctx.user["current_project_id"],))
    rows = ctx.db.all(
        "SELECT m.id AS membership_id, m.level, m.joined_at, u.* FROM memberships m JOIN users u ON u.id = m.user_id"
        " WHERE m.organization_id = ? AND u.is_active = 1 ORDER BY u.id",
        (project["organization_id"],),
    )
    results = [
        {
            "id": r["membership_id"],
            "user": user_basic(r),
            "level": r["level"],
            "joined_at": r["joined_at"],
            "updated_at": r["joined_at"],
        }
        for r in rows
    ]
    win = pages.window(request)
    return json_response(pages.page(request, results[win.offset : win.offset + win.limit], len(results), win))


async def projects(request: Request) -> Response:
    ctx = await authorize(request, "project:read", project=False)
    scoped = ctx.key["scoped_teams"]
    rows = _visible_projects(ctx.db, ctx.user["id"], None if scoped is None else json.loads(scoped))
    win = pages.window(request)
    items = [project_json(r) for r in rows]
    return json_response(pages.page(request, items[win.offset : win.offset + win.limit], len(items), win))


async def current_organization(request: Request) -> Response:
    """The key owner's organisation with its plan (PostHog: ``OrganizationSerializer``,
    ``available_product_features``): how a client learns whether tagging is a paid feature it lacks."""
    ctx = await authorize(request, "organization:read", project=False)
    project = ctx.db.one("SELECT * FROM projects WHERE id = ?", (ctx.user["current_project_id"],))
    organization = ctx.db.one("SELECT * FROM organizations WHERE id = ?", (project["organization_id"],))
    body = {"id": organization["id"], "name": organization["name"],
            "available_product_features": plan.available_product_features()}
    return json_response(body)


ROUTES = [
    Route("/api/users/@me", {"GET": me}),
    Route("/api/organizations/@current", {"GET": current_organization}),
    Route("/api/organizations/@current/members", {"GET": members}),
    Route("/api/projects", {"GET": projects}),
]
