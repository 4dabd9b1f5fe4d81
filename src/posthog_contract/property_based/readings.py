"""PostHog's reading of each input a generated case sends: the judgement of negative data (contract §1.7).

schemathesis calls a case *negative* when it violates the contract's schema, and its
``negative_data_rejection`` expects a refusal. A host that accepts such a case is wrong only where
PostHog's own reading of the input refuses it. PostHog reads many schema-violating values as valid
(DRF's fields coerce scalars; Django's ``QueryDict`` reads the last of repeated values and an empty one
as absent; ``LimitOffsetPagination`` reads junk as its default), ignores others (JSON that is no filter
list), and raises on a few: a 500 that is PostHog's own known defect, never a violation of the host.

:func:`judge` reads one case, input by input, exactly as the host saw it (the query from the request
URL, not the generated value: an object-valued query parameter reaches the host as its keys, or as
nothing), and says which inputs no PostHog release accepts and which ones PostHog raises on, with the
source. ``failures.py`` turns that into the verdict. Every reading cites the PostHog code it follows.

Reading order: the :class:`Reading` of one input; the query readers (events list, limit/offset lists);
PostHog's date parsing; the ``properties`` filter's pydantic reading; path readers; :func:`judge`.
Bodies are read in :mod:`.body_readings` (DRF's fields, the dashboard serializer).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation

from .body_readings import body_crashes, body_problems
from .cases import is_negative, last_values, operation_id, query_pairs

# --- one input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What PostHog does with one input.

    ``refuses`` / ``raises``: current PostHog answers it 4xx / 500 (a known defect, contract §1.7);
    ``older_accepts`` / ``older_raises``: a release of 2022-2025 answered it 2xx (read it, or dropped
    it) / raised on it. ``why`` says what PostHog does, ``source`` where.
    """

    refuses: bool = False
    raises: bool = False
    older_accepts: bool = False
    older_raises: bool = False
    why: str = ""
    source: str = ""

    @property
    def accepted(self) -> bool:
        """Some release answers 2xx: accepting the input is PostHog's behaviour."""
        return not (self.refuses or self.raises) or self.older_accepts

    @property
    def cited(self) -> str:
        return f"{self.why} ({self.source})" if self.source else self.why


READ = Reading()


def refused(why: str, source: str = "") -> Reading:
    """Every release answers 4xx."""
    return Reading(refuses=True, why=why, source=source)


def raises(source: str, why: str, *, older_accepts: bool = False) -> Reading:
    """Current PostHog raises (500); ``older_accepts``: a 2022-2025 release answered 2xx instead."""
    return Reading(raises=True, older_accepts=older_accepts, why=why, source=source)


def older_raises(source: str, why: str) -> Reading:
    """Current PostHog reads it; a 2022-2025 release raised on it."""
    return Reading(older_raises=True, why=why, source=source)


# --- PostHog's readers of a query value ----------------------------------------------------------------

_EVENT_PY = "posthog/api/event.py, EventViewSet.list"
_LEGACY_QUERY = "posthog/models/event/legacy_events_query.py, LegacyEventsListQuery.run_page"


def _python_int(text: str) -> int | None:
    """``int(text)``: whitespace, a sign, underscores and any script's digits, never ``1.0``."""
    try:
        return int(text)
    except ValueError:
        return None


def _events_format(text: str) -> Reading:
    """DRF's content negotiation (before the view): ``?format=`` other than json/csv is a 404."""
    return READ if text in ("", "json", "csv") else refused(f"format={text!r} has no renderer: 404", "DRF")


def _events_limit(text: str) -> Reading:
    """``if request.GET.get("limit"): limit = int(...)`` in every release: anything else raises; <= 0 is
    the default page (``HogQLHasMorePaginator``), more than 1000 is capped."""
    if not text or _python_int(text) is not None:
        return READ
    return raises(_EVENT_PY, f"limit={text!r} is no integer: int() raises")


def _events_action_id(text: str) -> Reading:
    """``if action_id: Action.objects.get(pk=int(action_id), ...)``: an unknown action lists nothing; a
    non-integer raises in current PostHog, while one intermediate build listed nothing (contract §7.1)."""
    if not text or _python_int(text) is not None:
        return READ
    return raises(_LEGACY_QUERY, f"action_id={text!r} is no integer: int() raises", older_accepts=True)


def _events_person_id(text: str) -> Reading:
    """``get_pk_or_uuid`` (posthog/api/utils.py): a UUID filters by uuid, anything else by primary key,
    where Django's ``int()`` of a non-integer raises; an unknown person lists nothing (§7.1)."""
    if not text or _python_int(text) is not None:
        return READ
    try:
        uuid.UUID(text)
    except ValueError:
        why = f"person_id={text!r} is neither an id nor a UUID: the primary-key lookup raises"
        return raises("posthog/api/utils.py, get_pk_or_uuid", why, older_accepts=True)
    return READ


def _events_order_by(text: str) -> Reading:
    """``list(json.loads(orderBy))`` in every release: unparsable JSON or a JSON scalar raises; any list,
    string or object is read (ascending unless exactly ``["-timestamp"]``)."""
    if not text:
        return READ
    try:
        list(json.loads(text))
    except (ValueError, TypeError, RecursionError):
        return raises(_EVENT_PY, f"orderBy={text!r} is no JSON list: list(json.loads()) raises")
    return READ


def _events_date(name: str, text: str) -> Reading:
    """``relative_date_parse`` reads anything (what it cannot parse is now); only a date beyond
    datetime's range raises, in every release (contract §7.1)."""
    if not text:
        return READ
    try:
        posthog_date(text, dt.datetime.now(dt.UTC))
    except OverflowError:
        return raises("posthog/utils.py, relative_date_parse", f"{name}={text!r} is beyond datetime's range")
    return READ


def _properties_json(text: str) -> tuple[Reading, Any]:
    """``_parse_properties_param``: unparsable JSON is 400 in every release; JSON that is neither a list
    nor a group is no filter (the 2022-2025 builds called ``.items()`` on a scalar: 500)."""
    if not text:
        return READ, None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return refused("properties is unparsable JSON: 'Properties are unparsable!'", _EVENT_PY), None
    if isinstance(parsed, list) or isinstance(parsed, dict) and isinstance(parsed.get("values"), list):
        return READ, parsed
    if isinstance(parsed, dict) or not parsed:
        return READ, None  # current PostHog: no filter; the 2022-2025 builds: old-style {key: value} filters
    source = "posthog/models/filters/mixins/property.py, PropertyMixin._parse_properties"
    return older_raises(source, "properties is a JSON scalar: current PostHog ignores it, older builds raise"), None


def _properties_filters(parsed: Any) -> Reading:
    """Every filter read by its pydantic model when ``EventsQuery`` is built (see :func:`filter_reading`)."""
    if parsed is None:
        return READ
    readings = _filter_list(parsed) if isinstance(parsed, list) else _group(parsed)
    return readings[0] if readings else READ


def _search(text: str) -> Reading:
    """products/dashboards/backend/api/dashboard.py: a search longer than 200 characters is a 400."""
    return refused(f"search is {len(text)} characters; PostHog refuses more than 200") if len(text) > 200 else READ


def events_list_readings(query: Mapping[str, str]) -> list[tuple[str, Reading]]:
    """The events list's inputs in the order current PostHog reads them (``EventViewSet.list``, then
    ``LegacyEventsListQuery.run_page``): the first one it cannot read decides its answer.

    ``event``, ``distinct_id`` and ``include_person`` read anything; ``offset`` reads what ``int()`` cannot
    as 0 and anything below 1 as 0 (above 50000 a 400 only where ``PATCH_EVENT_LIST_MAX_OFFSET`` is set);
    undeclared parameters are ignored (schemathesis #2312).
    """
    properties, parsed = _properties_json(query.get("properties", ""))
    return [
        ("format", _events_format(query.get("format", ""))),
        ("limit", _events_limit(query.get("limit", ""))),
        ("properties", properties),
        ("orderBy", _events_order_by(query.get("orderBy", ""))),
        ("before", _events_date("before", query.get("before", ""))),
        ("after", _events_date("after", query.get("after", ""))),
        ("after/before", _events_range(query)),
        ("action_id", _events_action_id(query.get("action_id", ""))),
        ("properties", _properties_filters(parsed)),
        ("person_id", _events_person_id(query.get("person_id", ""))),
    ]


def _query_readings(op_id: str, query: Mapping[str, str]) -> list[tuple[str, Reading]]:
    """Other operations: DRF's ``LimitOffsetPagination`` reads any limit/offset it cannot use as its
    default (``_positive_int``; contract §1.6); ``include_person`` is true only for true/1."""
    if op_id == "events_list":
        return events_list_readings(query)
    if op_id == "dashboards_list" and "search" in query:
        return [("search", _search(query["search"]))]
    return []


def _events_range(query: Mapping[str, str]) -> Reading:
    """``LegacyEventsListQuery.run_page`` where ``PATCH_EVENT_LIST_MAX_OFFSET`` is set (PostHog Cloud):
    ``raise ValueError("Date range cannot exceed 1 year")`` (a 500), and without ``after`` it reads
    ``before - 24 h``, which leaves datetime's range for a ``before`` in year 1. Self-hosted: read."""
    now = dt.datetime.now(dt.UTC)
    try:
        before = posthog_date(query["before"], now) if query.get("before") else now + dt.timedelta(seconds=5)
        after = posthog_date(query["after"], now) if query.get("after") else None
    except OverflowError:
        return READ  # the date's own reader names it
    if after is None:
        try:
            after = before - dt.timedelta(hours=24)
        except OverflowError:
            return raises(_LEGACY_QUERY, "before - 24 h leaves datetime's range")
    if before - after > dt.timedelta(days=366):
        return raises(_LEGACY_QUERY, "the date range exceeds a year (PATCH_EVENT_LIST_MAX_OFFSET)", older_accepts=True)
    return READ


# --- PostHog's dates (posthog/utils.py, relative_date_parse) -----------------------------------------------

_RELATIVE = re.compile(r"\-?(?P<number>[0-9]+)?(?P<kind>[hdwmqysHDWMQY])(?P<position>Start|End)?")
_UNITS = {"h": "hours", "d": "days", "w": "weeks", "M": "minutes", "s": "seconds"}
_SNAP = {
    ("h", "Start"): {"minute": 0, "second": 0, "microsecond": 0},
    ("h", "End"): {"minute": 59, "second": 59, "microsecond": 999999},
    ("d", "Start"): {"hour": 0, "minute": 0, "second": 0, "microsecond": 0},
    ("d", "End"): {"hour": 23, "minute": 59, "second": 59, "microsecond": 999999},
    ("m", "Start"): {"day": 1},
    ("m", "End"): {"day": 31},
    ("y", "Start"): {"month": 1, "day": 1},
    ("y", "End"): {"day": 31},
}


def posthog_date(text: str, now: dt.datetime) -> dt.datetime:
    """The instant PostHog reads from a ``before``/``after`` value; ``OverflowError`` where it raises.

    ISO 8601 (``dateutil.parser.isoparse``, here ``fromisoformat``) or a ``%Y-%m-%d`` date first, moved
    to the project's timezone outside the ``try`` (so an offset past datetime's range raises); else the
    first ``-<n><kind>[Start|End]`` found anywhere in the text, counted back from now; else now.
    """
    try:
        moment: dt.datetime | None = dt.datetime.fromisoformat(text) if text[:4].isdigit() else None
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = dt.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            moment = None
    if moment is not None:
        try:
            return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
        except (OverflowError, ValueError) as exc:
            raise OverflowError(text) from exc
    match = _RELATIVE.search(text)
    if match is None:
        return now
    kind, position = match.group("kind"), match.group("position") or ""
    amount = int(match.group("number") or 0)
    snap = _SNAP.get((kind, position), {})
    try:
        months = {"m": amount, "y": 12 * amount}.get(kind, 0)
        index = now.year * 12 + snap.get("month", now.month) - 1 - months
        year, month = index // 12, index % 12 + 1
        if year < 1:
            raise OverflowError(text)
        day = min(calendar.monthrange(year, month)[1], snap.get("day", now.day))
        clock = {k: v for k, v in snap.items() if k in ("hour", "minute", "second", "microsecond")}
        delta = dt.timedelta(weeks=13 * amount) if kind == "q" else dt.timedelta(**{_UNITS[kind]: amount}) \
            if kind in _UNITS else dt.timedelta()
        return now.replace(year=year, month=month, day=day, **clock) - delta
    except (OverflowError, ValueError) as exc:
        raise OverflowError(text) from exc


# --- the properties filter (posthog/schema.py: EventPropertyFilter, PersonPropertyFilter) -----------------

_FILTER_SOURCE = "posthog/schema.py, EventPropertyFilter (extra='forbid'), via posthog/api/event.py"
_OLDER_DROP = "the 2022-2025 builds dropped it (PropertyMixin._parse_properties: `except: continue`)"
#: PropertyFilterType and PropertyOperator as current PostHog's schema lists them
_TYPES = frozenset({
    "meta", "event", "internal_event", "event_metadata", "person", "element", "feature", "session", "cohort",
    "recording", "log_entry", "group", "hogql", "data_warehouse", "data_warehouse_person_property",
    "error_tracking_issue", "revenue_analytics", "flag", "log",
})  # fmt: skip
_OPERATORS = frozenset({
    "exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "gte", "lt", "lte", "is_set",
    "is_not_set", "is_date_exact", "is_date_before", "is_date_after", "between", "not_between", "min", "max", "in",
    "not_in", "is_cleaned_path_exact", "flag_evaluates_to",
})  # fmt: skip
_FIELDS = frozenset({"key", "value", "operator", "type", "label"})
_RENDER_HINTS = frozenset({"property_type", "property_type_format"})  # _clean_property_node drops them first


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)


def filter_reading(item: Mapping[str, Any]) -> str | None:
    """Why PostHog's pydantic property filter refuses this filter (current PostHog: 500), or ``None``.

    ``EventPropertyFilter`` / ``PersonPropertyFilter``: ``extra="forbid"``, ``key: str``,
    ``value: Optional[Union[list[Union[str, float, bool]], Union[str, float, bool]]]``,
    ``label: Optional[str]``, ``operator`` optional only on event filters; ``type`` one of the
    PropertyFilterType literals (missing: event). Other types' own fields are not modelled.
    """
    extra = sorted(set(item) - _FIELDS - _RENDER_HINTS, key=str)
    if extra:
        return f"a property filter with the unknown keys {extra}"
    if not isinstance(item.get("key"), str):
        return "a property filter without a string key"
    kind = item.get("type", "event")
    if not isinstance(kind, str) or kind not in _TYPES:
        return f"a property filter of the unknown type {kind!r}"
    if kind not in ("event", "person"):
        return None
    operator = item.get("operator")
    if operator is None and kind == "person":
        return "a person property filter without an operator"
    if operator is not None and (not isinstance(operator, str) or operator not in _OPERATORS):
        return f"a property filter with the unknown operator {operator!r}"
    value = item.get("value")
    if value is not None and not _scalar(value) and not (isinstance(value, list) and all(map(_scalar, value))):
        return "a property filter whose value is an object or a nested list"
    if item.get("label") is not None and not isinstance(item["label"], str):
        return "a property filter whose label is not a string"
    return None


def _filter_list(items: list[Any]) -> list[Reading]:
    """A flat list (EventsQuery.properties): non-object items are left out; each filter is read; a group
    there is refused by the model (the older builds dropped it)."""
    readings = []
    for item in items:
        if not isinstance(item, dict):
            continue
        group = isinstance(item.get("values"), list)
        why = "a property group inside a list of filters" if group else filter_reading(item)
        if why is not None:
            readings.append(raises(_FILTER_SOURCE, f"{why}; {_OLDER_DROP}", older_accepts=True))
    return readings


def _group(node: Mapping[str, Any]) -> list[Reading]:
    """A group ``{"type": "AND"|"OR", "values": [...]}`` (PropertyGroupFilterValue): extra keys and
    non-object values are left out by ``_clean_property_node``; the type must be exactly AND or OR."""
    readings = []
    if node.get("type") not in ("AND", "OR"):
        readings.append(raises(_FILTER_SOURCE, f"a property group of type {node.get('type')!r}", older_accepts=True))
    for value in node["values"]:
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("values"), list):
            readings += _group(value)
        elif (why := filter_reading(value)) is not None:
            readings.append(raises(_FILTER_SOURCE, f"{why}; {_OLDER_DROP}", older_accepts=True))
    return readings


# --- path parameters ------------------------------------------------------------------------------------


def _dashboard_id(text: str) -> Reading:
    """Django's ``IntegerField.get_prep_value`` (``int()``) on the URL segment; otherwise 404."""
    return READ if _python_int(text) is not None else refused(f"dashboard id {text!r} is no integer: 404")


def _event_id(text: str) -> Reading:
    """``UUIDT.is_valid_uuid`` (``uuid.UUID(text)``): any spelling ``uuid.UUID`` reads; otherwise 400."""
    try:
        uuid.UUID(text)
    except ValueError:
        return refused(f"event id {text!r} is no UUID: 400 'Invalid UUID'")
    return READ


def _user_uuid(text: str) -> Reading:
    """Django's ``UUIDField.to_python`` on the lookup (``user__uuid``): hex forms; otherwise 404."""
    try:
        uuid.UUID(hex=text)
    except ValueError:
        return refused(f"user uuid {text!r} is no UUID: 404")
    return READ


def _path_readers(op_id: str) -> Mapping[str, Callable[[str], Reading]]:
    if op_id == "events_retrieve":
        return {"id": _event_id}
    return {"id": _dashboard_id, "dashboard_id": _dashboard_id, "user_uuid": _user_uuid}


def _wire_text(value: Any) -> str:
    """A path value as the server reads it: JSON scalars' spellings, URL-decoded."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return unquote(str(value))


# --- one case -------------------------------------------------------------------------------------------


@dataclass
class CaseReading:
    """PostHog's reading of one case: each input's :class:`Reading`, in the order PostHog reads them
    (the path lookup, the query, the body's validation, then the code that walks it)."""

    readings: list[tuple[str, Reading]] = field(default_factory=list)

    @property
    def refusals(self) -> list[str]:
        """The inputs no release accepts: a 2xx to the case is a violation."""
        return [f"{label}: {r.cited}" for label, r in self.readings if not r.accepted]

    def known_crash(self) -> str | None:
        """The PostHog code that raises on this case, where PostHog answers it 500; ``None`` where PostHog
        answers it otherwise (a 4xx first, or nothing it raises on), so that a 5xx is the host's own.

        Current PostHog answers with the first input it cannot read; failing that, a 2022-2025 build
        that raised on an input current PostHog reads."""
        for label, reading in self.readings:
            if reading.raises:
                return f"{label}: {reading.cited}"
            if reading.refuses:
                return None
        return next((f"{label}: {r.cited}" for label, r in self.readings if r.older_raises), None)


def judge(case: schemathesis.Case, response: Any) -> CaseReading:
    """How PostHog reads every input of ``case`` as the host received it (the query from the request URL:
    Django's ``QueryDict`` reads the last of repeated values, and an empty one as absent)."""
    op_id = operation_id(case.operation)
    verdict = CaseReading()
    path_readers = _path_readers(op_id)
    for name, value in (case.path_parameters or {}).items():
        reader = path_readers.get(name)
        if reader is not None:
            verdict.readings.append((f"path {name}", reader(_wire_text(value))))
    query = last_values(query_pairs(case, response))
    verdict.readings += [(f"query {name}", reading) for name, reading in _query_readings(op_id, query)]
    if is_negative(case, ParameterLocation.HEADER):
        verdict.readings.append(("header", refused("the contract declares no header PostHog reads leniently")))
    if case.body is not NOT_SET and is_negative(case, ParameterLocation.BODY):
        verdict.readings += [("body", refused(problem)) for problem in body_problems(op_id, case.body)]
    verdict.readings += [("body", raises(source, why)) for source, why in body_crashes(op_id, case.body)]
    return verdict
