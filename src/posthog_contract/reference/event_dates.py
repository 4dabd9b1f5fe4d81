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


class DateOverflow(ValueError):
    """A date PostHog's ``relative_date_parse`` cannot represent: PostHog answers 500 (contract §1.7)."""


#: posthog/utils.py, relative_date_parse_with_delta_mapping: searched anywhere in the text, not anchored
_POSTHOG_RELATIVE = re.compile(r"\-?(?P<number>[0-9]+)?(?P<kind>[hdwmqysHDWMQY])(?P<position>Start|End)?")
#: get_delta_mapping_for: what each kind moves back by (kinds it does not list move nothing)
_RELATIVE_UNITS = {"h": "hours", "d": "days", "w": "weeks", "M": "minutes", "s": "seconds"}
#: get_delta_mapping_for: the absolute fields Start/End set, per kind (relativedelta's ``day=31`` clamps)
_POSITIONS = {
    ("h", "Start"): {"minute": 0, "second": 0, "microsecond": 0},
    ("h", "End"): {"minute": 59, "second": 59, "microsecond": 999999},
    ("d", "Start"): {"hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    ("d", "End"): {"hour": 23, "minute": 59, "second": 59, "microsecond": 999999},
    ("m", "Start"): {"day": 1},
    ("m", "End"): {"day": 31},
    ("y", "Start"): {"month": 1, "day": 1},
    ("y", "End"): {"day": 31},
}


def _iso_or_day(text: str) -> datetime | None:
    """dateutil's ``isoparse``, else ``strptime(text, "%Y-%m-%d")`` (unpadded days such as 2021-1-1).

    Moving a parsed instant to the project's timezone is outside PostHog's ``try``: an offset that
    takes it beyond datetime's range raises (``OverflowError``) instead of reading as now.
    """
    candidate = text
    if " " in candidate or candidate[-1:] == "z":  # the reference's decoded raw "+" (parse_iso)
        candidate = _LOWER_Z.sub("Z", _SPACE_OFFSET.sub(r"\1+\2", candidate))
    try:
        moment = datetime.fromisoformat(candidate) if candidate[:4].isdigit() else None
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _back(now: datetime, absolute: dict[str, int], months: int, delta: timedelta) -> datetime:
    """``now - relativedelta(**mapping)``: absolute fields set, months back (day clamped), then the rest."""
    index = now.year * 12 + absolute.get("month", now.month) - 1 - months
    year, month = index // 12, index % 12 + 1
    if year < 1:
        raise OverflowError("year before 1")
    day = min(calendar.monthrange(year, month)[1], absolute.get("day", now.day))
    clock = {k: v for k, v in absolute.items() if k in ("hour", "minute", "second", "microsecond")}
    return now.replace(year=year, month=month, day=day, **clock) - delta


def posthog_date(text: str, now: datetime) -> datetime:
    """A ``before``/``after`` value as current PostHog reads it (``posthog/utils.py``, ``relative_date_parse``).

    ISO 8601 first; otherwise the first ``-<n><kind>[Start|End]`` found *anywhere* in the text counts
    back from now (``h`` hours, ``d`` days, ``w`` weeks, ``m`` months, ``M`` minutes, ``s`` seconds,
    ``q`` 13 weeks, ``y`` years; ``Start``/``End`` snap to the period's bounds); a text without such a
    part is *now*. Never unparsable: only a date beyond datetime's range raises :class:`DateOverflow`,
    where PostHog answers 500 (contract §1.7, §7.1).
    """
    try:
        moment = _iso_or_day(text)
    except (OverflowError, ValueError) as exc:  # an offset that moves the instant out of range
        raise DateOverflow(text) from exc
    if moment is not None:
        return moment
    match = _POSTHOG_RELATIVE.search(text)
    if match is None:
        return now
    kind, number, position = match.group("kind"), match.group("number"), match.group("position")
    amount = int(number) if number else 0
    months = {"m": amount, "y": 12 * amount}.get(kind, 0)
    try:
        delta = timedelta(weeks=13 * amount) if kind == "q" else timedelta(**{_RELATIVE_UNITS[kind]: amount}) \
            if kind in _RELATIVE_UNITS else timedelta()
        return _back(now, dict(_POSITIONS.get((kind, position or ""), {})), months, delta)
    except (OverflowError, ValueError) as exc:
        raise DateOverflow(text) from exc
