"""Dashboard templates: ``use_template`` on create (contract §2.3) and ``create_from_template_json`` (§6).

PostHog source: ``posthog/helpers/dashboard_templates.py`` (``create_from_template``, ``DEFAULT_APP``),
``products/dashboards/backend/api/dashboard.py`` (``DashboardsViewSet.create_from_template_json``) and
its JSON schema parser (``dashboard_template_json_schema_parser.py``).
"""

from __future__ import annotations

import copy
import sqlite3
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import DASHBOARD_WRITE, Ctx, authorize
from .bodies import read_data
from .dashboard_access import ANONYMOUS_EMPTY_200, TAG_MAX_LENGTH, detail_response, endpoint
from .drf_fields import dict_field, invalid, null_error, reject_surrogates
from .errors import empty_response
from .storage import json_text, loads
from .timeutil import iso_z, now

TEMPLATE_201 = mutants.declare("template_returns_201", "create_from_template_json answers 200, not 201 (§6)")
TEMPLATE_NO_NAME_ACCEPTED = mutants.declare(
    "template_missing_name_accepted", "a template without template_name is 400 (§6)"
)
TEMPLATE_NO_TILES_ACCEPTED = mutants.declare(
    "template_empty_tiles_accepted", "a template with an empty tiles array is 400 (§6)"
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
TEMPLATE_FILTERS_DROPPED = mutants.declare(
    "template_filters_dropped", "the template's dashboard carries dashboard_filters (§6)",
    killed_by=("tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
               "[dashboards_create_from_template_json_create-template.dashboard_filters]",),
)
TEMPLATE_RESTRICTED = mutants.declare(
    "template_dashboard_restricted", "a template's dashboard has the create defaults, restriction level 21 (§2.3, §6)",
    killed_by=("tests/test_flows.py::test_template_creation_adds_one_dashboard_with_the_documented_defaults",),
)
TEMPLATE_NOT_KEPT = mutants.declare(
    "template_dashboard_not_kept", "the dashboard create_from_template_json answers with is stored (§6)",
    killed_by=("tests/test_template.py::test_template_creates_a_dashboard_named_after_it",),
)

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
