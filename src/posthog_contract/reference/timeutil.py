"""Time helpers shared by the reference server's modules (one clock, one ISO format)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


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
