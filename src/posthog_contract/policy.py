"""How the suite talks to a host, whichever transport sends: 429 retries, the read-only guard, notes.

Two transports reach the host: the project's httpx client (hand-written tests, fixtures, cleanup)
and the ``requests`` session schemathesis sends through (generated tests, their auth probes and
every other request schemathesis makes). Both are thin adapters over this module, so a throttled
host (§1.8: wait ``Retry-After``, retry within a budget, record a warning) and a read-only run
(nothing but safe methods is sent) are treated the same whoever sends. Notes and messages are
redacted by the adapter's :class:`~posthog_contract.redaction.Redactor` before they leave.
"""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass
from typing import Final

__all__ = [
    "SAFE_METHODS",
    "ReadOnlyViolation",
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
