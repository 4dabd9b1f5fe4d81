"""The organisation's plan and the PostHog release the reference imitates (``--without-feature``, ``--release``).

Set once at start-up, like the mutants. ``--release 2024-01`` answers with that era's shapes: the
fields PostHog added later are left out of dashboards, ``UserBasic`` and sharing configurations
(contract §11, "Version differences"; seen in PostHog's own 2021–2024 frontend fixtures). The
same fields carry ``x-posthog-added`` in the contract's schemas.
"""

from __future__ import annotations

from typing import Any

_STATE: dict[str, Any] = {"features_off": frozenset(), "release": None, "move_tile_key": "both"}

#: fields absent from releases up to 2024-01, per shape (contract §11)
LATER_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "2024-01": {
        "dashboard": (
            "team_id", "breakdown_colors", "data_color_theme_id", "persisted_filters", "persisted_variables",
            "user_access_level", "access_control_version", "variables", "last_viewed_at", "quick_filter_ids",
        ),
        "user_basic": ("role_at_organization", "last_name", "is_email_verified", "hedgehog_config"),
        "sharing": ("settings", "password_required", "share_passwords", "user_access_level"),
    }
}


def configure(features_off: frozenset[str], release: str | None, move_tile_key: str = "both") -> None:
    _STATE["features_off"] = frozenset(features_off)
    _STATE["release"] = release
    _STATE["move_tile_key"] = move_tile_key


def release() -> str | None:
    """The older release the reference imitates (``--release``), or None for the current one."""
    return _STATE["release"]


def move_tile_key() -> str:
    """Which destination key ``move_tile`` reads: ``both`` (default), ``to_dashboard`` or ``toDashboard``."""
    return str(_STATE["move_tile_key"])


def has(feature: str) -> bool:
    """Whether the organisation has this paid feature (``tagging``, ``access-control``)."""
    return feature not in _STATE["features_off"]


def available_product_features() -> list[dict[str, str]]:
    """The organisation's ``available_product_features`` (PostHog: ``OrganizationSerializer``)."""
    keys = [("tagging", "tagging"), ("access_control", "access-control"), ("advanced_permissions", "access-control")]
    return [{"key": key, "name": key.replace("_", " ").title()} for key, feature in keys if has(feature)]


def shape(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as the configured release answers it: later fields removed (current release: unchanged)."""
    release = _STATE["release"]
    if release is None:
        return body
    for name in LATER_FIELDS[release].get(kind, ()):
        body.pop(name, None)
    return body
