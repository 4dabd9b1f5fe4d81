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

    @classmethod
    def with_rate(cls, rate: Rate, **kwargs: object) -> ServerOptions:
        """``--rate-limit``: one rate for every class of endpoint, no hourly cap."""
        return cls(rate_limits=(rate,), events_rate_limits=(rate,), **kwargs)  # type: ignore[arg-type]
