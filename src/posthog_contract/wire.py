"""Small facts of PostHog's wire format that the hand-written and the generated part both read.

One place each, so the two parts cannot drift apart: how a timestamp is spelled (§7.3), what a
`next` link must be (§1.6, §7.4: the rule both the walker and the generated checks apply), the error
envelope's type/code per status (§1.2), and the sentence PostHog answers when an endpoint refuses
personal API keys (§1.4).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .policy import successor_path

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


@dataclass(frozen=True)
class LinkProblem:
    """How a `next` / `previous` link breaks the rule: the rule's words and what the link shows."""

    rule: str
    detail: str


def link_problem(
    link: str,
    *,
    base_url: str,
    request_path: str,
    sent: Mapping[str, str],
    exempt: Collection[str] = (),
    key: str = "next",
) -> LinkProblem | None:
    """The one rule for pagination links (§1.6, §7.4): an absolute URL on the host, port and path that
    answered (or the path's /api/projects/ successor, §1.9), keeping every parameter of the request
    (``sent``, last value of each) but the ``exempt`` ones the link advances (limit/offset, an events
    cursor). None when the link keeps the rule."""
    parts, base = urlsplit(link), urlsplit(base_url)
    if not parts.scheme or not parts.netloc:
        return LinkProblem(f"`{key}` is an absolute URL", f"{key} = {link!r}")
    linked = f"{parts.hostname}:{parts.port or default_port(parts.scheme)}"
    answered = f"{base.hostname}:{base.port or default_port(base.scheme)}"
    if linked != answered:
        return LinkProblem(f"`{key}` points at the configured host and port", f"{key} points at {linked}, the host"
                           f" is {answered}")
    listed = request_path.rstrip("/")
    # §1.9: today's PostHog serves /api/environments/ through /api/projects/ (posthog/middleware.py,
    # EnvironmentsRewriteMiddleware), so a `next` built from request.path names the successor path
    if parts.path.rstrip("/") not in (listed, (successor_path(request_path) or listed).rstrip("/")):
        shown = f"{key} path {parts.path!r}, request path {request_path!r}"
        return LinkProblem(f"`{key}` keeps the request path", shown)
    kept = dict(parse_qsl(parts.query, keep_blank_values=True))
    lost = {name: value for name, value in sent.items() if name not in exempt and kept.get(name) != value}
    if lost:
        shown = ", ".join(f"{name}={value!r} ({key}: {kept.get(name)!r})" for name, value in sorted(lost.items()))
        return LinkProblem(f"`{key}` keeps every parameter of the first request", f"lost or changed: {shown}")
    return None


def scheme_note(link: str, base_url: str) -> str | None:
    """A warning when a link changes the scheme the host was called with (a TLS proxy), else None."""
    linked, called = urlsplit(link).scheme, urlsplit(base_url).scheme
    if linked and linked != called:
        return f"`next` uses scheme {linked!r} while the host was called with {called!r} (TLS proxy?) (§1.6)"
    return None


def refuses_personal_keys(status: int, text: str) -> bool:
    """Whether an answer is PostHog's refusal of personal API keys on an endpoint without a scope (§1.4)."""
    return status == 403 and REFUSES_PERSONAL_KEYS in text.lower()
