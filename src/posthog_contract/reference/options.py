"""The reference server's knobs, parsed once from the command line."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
FEATURES = ("tagging", "access-control", "event-windows")
#: the older releases whose shapes the reference can serve (``--release``); None = current
RELEASES = ("2024-01",)
#: ``--malformed-input``: how the events list answers values PostHog cannot read (contract §1.7)
MALFORMED_INPUT = ("400", "500", "drop")
#: how ``/api/environments/`` is served (``--environments``, contract §1.9; posthog/middleware.py):
#: ``rewrite`` EnvironmentsRewriteMiddleware (today's PostHog), ``redirect`` EnvironmentsRedirectMiddleware
#: with its ``api-environments-redirect`` flag on (307), ``headers`` the same middleware with the flag off
#: (served on the legacy route, deprecation headers added), ``direct`` before the deprecation
ENVIRONMENTS_MODES = ("rewrite", "redirect", "headers", "direct")
#: PostHog's ``API_ENVIRONMENTS_SUNSET_DATE`` default (posthog/settings/web.py)
SUNSET_DATE = "2026-07-31"
_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``period`` seconds."""

    count: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"rate {text!r} is not of the form N/s, N/min or N/hour with N >= 1")
        return cls(int(match.group(1)), _SECONDS[match.group(2)])


@dataclass(frozen=True)
class ServerOptions:
    """Defaults follow PostHog (§1.8): 480/min and 4800/h; events 240/min and 1200/h."""

    rate_limits: tuple[Rate, ...] = (Rate(480, 60), Rate(4800, 3600))
    events_rate_limits: tuple[Rate, ...] = (Rate(240, 60), Rate(1200, 3600))
    latency_ms: float = 0.0
    ingestion_delay_s: float = 0.0
    max_body_bytes: int = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    max_capture_bytes: int = 20 * 1024 * 1024
    mutants: tuple[str, ...] = field(default_factory=tuple)
    request_log: str | None = None
    #: ``--without-feature``: organisation plan features switched off (``tagging``, ``access-control``)
    #: or PostHog behaviours the reference leaves out (``event-windows``, §7.4)
    features_off: frozenset[str] = frozenset()
    #: ``--release 2024-01``: answer with the shapes of that PostHog release (later fields dropped)
    release: str | None = None
    #: ``--move-tile-key``: the destination key move_tile reads (newest PostHog: to_dashboard only)
    move_tile_key: str = "both"
    #: ``--malformed-input``: the events list's answer to a non-integer ``limit``/``action_id``, a property
    #: filter PostHog's pydantic model refuses, an overflowing date: ``400`` (the contract's 400s),
    #: ``500`` (current PostHog's own 500s), ``drop`` (the 2022-2025 builds: bad filters dropped, 200)
    malformed_input: str = "400"
    # A rate limiter or WAF in front of PostHog: every Nth request, whoever sends it (anonymous and
    # capture requests included), answers 429 + Retry-After. 0: off. Not PostHog's own limiter (§1.8).
    throttle_every: int = 0
    throttle_retry_after: int = 1
    #: ``--environments``; None: the release's own (current: ``rewrite``, 2024-01: ``direct``)
    environments: str | None = None
    #: ``--sunset-date``: the ``Sunset`` of the deprecation headers (None or "": no header)
    sunset_date: str | None = SUNSET_DATE
    #: ``--clock-offset``: seconds added to the reference's *now* (negative: a host behind the runner)
    clock_offset_s: float = 0.0

    @property
    def environments_mode(self) -> str:
        """The ``/api/environments/`` behaviour in force: the explicit choice, else the release's."""
        if self.environments is not None:
            return self.environments
        return "direct" if self.release is not None else "rewrite"

    @classmethod
    def with_rate(cls, rate: Rate, **kwargs: object) -> ServerOptions:
        """``--rate-limit``: one rate for every class of endpoint, no hourly cap."""
        return cls(rate_limits=(rate,), events_rate_limits=(rate,), **kwargs)  # type: ignore[arg-type]
