"""Dates as the events API and capture read them (contract §7.1, §9).

ISO 8601 with ``Z``, ``+00:00`` or ``+0000`` (Airbyte sends the latter), 0-6 fraction digits (more
are truncated), naive = the project timezone (UTC here), date-only = midnight; a space before the
offset is a URL-decoded raw ``+``. Relative dates ``-<n><unit>`` (``-`` optional; ``h`` hours,
``d`` days, ``w`` weeks, ``m`` months, ``y`` years) count back from now without truncation
(PostHog's truncation is an open question, §12).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^-?(\d{1,6})([hdwmy])$")
# a decoded raw "+" in a URL: "2024-01-01T00:00:00 00:00" -> "2024-01-01T00:00:00+00:00"
_SPACE_OFFSET = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")
_LOWER_Z = re.compile(r"(?<=\d)z$")


def _months_back(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_relative(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.match(text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2)
    try:
        if unit == "h":
            return now - timedelta(hours=number)
        if unit == "d":
            return now - timedelta(days=number)
        if unit == "w":
            return now - timedelta(weeks=number)
        if unit == "m":
            return _months_back(now, number)
        return _months_back(now, number * 12)
    except (ValueError, OverflowError):
        return None


def parse_iso(text: str) -> datetime | None:
    """An aware UTC datetime, or ``None`` when ``text`` is no ISO 8601 date(-time)."""
    text = text.strip()
    if not text or not text[:4].isdigit():
        return None
    if " " in text or text[-1] == "z":  # rare forms first normalised; the common ones go straight through
        text = _LOWER_Z.sub("Z", _SPACE_OFFSET.sub(r"\1+\2", text))
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_date(text: str, now: datetime) -> datetime | None:
    """A query-parameter date: relative or ISO; ``None`` when unparsable."""
    text = text.strip()
    return parse_relative(text, now) or parse_iso(text)
