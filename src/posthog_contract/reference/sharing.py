"""Dashboard sharing (contract §3): one configuration object per dashboard, never an array.

PostHog source: ``posthog/api/sharing.py`` (``SharingConfigurationViewSet``). Nothing is stored
until the first PATCH (or refresh): a GET of a never-configured dashboard shows an unsaved
default with a fresh token each time. Refresh stores a new configuration (new token and
``created_at``) and gives the old one a grace period (``expires_at``).
"""

from __future__ import annotations

import secrets
import sqlite3
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants, plan
from .auth import SHARING_READ, SHARING_WRITE, Ctx, authorize
from .bodies import read_data
from .dashboard_access import (
    DASHBOARD_NOT_FOUND,
    current_sharing,
    load_dashboard,
    not_allowed,
    require_edit,
)
from .drf_fields import boolean_field, invalid, reject_surrogates
from .errors import json_response
from .routing import Route
from .storage import json_text, loads
from .timeutil import iso_z, now

SHARING_ARRAY = mutants.declare("sharing_array", "sharing GET answers one SharingConfiguration object (§3, §10)")
ENABLE_NOT_STORED = mutants.declare(
    "sharing_enable_not_stored", "sharing PATCH stores enabled (a later GET shows it) (§3)"
)
TOKEN_NOT_ROTATED = mutants.declare(
    "sharing_token_not_rotated", "sharing refresh issues a new access_token (§3)"
)
DELETED_SERVED = mutants.declare(
    "sharing_of_deleted_dashboard_served",
    "sharing of a soft-deleted dashboard is 404 \"Dashboard not found.\" (§2.8, §3)",
)
SETTINGS_403_ERROR = mutants.declare(
    "sharing_settings_403_error_body",
    "only password_required without the feature answers 403 {error}; other refusals carry the envelope (§1.2, §3)",
    killed_by=(
        "tests/test_sharing.py::test_settings_are_accepted_or_refused_with_the_envelope",
        "tests/test_property_based.py::test_write_operations_conform",
    ),
)
ENABLED_COERCED = mutants.declare(
    "sharing_enabled_non_boolean_accepted", "a non-boolean `enabled` is a 400 on `enabled` (§3)",
    killed_by=("tests/test_sharing.py::test_enabled_must_be_a_boolean",),
)
UNKNOWN_DASHBOARD_SERVED = mutants.declare(
    "sharing_of_unknown_dashboard_200", "sharing of an unknown dashboard is 404 \"Dashboard not found.\" (§3)",
    killed_by=("tests/test_sharing.py::test_sharing_of_an_unknown_dashboard_is_404",),
)
PASSWORD_REQUIRED_COERCED = mutants.declare(
    "sharing_password_required_coerced", "a non-boolean password_required is a 400 (§3; DRF BooleanField)",
    killed_by=(
        "tests/test_sharing.py::test_password_required_must_be_a_boolean",
        "tests/test_property_based.py::test_write_operations_conform",
    ),
)

_FIELDS = "tests/test_writes.py::test_write_stores_each_field_and_ignores_the_rest"
SETTINGS_ECHOED = mutants.declare(
    "sharing_settings_echoed_not_stored", "sharing PATCH stores `settings` (a later GET shows them) (§3)",
    killed_by=(f"{_FIELDS}[dashboards_sharing_partial_update-settings]",),
)
PASSWORD_FLAG_ECHOED = mutants.declare(
    "sharing_password_required_echoed_not_stored", "sharing PATCH stores `password_required` (§3)",
    killed_by=(f"{_FIELDS}[dashboards_sharing_partial_update-password_required]",),
)
TOKEN_WRITABLE = mutants.declare(
    "sharing_access_token_writable", "`access_token` is read-only: a PATCH never sets it (§1.1, §3)",
    killed_by=(f"{_FIELDS}[dashboards_sharing_partial_update-access_token]",),
)
REFRESH_DROPS_SETTINGS = mutants.declare(
    "sharing_refresh_drops_settings", "refresh copies enabled, settings and password_required (§3)",
    killed_by=("tests/test_writes.py::test_write_changes_only_what_the_contract_says[dashboards_sharing_refresh_create]",),
)
ENABLE_RESETS_SETTINGS = mutants.declare(
    "sharing_enable_resets_settings", "a PATCH changes only the fields it carries: enabling keeps the settings (§3)",
    killed_by=("tests/test_flows.py::test_sharing_changes_touch_only_what_they_write",),
)

REFRESH_GRACE = timedelta(minutes=5)


def new_token() -> str:
    """PostHog: ``secrets.token_urlsafe(22)``."""
    return secrets.token_urlsafe(22)


def _dashboard(ctx: Ctx, request: Request) -> sqlite3.Row:
    return load_dashboard(
        ctx,
        request.path_params["dashboard_id"],
        detail=DASHBOARD_NOT_FOUND,
        include_deleted=mutants.active(DELETED_SERVED),
    )


def config_json(row: sqlite3.Row | None) -> dict[str, Any]:
    """PostHog's ``SharingConfigurationSerializer`` as the configured release answers it (§3, §11)."""
    return plan.shape("sharing", _config_json(row))


def _config_json(row: sqlite3.Row | None) -> dict[str, Any]:
    if row is None:  # unsaved default: a fresh token on every GET
        return {
            "created_at": None,
            "enabled": False,
            "access_token": new_token(),
            "settings": None,
            "password_required": False,
            "share_passwords": [],
        }
    return {
        "created_at": row["created_at"],
        "enabled": bool(row["enabled"]),
        "access_token": row["access_token"],
        "settings": loads(row["settings"]),
        "password_required": bool(row["password_required"]),
        "share_passwords": [],
    }


async def get_sharing(request: Request) -> Response:
    ctx = await authorize(request, SHARING_READ)
    if mutants.active(UNKNOWN_DASHBOARD_SERVED):
        try:
            _dashboard(ctx, request)
        except errors.ApiError:
            return json_response(config_json(None))
    dashboard = _dashboard(ctx, request)
    body: Any = config_json(current_sharing(ctx.db, dashboard["id"]))
    if mutants.active(SHARING_ARRAY):
        body = [body]
    return json_response(body)


def _validate(data: dict[str, Any]) -> dict[str, Any]:
    """DRF field order: enabled, settings, password_required; the first error is reported."""
    out: dict[str, Any] = {}
    if "enabled" in data:
        coerced = mutants.active(ENABLED_COERCED)
        out["enabled"] = bool(data["enabled"]) if coerced else boolean_field(data["enabled"], "enabled")
    if "settings" in data:
        settings = data["settings"]
        if settings is not None and not isinstance(settings, dict):
            raise invalid("Invalid settings format", "settings")
        out["settings"] = settings
    if "password_required" in data:
        if mutants.active(PASSWORD_REQUIRED_COERCED):
            out["password_required"] = bool(data["password_required"])
        else:
            out["password_required"] = boolean_field(data["password_required"], "password_required")
    return out


async def patch_sharing(request: Request) -> Response:
    ctx = await authorize(request, SHARING_WRITE)
    dashboard = _dashboard(ctx, request)
    data = await read_data(request)
    reject_surrogates(data)
    require_edit(ctx, dashboard)
    values = _validate(data)
    if mutants.active(SETTINGS_403_ERROR) and "settings" in values:
        raise errors.RawResponse(json_response({"error": "Sharing settings are not available"}, 403))
    stored_values = dict(values)
    if mutants.active(ENABLE_NOT_STORED):
        stored_values.pop("enabled", None)
    current = current_sharing(ctx.db, dashboard["id"])
    with ctx.db.write() as conn:
        if current is None:
            config_id = conn.execute(
                "INSERT INTO sharing_configurations (dashboard_id, created_at, enabled, access_token, settings,"
                " password_required) VALUES (?,?,?,?,?,?)",
                (
                    dashboard["id"],
                    iso_z(now()),
                    int(bool(stored_values.get("enabled"))),
                    new_token(),
                    json_text(stored_values.get("settings")),
                    int(bool(stored_values.get("password_required"))),
                ),
            ).lastrowid
        else:
            config_id = current["id"]
            changes: dict[str, Any] = {}
            if "enabled" in stored_values:
                changes["enabled"] = int(bool(stored_values["enabled"]))
                if stored_values["enabled"] and not current["enabled"]:
                    changes["access_token"] = new_token()  # re-enabling issues a new link (newest PostHog)
            if "settings" in stored_values:
                changes["settings"] = json_text(stored_values["settings"])
            resets = mutants.active(ENABLE_RESETS_SETTINGS) and stored_values.get("enabled")
            if resets and "settings" not in stored_values:
                changes["settings"] = None
            if "password_required" in stored_values:
                changes["password_required"] = int(bool(stored_values["password_required"]))
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                conn.execute(
                    f"UPDATE sharing_configurations SET {assignments} WHERE id = ?", (*changes.values(), config_id)
                )
        if mutants.active(TOKEN_WRITABLE) and isinstance(data.get("access_token"), str):
            conn.execute("UPDATE sharing_configurations SET access_token = ? WHERE id = ?",
                         (data["access_token"], config_id))
    body = config_json(ctx.db.one("SELECT * FROM sharing_configurations WHERE id = ?", (config_id,)))
    restore = [c for name, c in ((SETTINGS_ECHOED, "settings"), (PASSWORD_FLAG_ECHOED, "password_required"))
               if mutants.active(name) and c in values]
    if restore:  # answered as written, stored as it was
        for column in restore:
            body[column] = values[column]
        with ctx.db.write() as conn:
            for column in restore:
                old = current[column] if current is not None else None
                conn.execute(f"UPDATE sharing_configurations SET {column} = ? WHERE id = ?",
                             (old if column == "settings" else int(bool(old)), config_id))
    if "enabled" in values:
        body["enabled"] = bool(values["enabled"])  # echoed even when a mutant did not store it
    return json_response(body)


async def refresh_sharing(request: Request) -> Response:
    ctx = await authorize(request, SHARING_WRITE)
    dashboard = _dashboard(ctx, request)
    require_edit(ctx, dashboard)
    current = current_sharing(ctx.db, dashboard["id"])
    stamp = now()
    with ctx.db.write() as conn:
        if current is not None and mutants.active(TOKEN_NOT_ROTATED):
            config_id = current["id"]
        else:
            if current is not None:
                conn.execute(
                    "UPDATE sharing_configurations SET expires_at = ? WHERE id = ?",
                    (iso_z(stamp + REFRESH_GRACE), current["id"]),
                )
            config_id = conn.execute(
                "INSERT INTO sharing_configurations (dashboard_id, created_at, enabled, access_token, settings,"
                " password_required) VALUES (?,?,?,?,?,?)",
                (
                    dashboard["id"],
                    iso_z(stamp),
                    current["enabled"] if current is not None else 0,
                    new_token(),
                    current["settings"] if current is not None and not mutants.active(REFRESH_DROPS_SETTINGS) else None,
                    current["password_required"] if current is not None else 0,
                ),
            ).lastrowid
    return json_response(config_json(ctx.db.one("SELECT * FROM sharing_configurations WHERE id = ?", (config_id,))))


ROUTES = [
    Route(
        "{prefix}/dashboards/{dashboard_id}/sharing",
        {
            "GET": get_sharing,
            "PATCH": patch_sharing,
            "PUT": not_allowed(SHARING_WRITE),
            "DELETE": not_allowed(SHARING_WRITE),
            "POST": not_allowed(SHARING_WRITE),
        },
    ),
    Route(
        "{prefix}/dashboards/{dashboard_id}/sharing/refresh",
        {
            "POST": refresh_sharing,
            "GET": not_allowed(SHARING_READ),
            "PATCH": not_allowed(SHARING_WRITE),
            "PUT": not_allowed(SHARING_WRITE),
            "DELETE": not_allowed(SHARING_WRITE),
        },
    ),
]
