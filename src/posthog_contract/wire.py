"""Small facts of PostHog's wire format that the hand-written and the generated part both read.

One place each, so the two parts cannot drift apart: how a timestamp is spelled (§7.3), which
port a URL without one means (§1.6 `next` links), the error envelope's type/code per status
(§1.2), and the sentence PostHog answers when an endpoint refuses personal API keys (§1.4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

#: PostHog's 403 detail for endpoints that declare no scope: "This action does not support Personal
#: API Key access" (posthog/permissions.py, APIScopePermission); compared case-insensitively.
REFUSES_PERSONAL_KEYS = "does not support personal api key access"

#: status: (allowed `type`s, allowed `code`s or None for any) — contract §1.2 table
ENVELOPE_CODES: Mapping[int, tuple[frozenset[str], frozenset[str] | None]] = {
    400: (frozenset({"validation_error", "invalid_request"}), None),
    401: (frozenset({"authentication_error"}), frozenset({"not_authenticated", "authentication_failed"})),
    403: (frozenset({"authentication_error"}), frozenset({"permission_denied"})),
    404: (frozenset({"invalid_request"}), frozenset({"not_found"})),
    405: (frozenset({"invalid_request"}), frozenset({"method_not_allowed"})),
    415: (frozenset({"invalid_request"}), frozenset({"unsupported_media_type"})),
    429: (frozenset({"throttled_error"}), frozenset({"throttled"})),
}

_OFFSET_WITHOUT_COLON = re.compile(r"[+-]\d{4}$")


def parse_instant(text: str) -> datetime:
    """ISO 8601 with ``Z``, ``+00:00`` or ``+0000`` (and a space where a raw ``+`` was decoded).

    Raises ValueError for text that is no timestamp.
    """
    value = text.strip().replace(" ", "+").replace("Z", "+00:00").replace("z", "+00:00")
    if _OFFSET_WITHOUT_COLON.search(value):
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


def instant_or_none(value: Any) -> datetime | None:
    """The instant ``value`` names, or None when it is no timestamp with an offset."""
    if not isinstance(value, str):
        return None
    try:
        moment = parse_instant(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def default_port(scheme: str) -> int:
    """The port a URL without one means."""
    return 443 if scheme == "https" else 80


def refuses_personal_keys(status: int, text: str) -> bool:
    """Whether an answer is PostHog's refusal of personal API keys on an endpoint without a scope (§1.4)."""
    return status == 403 and REFUSES_PERSONAL_KEYS in text.lower()
