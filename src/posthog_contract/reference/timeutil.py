"""Time helpers shared by the reference server's modules (one clock, one ISO format).

The clock may run ahead of or behind the machine's (``--clock-offset SECONDS``): a PostHog host whose
clock is 30 s off the runner's is a real deployment, and every *now* the reference reads (events'
default stamps and windows, ``created_at``, ``last_accessed_at``, sharing) comes from :func:`now`.
Rate limits and ingestion delays measure durations on the machine's monotonic clock instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_OFFSET: list[timedelta] = [timedelta(0)]


def set_clock_offset(seconds: float) -> None:
    """``--clock-offset``: shift :func:`now` by ``seconds`` (negative: behind the machine's clock)."""
    _OFFSET[0] = timedelta(seconds=seconds)


def now() -> datetime:
    """The reference host's *now* (the machine's clock plus ``--clock-offset``)."""
    return datetime.now(UTC) + _OFFSET[0]


def iso_z(moment: datetime) -> str:
    """DRF's date-time format: ``2024-05-01T12:00:00.123456Z``."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.%fZ")  # %Y does not pad years < 1000


def to_micros(moment: datetime) -> int:
    moment = moment.astimezone(UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


def iso_offset(moment: datetime) -> str:
    """Events' timestamp format: ``2023-03-07T22:42:36.154000+00:00``, no fraction when zero."""
    return moment.astimezone(UTC).isoformat()
