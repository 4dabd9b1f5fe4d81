"""How the suite talks to a host, whichever transport sends: 429 retries, the read-only guard, notes.

Two transports reach the host: the project's httpx client (hand-written tests, fixtures, cleanup)
and the ``requests`` session schemathesis sends through (generated tests, their auth probes and
every other request schemathesis makes). Both are thin adapters over this module, so a throttled
host (§1.8: wait ``Retry-After``, retry within a budget, record a warning) and a read-only run
(nothing but safe methods is sent) are treated the same whoever sends. Notes and messages are
redacted by the adapter's :class:`~posthog_contract.redaction.Redactor` before they leave.
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
from typing import Final

__all__ = [
    "SAFE_METHODS",
    "ReadOnlyViolation",
    "RequestLedger",
    "RetryBudget",
    "refuse_unsafe",
    "retry_after_seconds",
    "wait_note",
]

#: The methods read-only mode lets through (RFC 9110 "safe": they change nothing on the host).
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class ReadOnlyViolation(Exception):
    """Read-only mode refused to send a request that could change the host; nothing was sent."""


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

        ``Retry-After`` is honoured; without it the wait doubles from 1 s. A wait is cut to what is
        left of the budget.
        """
        remaining = self.max_wait - waited
        if attempt >= max(1, self.max_attempts) or remaining <= 0:
            return None
        seconds = retry_after_seconds(retry_after)
        wanted = seconds if seconds is not None else float(2 ** (throttled - 1))
        return max(0.0, min(wanted, remaining))


def wait_note(method: str, shown_url: str, retry_after: str | None, pause: float, attempt: int) -> str:
    """The warning recorded for one 429 wait (``shown_url`` already redacted)."""
    seconds = retry_after_seconds(retry_after)
    source = f"Retry-After {seconds:g} s" if seconds is not None else "no Retry-After"
    return f"429 on {method.upper()} {shown_url} ({source}), waited {pause:g} s before retry {attempt}"


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
