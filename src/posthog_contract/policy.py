"""How the suite talks to a host, whichever transport sends: one rule each, written once.

Two transports reach the host: the project's httpx client (hand-written tests, fixtures, cleanup,
drift, the ``cleanup`` command) and the ``requests`` session schemathesis sends through (generated
tests, their auth probes and every other request schemathesis makes). Both are thin adapters over
this module, so every request passes the same rules whoever sends it:

- **origin**: a request goes to the configured host (or the capture host) only, whatever URL a
  host's answer named (:class:`Origins`); anything else is a :class:`HostViolation`, never sent;
- **redirects**: only PostHog's ``/api/environments/`` → ``/api/projects/`` 307/308, same origin,
  same project and resource, once (:func:`redirect_decision`, contract §1.9);
- **bounds**: one deadline over the whole exchange and a response size cap, checked while reading
  (:class:`ExchangeBounds`, :func:`io_timeout`); a breach is a :class:`HostViolation`;
- **429**: wait ``Retry-After`` within the budget, never a wait the budget cannot cover; once the
  host refuses past it, the key's rate limit is spent and the run stops (:class:`RetryBudget`,
  :meth:`RequestLedger.rate_limit_spent`);
- **read-only**: nothing but safe methods is sent (:func:`refuse_unsafe`).

Notes and messages are redacted by the adapter's :class:`~posthog_contract.redaction.Redactor`
before they leave.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urljoin, urlsplit

from .deprecations import DeprecationLog, successor_path

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "SAFE_METHODS",
    "DeadlinePassed",
    "ExchangeBounds",
    "ExchangeMeter",
    "HostViolation",
    "Origins",
    "RateLimitExhausted",
    "ReadOnlyViolation",
    "RedirectDecision",
    "RequestLedger",
    "RetryBudget",
    "io_timeout",
    "origin_of",
    "redirect_decision",
    "refuse_unsafe",
    "retry_after_seconds",
    "successor_path",
    "wait_note",
]

#: The methods read-only mode lets through (RFC 9110 "safe": they change nothing on the host).
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyViolation(Exception):
    """Read-only mode refused to send a request that could change the host; nothing was sent."""


def spent_sentence(budget: RetryBudget, retry_after: str | None, *, now: datetime | None = None) -> str:
    """The one sentence that ends a run whose key's rate limit is spent (issue 24): when it resets."""
    seconds = retry_after_seconds(retry_after)
    if seconds is None:
        when = "did not say when it resets (no Retry-After)"
    else:
        at = (now or datetime.now(UTC)) + timedelta(seconds=seconds)
        when = f"says it resets in {seconds:,.0f} s, at {at.strftime('%Y-%m-%d %H:%M:%S')} UTC"
    return (
        f"the key's rate limit is spent: the host refused with 429 past POSTHOG_MAX_RETRY_WAIT={budget.max_wait:g} s"
        f" and {when}; no further test starts (the host was not judged on the rest)"
    )


def refuse_unsafe(read_only: bool, method: str, shown_url: str) -> None:
    """Raise :class:`ReadOnlyViolation` for a method outside :data:`SAFE_METHODS` in read-only mode.

    ``shown_url`` is already redacted: the message is printed as it is.
    """
    if read_only and method.upper() not in SAFE_METHODS:
        raise ReadOnlyViolation(
            f"read-only mode (--read-only / POSTHOG_READ_ONLY) refused to send {method.upper()} {shown_url}: "
            "only GET, HEAD and OPTIONS reach the host; a check that writes must carry the `writes` marker"
        )


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or junk."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None  # NaN and inf are junk too


@dataclass(frozen=True)
class RetryBudget:
    """The bound on waiting for one request: ``max_wait`` seconds (POSTHOG_MAX_RETRY_WAIT) over at most
    ``max_attempts`` sends."""

    max_wait: float
    max_attempts: int = 6

    def pause(self, retry_after: str | None, *, attempt: int, throttled: int, waited: float) -> float | None:
        """Seconds to wait before resending after the ``throttled``-th 429 (send number ``attempt``),
        or None when the budget is spent: the 429 is then the host's answer.

        ``Retry-After`` is honoured; without it the wait doubles from 1 s. A wait longer than what is
        left of the budget is not waited on at all (issue 24: a host saying "come back in 2,199 s" is
        not asked again after 120): the budget is spent at once.
        """
        remaining = self.max_wait - waited
        if attempt >= max(1, self.max_attempts) or remaining <= 0:
            return None
        seconds = retry_after_seconds(retry_after)
        wanted = seconds if seconds is not None else float(2 ** (throttled - 1))
        if wanted > remaining:
            return None  # a wait the budget cannot cover is not started: the retry would be refused too
        return max(0.0, wanted)


def wait_note(method: str, shown_url: str, retry_after: str | None, pause: float, attempt: int) -> str:
    """The warning recorded for one 429 wait (``shown_url`` already redacted)."""
    seconds = retry_after_seconds(retry_after)
    source = f"Retry-After {seconds:g} s" if seconds is not None else "no Retry-After"
    return f"429 on {method.upper()} {shown_url} ({source}), waited {pause:g} s before retry {attempt}"


class RateLimitExhausted(Exception):
    """The host kept answering 429 beyond the retry budget; the message names the setting to raise.

    Either transport raises it; the ledger then holds the key's rate limit as spent and the run
    stops (:meth:`RequestLedger.rate_limit_spent`). A tool error: the host was not judged.
    """

    def __init__(
        self,
        message: str,
        *,
        waited: float = 0.0,
        attempts: int = 0,
        exchange: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.waited = waited
        self.attempts = attempts
        self.exchange = exchange
        self.retry_after = retry_after


def exhausted_message(
    method: str, shown_url: str, waited: float, attempts: int, budget: RetryBudget, retry_after: str | None
) -> str:
    """The one message of a spent retry budget, the same from both transports (``shown_url`` redacted)."""
    seconds = retry_after_seconds(retry_after)
    said = "" if seconds is None else f"; its last Retry-After asked for {seconds:g} s"
    return (
        f"host kept answering 429 for {waited:.0f} s over {attempts} attempts "
        f"(limit POSTHOG_MAX_RETRY_WAIT={budget.max_wait:g} s, {budget.max_attempts} attempts{said}) "
        f"on {method.upper()} {shown_url}"
    )


# --- a hostile host gets nothing (issue 20) ----------------------------------------------------------
# The suite is pointed at hosts its users do not control. Whatever a host answers, the transports
# send nothing (the key least of all) to an origin that is not configured, read no more than the
# size cap and wait no longer than the deadline. A breach is the host's fault: a HostViolation, an
# assertion about the host with the redacted URL and the measure that was broken.


class HostViolation(AssertionError):
    """The host's answer broke a rule the transport enforces before any check sees it.

    A foreign URL to follow, an answer past the size cap or the deadline. It is an assertion about
    the host (a violation, exit 1), not a tool error; the message is redacted and names the setting.
    ``exchange`` is the redacted evidence when one was recorded.
    """

    def __init__(self, message: str, *, exchange: Any = None) -> None:
        super().__init__(message)
        self.exchange = exchange


#: (scheme, host, port): what "the same origin" compares (RFC 6454), host lowercased, port explicit
Origin = tuple[str, str, int]


def origin_of(url: Any) -> Origin | None:
    """The origin of an absolute http(s) URL, None for anything else (a relative URL has none)."""
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:  # a port that is no number
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or (443 if scheme == "https" else 80)


@dataclass(frozen=True)
class Origins:
    """The configured origins: the API host and the capture host. Nothing is sent anywhere else.

    ``allows`` is the whole rule; every walk (tests, the cleanup sweep, the ``cleanup`` command,
    drift) reaches the host through a transport that calls :meth:`refuse_foreign` first.
    """

    allowed: frozenset[Origin] = frozenset()
    shown: tuple[str, ...] = ()

    @classmethod
    def of(cls, *urls: str | None) -> Origins:
        found = {url: origin_of(url) for url in urls if url}
        allowed = frozenset(origin for origin in found.values() if origin is not None)
        shown = tuple(dict.fromkeys(f"{o[0]}://{o[1]}:{o[2]}" for o in found.values() if o is not None))
        return cls(allowed, shown)

    def allows(self, url: Any) -> bool:
        return origin_of(url) in self.allowed

    def refuse_foreign(self, method: str, url: Any, shown_url: str) -> None:
        """Raise :class:`HostViolation` (nothing sent) unless ``url`` is on a configured origin."""
        if not self.allows(url):
            where = ", ".join(self.shown) or "no host is configured"
            raise HostViolation(
                f"host violation: refused to send {method.upper()} {shown_url}: it is not on the configured "
                f"host ({where}); the suite sends requests, and the key, to the configured origins only "
                "(a `next` link or a redirect of the host named it)"
            )


# --- redirects: only the /api/environments/ successor (contract §1.9) --------------------------------
# PostHog's EnvironmentsRedirectMiddleware (posthog/middleware.py; its tests assert the 307, the
# relative Location with the query kept, Deprecation: true and the successor Link) answers a
# documented /api/environments/ path with 307 to the same /api/projects/ path while the
# `api-environments-redirect` flag is on. That one redirect is followed, once, with the same method
# and body; everything else is the host's answer.

# successor_path (and the two prefixes) live with the deprecation records (deprecations.py),
# which judge the successor-version Link by the same rule.
#: the statuses that keep method and body (RFC 9110 §15.4.8, §15.4.9); 301/302/303 may turn a write into a GET
FOLLOWED_REDIRECTS: Final = frozenset({307, 308})


@dataclass(frozen=True)
class RedirectDecision:
    """Whether a 3xx answer is followed: ``target`` the absolute URL to send to, or None and ``reason``."""

    target: str | None
    reason: str = ""


def redirect_decision(request_url: str, status: int, location: str | None) -> RedirectDecision:
    """The one redirect rule of both transports (contract §1.9).

    Followed: a 307 or 308 to an ``/api/environments/`` request whose ``Location`` (relative ones
    resolved against the request URL, as PostHog sends them) is the same origin and the
    ``/api/projects/`` path of the same project and resource (trailing slash optional, §1.1), with
    the same query. The transport follows it once and never the answer it gets.
    """
    if not 300 <= status < 400:
        return RedirectDecision(None, "not a redirect")
    if status not in FOLLOWED_REDIRECTS:
        return RedirectDecision(None, f"a {status} is never followed (only 307/308 keep the method and body)")
    if not location:
        return RedirectDecision(None, f"a {status} without Location")
    target = urljoin(request_url, location.strip())
    here, there = urlsplit(request_url), urlsplit(target)
    if origin_of(target) is None or origin_of(target) != origin_of(request_url):
        return RedirectDecision(None, "its Location is on another origin")
    successor = successor_path(here.path)
    if successor is None:
        return RedirectDecision(None, "only /api/environments/ paths are redirected to their successor")
    if there.path.rstrip("/") != successor.rstrip("/"):
        return RedirectDecision(None, "its Location is not the /api/projects/ path of the same project and resource")
    if sorted(parse_qsl(there.query, keep_blank_values=True)) != sorted(parse_qsl(here.query, keep_blank_values=True)):
        return RedirectDecision(None, "its Location does not keep the query")
    return RedirectDecision(target)


def redirect_note(decision: RedirectDecision, status: int, shown_location: str) -> str:
    """The note on the evidence of a redirect (``shown_location`` redacted)."""
    if decision.target is not None:
        return f"{status} to the successor path {shown_location}: followed once with the same method and body (§1.9)"
    return f"{status} to {shown_location} not followed: {decision.reason}"


# --- bounds: one deadline over the whole exchange, a response size cap ------------------------------
# httpx's and urllib3's timeouts are per socket operation: a host that drips a byte every 10 s holds
# a request for ever. The deadline runs from sending to the last byte, and every socket operation of
# the exchange waits at most what is left of it (io_timeout, read by each transport's socket layer);
# the size cap is checked while reading, so a 50 MB answer is never held whole.

#: seconds one exchange may take in all (``--request-deadline`` / POSTHOG_REQUEST_DEADLINE)
DEFAULT_DEADLINE: Final = 60.0
#: bytes of one answer (``--max-response-mb`` / POSTHOG_MAX_RESPONSE_MB); an events page of 1,000
#: events with their properties is a few MB, PostHog's whole OpenAPI document about 2 MB of YAML
DEFAULT_MAX_RESPONSE_BYTES: Final = 32_000_000
#: bytes of a bounded answer kept as evidence when the bounds were broken
EVIDENCE_BYTES: Final = 65_536


class DeadlinePassed(TimeoutError):
    """A socket operation was due after the exchange's deadline (see :func:`io_timeout`)."""


@dataclass(frozen=True)
class ExchangeBounds:
    """The deadline (seconds, sending to last byte) and the size cap (bytes) of every exchange."""

    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def meter(self, method: str, shown_url: str) -> ExchangeMeter:
        """Start measuring one exchange now."""
        return ExchangeMeter(self, method.upper(), shown_url)


class ExchangeMeter:
    """One exchange measured against its :class:`ExchangeBounds` while it is sent and read."""

    def __init__(self, bounds: ExchangeBounds, method: str, shown_url: str) -> None:
        self.bounds = bounds
        self.method = method
        self.shown_url = shown_url
        self.started = time.monotonic()
        self.received = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.bounds.deadline - self.elapsed()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def declared(self, content_length: str | None) -> None:
        """A Content-Length above the cap is refused before a byte of the body is read."""
        try:
            size = int(str(content_length).strip()) if content_length is not None else None
        except ValueError:
            size = None
        if size is not None and size > self.bounds.max_bytes:
            raise self.too_big(size, declared=True)

    def add(self, size: int) -> None:
        """``size`` more bytes of the body arrived: past the cap or the deadline is a host violation."""
        self.received += size
        if self.received > self.bounds.max_bytes:
            raise self.too_big(self.received)
        if self.expired():
            raise self.too_slow()

    def too_big(self, size: int, *, declared: bool = False) -> HostViolation:
        how = f"declares Content-Length {size:,} bytes" if declared else f"exceeded {size:,} bytes"
        return HostViolation(
            f"host violation: the answer to {self.method} {self.shown_url} {how}, above the response size cap "
            f"of {self.bounds.max_bytes:,} bytes (--max-response-mb / POSTHOG_MAX_RESPONSE_MB); the rest was "
            "not read"
        )

    def too_slow(self) -> HostViolation:
        return HostViolation(
            f"host violation: the answer to {self.method} {self.shown_url} was not complete within the request "
            f"deadline of {self.bounds.deadline:g} s ({self.elapsed():.1f} s elapsed, {self.received:,} bytes of "
            "the body received; --request-deadline / POSTHOG_REQUEST_DEADLINE)"
        )

    @contextlib.contextmanager
    def active(self) -> Iterator[ExchangeMeter]:
        """While active, :func:`io_timeout` in this thread answers from this exchange's deadline."""
        previous = getattr(_ACTIVE, "meter", None)
        _ACTIVE.meter = self
        try:
            yield self
        finally:
            _ACTIVE.meter = previous


_ACTIVE = threading.local()


def io_timeout(timeout: float | None) -> float | None:
    """The timeout of one socket operation: the configured one, cut to what is left of the deadline of
    the exchange active in this thread; :class:`DeadlinePassed` once nothing is left."""
    meter: ExchangeMeter | None = getattr(_ACTIVE, "meter", None)
    if meter is None:
        return timeout
    left = meter.remaining()
    if left <= 0:
        raise DeadlinePassed(f"the request deadline of {meter.bounds.deadline:g} s has passed")
    return left if timeout is None else min(timeout, left)


# --- the request budget (issue 15) ------------------------------------------------------------------
# PostHog throttles each personal key (contract §1.8): 480/min and 4,800/h overall, 240/min and
# 1,200/h on the events list and retrieve. Every request either transport sends is counted here, and
# a run may be given a budget: once it is spent, checks that would send more are *unavailable*
# instead (generated cases first: they run last), while cleanup always gets its requests.

#: The events endpoints of PostHog's events throttle class (list and retrieve, both prefixes).
EVENTS_PATH: Final = re.compile(r"^/api/(?:projects|environments)/[^/]+/events(?:/|$)")
#: PostHog Cloud's hourly limits per personal key (contract §1.8): overall, events endpoints.
HOURLY_LIMIT: Final = 4800
EVENTS_HOURLY_LIMIT: Final = 1200


@dataclass
class RequestLedger:
    """Every request the run sends, whoever sends it, and the run's request budget.

    ``budget`` None means no cap. A 429 answer is counted but not charged to the budget: PostHog's
    throttles (``posthog/rate_limit.py``, DRF's ``SimpleRateThrottle``) record only the requests they
    let through, so a refused one does not use up the key's hourly allowance. ``reserve`` answers
    how many requests cleanup still needs: those are kept back from the checks, so a run that spends
    its budget can still undo what it created.
    ``label`` names what is sending now (the current test); counts per label show where the
    requests go.
    """

    budget: int | None = None
    reserve: Callable[[], int] = lambda: 0
    sent: int = 0
    events: int = 0
    writes: int = 0
    throttled: int = 0
    events_throttled: int = 0
    waited: float = 0.0
    label: str = ""
    by_label: Counter[str] = field(default_factory=Counter)
    #: the host's deprecation notices (contract §1.9), one record per operation and prefix (issue 22)
    deprecations: DeprecationLog = field(default_factory=DeprecationLog)
    #: the one sentence saying the key's rate limit is spent (issue 24); None while it is not
    rate_limit_spent: str | None = None
    stops_the_run: bool = False  # a check met the spent rate limit: no further test starts
    _unmetered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self, budget: int | None = None, reserve: Callable[[], int] | None = None) -> None:
        """A new run: counts to zero, the given budget (None: no cap)."""
        with self._lock:
            self.budget = budget
            self.reserve = reserve or (lambda: 0)
            self.sent = self.events = self.writes = self.throttled = self.events_throttled = 0
            self.waited = 0.0
            self.label = ""
            self.by_label = Counter()
            self.deprecations = DeprecationLog()
            self.rate_limit_spent = None
            self.stops_the_run = False
            self._unmetered = 0

    def record(self, method: str, path: str, status: int | None) -> None:
        """One request sent (each 429 retry is a request of its own)."""
        with self._lock:
            self.sent += 1
            self.by_label[self.label or "(session)"] += 1
            events = bool(EVENTS_PATH.match(path))
            self.events += events
            if method.upper() not in SAFE_METHODS:
                self.writes += 1
            if status == 429:
                self.throttled += 1
                self.events_throttled += events

    def spend_rate_limit(self, sentence: str) -> None:
        """The host refused past the wait budget: no further check sends (cleanup still tries).

        ``stops_the_run`` is set when a check met it (not preflight or cleanup, inside
        :meth:`unmetered`): the run then stops after that test.
        """
        with self._lock:
            if self.rate_limit_spent is None:
                self.rate_limit_spent = sentence
            if not self._unmetered:
                self.stops_the_run = True

    def refuse_if_rate_limited(self) -> None:
        """Raise :class:`RateLimitExhausted` for a check's request once the rate limit is spent; requests
        inside :meth:`unmetered` (preflight, cleanup) are still sent: cleanup tries once."""
        if self.rate_limit_spent is not None and not self._unmetered:
            raise RateLimitExhausted(self.rate_limit_spent)

    def record_wait(self, seconds: float) -> None:
        with self._lock:
            self.waited += seconds

    @property
    def charged(self) -> int:
        """Requests charged to the budget: every one sent except those the host answered 429."""
        return self.sent - self.throttled

    def remaining(self) -> int | None:
        """Requests the checks may still send (the cleanup reserve kept back), or None without a cap."""
        if self.budget is None:
            return None
        return self.budget - self.charged - max(0, self.reserve())

    def allows(self, requests: int = 1) -> bool:
        """Whether a check may send ``requests`` more (always inside :meth:`unmetered`)."""
        if self._unmetered:
            return True
        left = self.remaining()
        return left is None or left >= requests

    @contextlib.contextmanager
    def unmetered(self) -> Iterator[None]:
        """Requests that must be sent whatever the budget says (preflight, cleanup): still counted."""
        with self._lock:
            self._unmetered += 1
        try:
            yield
        finally:
            with self._lock:
                self._unmetered -= 1

    def spent_reason(self) -> str:
        return (
            f"the run's request budget ({self.budget} requests, {max(0, self.reserve())} kept for cleanup) "
            "is spent: raise --request-budget / POSTHOG_REQUEST_BUDGET (0: no cap) to run this check"
        )

    def cost_lines(self) -> list[str]:
        """The run's cost, for the terminal summary and the report."""
        budget = "no cap" if self.budget is None else f"{self.charged} of a budget of {self.budget}"
        return [
            f"requests sent: {self.sent} ({self.events} to the events endpoints, {self.writes} writes; {budget})",
            f"429 answers: {self.throttled}, seconds waited on them: {self.waited:.1f}",
            f"share of PostHog Cloud's hourly limits per key (contract §1.8): "
            f"{100 * self.charged / HOURLY_LIMIT:.0f} % of {HOURLY_LIMIT:,} requests, "
            f"{100 * (self.events - self.events_throttled) / EVENTS_HOURLY_LIMIT:.0f} % of {EVENTS_HOURLY_LIMIT:,}"
            " on events",
        ]

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.sent,
            "events_requests": self.events,
            "write_requests": self.writes,
            "throttled": self.throttled,
            "seconds_waited": round(self.waited, 1),
            "budget": self.budget,
            "charged_requests": self.charged,
            "share_of_hourly_limit": round(self.charged / HOURLY_LIMIT, 4),
            "share_of_events_hourly_limit": round((self.events - self.events_throttled) / EVENTS_HOURLY_LIMIT, 4),
            "by_test": dict(self.by_label.most_common()),
        }
