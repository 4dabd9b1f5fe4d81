"""Events list and retrieve (contract §7, §8): PostHog's ``EventViewSet`` on SQLite.

Keyset pagination on the timestamp exactly as PostHog builds it (§7.4): ``limit + 1`` rows are read,
``next`` is the request URL with every parameter kept in order and ``before`` (or ``after``) set to
the last returned timestamp. Every query walks one composite index, chosen by the most selective
filter (distinct id, event name, person, else time), in the order of the sort, so a page costs
``limit + 1`` index steps plus the rows the other filters skip; nothing counts.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import QUERY_READ, authorize
from .event_dates import DateOverflow, parse_date, posthog_date
from .event_filters import Compiled, compile_properties, register_functions
from .event_windows import WindowCache, size_category, windowed_page  # §7.4 progressive windows
from .routing import Route
from .storage import Database
from .timeutil import from_micros, iso_offset, now, to_micros

FILTER_EVENT_IGNORED = mutants.declare("events_filter_event_ignored", "events `event` filters by exact name (§7.1)")
FILTER_DISTINCT_ID_IGNORED = mutants.declare(
    "events_filter_distinct_id_ignored", "events `distinct_id` filters by exact distinct id (§7.1)"
)
FILTER_AFTER_IGNORED = mutants.declare(
    "events_filter_after_ignored", "events `after` is an exclusive lower bound (§7.1)"
)
FILTER_BEFORE_IGNORED = mutants.declare(
    "events_filter_before_ignored", "events `before` is an exclusive upper bound (§7.1)"
)
FILTER_PROPERTIES_IGNORED = mutants.declare(
    "events_filter_properties_ignored", "events `properties` filters apply (§7.2)"
)
FILTER_PERSON_IGNORED = mutants.declare("events_filter_person_ignored", "events `person_id` filters by person (§7.1)")
LIMIT_IGNORED = mutants.declare("events_limit_ignored", "events `limit` bounds the page size (§7.1)")
LIMIT_NOT_CAPPED = mutants.declare("events_limit_not_capped", "events `limit` is capped at 1000 (§7.1)")
ORDER_ASCENDING = mutants.declare("events_order_ascending", "events are listed newest first by default (§7.3)")
NEXT_MISSING = mutants.declare("events_next_missing", "events `next` links the following page while more match (§7.4)")
NEXT_RELATIVE = mutants.declare("events_next_relative", "events `next` is an absolute URL (§7.4)")
NEXT_WRONG_HOST = mutants.declare("events_next_wrong_host", "events `next` points at the host that answered (§7.4)")
NEXT_DROPS_FILTERS = mutants.declare("events_next_drops_filters", "events `next` keeps every request parameter (§7.4)")
NEXT_REPEATS_PAGE = mutants.declare(
    "events_next_repeats_page", "events `next` sets `before` to the last returned event's timestamp (§7.4)"
)
NEXT_DUPLICATES_BOUNDARY = mutants.declare(
    "events_next_duplicates_boundary", "events `before`/`after` are exclusive, so pages never overlap (§7.4)"
)
NEXT_WHEN_EXACT = mutants.declare(
    "events_next_when_exact", "events `next` is null when exactly `limit` events remained (§7.4)"
)
PROPERTIES_STRING = mutants.declare("event_properties_string", "an event's `properties` is a JSON object (§7.3)")
TIMESTAMP_NAIVE = mutants.declare("event_timestamp_naive", "an event's `timestamp` carries a UTC offset (§7.3)")
PERSON_ALWAYS_NULL = mutants.declare("event_person_always_null", "`include_person` fills an event's `person` (§7.3)")
RETRIEVE_WRONG_EVENT = mutants.declare("event_retrieve_wrong_event", "event retrieve returns the event asked for (§8)")
RETRIEVE_UNKNOWN_200 = mutants.declare(
    "event_retrieve_unknown_200", "event retrieve of an absent UUID is 404 not_found (§8)"
)
RETRIEVE_BAD_UUID_404 = mutants.declare(
    "event_retrieve_bad_uuid_404", "event retrieve of a non-UUID id is 400 'Invalid UUID' (§8)"
)
UNPARSABLE_500 = mutants.declare(
    "events_unparsable_properties_500", "unparsable `properties` is 400 'Properties are unparsable!' (§7.2)"
)
NON_INTEGER_LIMIT_READ = mutants.declare(
    "events_non_integer_limit_read", "a non-integer events `limit` is refused, never read as the default (§1.7)",
    killed_by=("tests/test_malformed_input.py::test_non_integer_limit_is_refused", "tests/test_property_based.py"),
)
ACTION_ID_IGNORED = mutants.declare(
    "events_non_integer_action_id_ignored", "a non-integer events `action_id` lists nothing or is refused (§7.1)",
    killed_by=("tests/test_malformed_input.py::test_non_integer_action_id_is_refused_or_lists_nothing",),
)
UNPARSABLE_DATE_IGNORED = mutants.declare(
    "events_unparsable_date_ignored", "an unparsable events `after` reads as now, not as absent (§7.1)",
    killed_by=("tests/test_malformed_input.py::test_unparsable_after_reads_as_now",),
)
UNPARSABLE_DATE_500 = mutants.declare(
    "events_unparsable_date_500", "an unparsable events `before`/`after` reads as now, never a 5xx (§7.1)",
    killed_by=("tests/test_malformed_input.py::test_unparsable_after_reads_as_now", "tests/test_property_based.py"),
)
OFFSET_IGNORED = mutants.declare(
    "events_offset_ignored", "events `offset` skips rows (§7.1)",
    killed_by=("tests/test_events.py::test_offset_skips_rows_of_the_limited_page",),
)
PERSON_ON_RETRIEVE_ONLY = mutants.declare(
    "events_list_ignores_include_person", "`include_person` fills `person` on the list too (§7.1, §7.3)",
    killed_by=("tests/test_events.py::test_include_person_fills_person_on_the_list_too",),
)
CSV_IGNORES_FILTERS = mutants.declare(
    "events_csv_ignores_filters", "the CSV export applies the filters of the request (§7.3)",
    killed_by=("tests/test_events.py::test_csv_format_lists_the_events",),
)
DISTINCT_ID_DROPPED_WITH_EVENT = mutants.declare(
    "events_distinct_id_dropped_beside_event", "`event` and `distinct_id` together select events matching both (§7.1)",
    killed_by=("tests/test_events.py::test_a_combination_selects_exactly_what_it_documents",),
)
CSV_AS_JSON = mutants.declare("events_csv_as_json", "events `format=csv` answers text/csv (§7.3)")
CONTENT_TYPE_TEXT = mutants.declare("events_content_type_text", "events endpoints answer application/json (§7.3)")
ORDER_BY_IGNORED = mutants.declare(
    "events_order_by_ignored", 'events orderBy ["timestamp"] lists oldest first (§7.3)',
    killed_by=("tests/test_events.py::test_order_by_timestamp_lists_oldest_first", "tests/test_pagination.py",
               "tests/test_property_based.py"),
)
PLUS_0000_REJECTED = mutants.declare(
    "events_plus_0000_rejected", "events before/after accept a +0000 offset (§7.1)",
    killed_by=("tests/test_events.py::test_before_accepts_a_plus_0000_offset",),
)
PERSON_UNASKED = mutants.declare(
    "event_person_without_include_person", "`person` is null unless include_person is requested (§7.3, §8)",
    killed_by=("tests/test_events.py::test_person_is_null_without_include_person", "tests/test_property_based.py"),
)
CSV_WITHOUT_DISTINCT_ID = mutants.declare(
    "events_csv_without_distinct_id", "the CSV export carries the id, event, distinct_id and timestamp columns (§7.3)",
    killed_by=("tests/test_events.py::test_csv_format_lists_the_events", "tests/test_property_based.py"),
)

DEFAULT_LIMIT = 100
CSV_DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000
MAX_OFFSET = 50000
DEFAULT_WINDOW = timedelta(hours=24)
FUTURE_SLACK = timedelta(seconds=5)
PERSON_PROPERTIES_KEPT = ("email", "name", "username")
_COLUMNS = "e.seq, e.uuid, e.event, e.distinct_id, e.properties, e.ts, e.elements_chain"


# --- elements (PostHog: posthog/models/element/element.py) -----------------------------------------

_SPLIT_CHAIN = re.compile(r'(?:[^\s;"]|"(?:\\.|[^"])*")+')
_SPLIT_CLASS_ATTRIBUTES = re.compile(r"(.*?)($|:([a-zA-Z\-_0-9]*=.*))")
_ATTRIBUTES = re.compile(r"((.*?)=\"(.*?[^\\])\")")


def elements_from_chain(chain: str) -> list[dict[str, Any]]:
    """PostHog's ``chain_to_elements``: the `elements` array of an event (``[]`` if none or odd)."""
    if not chain:
        return []
    try:
        elements = []
        for order, text in enumerate(_SPLIT_CHAIN.findall(chain)):
            tag_part, _, attribute_part = _SPLIT_CLASS_ATTRIBUTES.findall(text)[0]
            element: dict[str, Any] = {
                "event": None,
                "text": None,
                "tag_name": None,
                "attr_class": None,
                "href": None,
                "attr_id": None,
                "nth_child": None,
                "nth_of_type": None,
                "attributes": {},
                "order": order,
            }
            if tag_part:
                tag, *classes = tag_part.split(".")
                element["tag_name"] = tag
                if classes:
                    element["attr_class"] = [c for c in classes if c]
            for _, name, value in _ATTRIBUTES.findall(attribute_part):
                value = value.replace('\\"', '"')
                if name == "text":
                    element["text"] = value
                elif name == "attr_id":
                    element["attr_id"] = value
                elif name == "href":
                    element["href"] = value
                elif name == "nth-child":
                    element["nth_child"] = int(value)
                elif name == "nth-of-type":
                    element["nth_of_type"] = int(value)
                else:
                    element["attributes"][name] = value
            elements.append(element)
        return elements
    except (ValueError, IndexError):
        return []


def _escape(value: Any) -> str:
    return str(value).replace('"', '\\"')


def chain_from_elements(elements: list[Any]) -> str:
    """PostHog's ``elements_to_string`` for the ``$elements`` list posthog-js captures."""
    parts = []
    for item in elements:
        if not isinstance(item, dict):
            continue
        text = str(item.get("tag_name") or "")
        classes = item.get("attr__class") or item.get("classes") or []
        if isinstance(classes, str):
            classes = classes.split()
        elif not isinstance(classes, list):
            classes = []
        for name in sorted(str(c) for c in classes):
            text += "." + name.replace('"', "")
        attributes: dict[str, Any] = {
            "nth-child": item.get("nth_child") or 0,
            "nth-of-type": item.get("nth_of_type") or 0,
        }
        if item.get("$el_text"):
            attributes["text"] = item["$el_text"]
        if item.get("attr__href"):
            attributes["href"] = item["attr__href"]
        if item.get("attr__id"):
            attributes["attr_id"] = item["attr__id"]
        attributes.update({k: v for k, v in item.items() if k.startswith("attr__") and isinstance(v, (str, int))})
        text += ":" + "".join(f'{_escape(k)}="{_escape(v)}"' for k, v in sorted(attributes.items()))
        parts.append(text)
    return ";".join(parts)


# --- serialisation ---------------------------------------------------------------------------------


def _timestamp(micros: int) -> str:
    moment = from_micros(micros)
    if mutants.active(TIMESTAMP_NAIVE):
        return moment.replace(tzinfo=None).isoformat()
    return iso_offset(moment)


def event_json(row: sqlite3.Row, person: dict[str, Any] | None) -> dict[str, Any]:
    """PostHog's ``ClickhouseEventSerializer`` (§7.3)."""
    chain = row["elements_chain"] or ""
    return {
        "id": row["uuid"],
        "distinct_id": row["distinct_id"],
        "properties": row["properties"] if mutants.active(PROPERTIES_STRING) else json.loads(row["properties"]),
        "event": row["event"],
        "timestamp": _timestamp(row["ts"]),
        "person": person,
        "elements": elements_from_chain(chain),
        "elements_chain": chain,
    }


def _persons_by_distinct_id(db: Database, project_id: int, distinct_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The ``person`` of each distinct id: is_identified, its first distinct id, email/name/username."""
    wanted = sorted(set(distinct_ids))
    if not wanted:
        return {}
    found: dict[str, sqlite3.Row] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = db.all(
            "SELECT d.distinct_id, p.id, p.properties, p.is_identified FROM person_distinct_ids d"
            " JOIN persons p ON p.id = d.person_id"
            f" WHERE d.project_id = ? AND d.distinct_id IN ({','.join('?' * len(chunk))})",
            [project_id, *chunk],
        )
        found.update({r["distinct_id"]: r for r in rows})
    person_ids = sorted({r["id"] for r in found.values()})
    first: dict[int, str] = {}
    for start in range(0, len(person_ids), 500):
        chunk = person_ids[start : start + 500]
        for r in db.all(
            "SELECT person_id, distinct_id FROM person_distinct_ids"
            f" WHERE person_id IN ({','.join('?' * len(chunk))}) ORDER BY rowid",
            chunk,
        ):
            first.setdefault(r["person_id"], r["distinct_id"])
    result = {}
    for distinct_id, r in found.items():
        properties = json.loads(r["properties"])
        result[distinct_id] = {
            "is_identified": bool(r["is_identified"]),
            "distinct_ids": [first.get(r["id"], distinct_id)],
            "properties": {k: properties[k] for k in PERSON_PROPERTIES_KEPT if k in properties},
        }
    return result


def _serialise(db: Database, project_id: int, rows: list[sqlite3.Row], include_person: bool) -> list[dict[str, Any]]:
    persons = {}
    include_person = include_person or mutants.active(PERSON_UNASKED)
    if include_person and not mutants.active(PERSON_ALWAYS_NULL):
        persons = _persons_by_distinct_id(db, project_id, (r["distinct_id"] for r in rows))
    return [event_json(r, persons.get(r["distinct_id"])) for r in rows]


def _json(data: Any, status: int = 200) -> Response:
    response = errors.json_response(data, status)
    if mutants.active(CONTENT_TYPE_TEXT):
        response.headers["content-type"] = "text/html; charset=utf-8"
    return response


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    else:
        out[prefix] = "" if value is None or value in ({}, []) else value


def csv_response(results: list[dict[str, Any]]) -> Response:
    """drf-csv's renderer: nested keys dotted, columns sorted, one row per event."""
    rows = []
    for item in results:
        flat: dict[str, Any] = {}
        _flatten(item, "", flat)
        if mutants.active(CSV_WITHOUT_DISTINCT_ID):
            flat.pop("distinct_id", None)
        rows.append(flat)
    header = sorted({key for row in rows for key in row}) or ["id", "distinct_id", "event", "timestamp"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="")
    writer.writeheader()
    writer.writerows(rows)
    return Response(buffer.getvalue().encode(), media_type="text/csv; charset=utf-8")


# --- the list ----------------------------------------------------------------------------------------


def _query_params(request: Request) -> dict[str, str]:
    """Django's ``request.GET.dict()``: first-seen order, a repeated parameter keeps its last value."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(request.url.query, keep_blank_values=True):
        params[key] = value
    return params


def _malformed(request: Request, error: errors.ApiError) -> errors.ApiError:
    """A value PostHog cannot read (contract §1.7): the contract's 400 (``--malformed-input 400``, the
    default), or PostHog's own 500 (``500``; ``drop``: the older builds, which raise there too)."""
    return error if request.app.state.options.malformed_input == "400" else errors.server_error()


def _limit(request: Request, params: dict[str, str], default: int) -> tuple[int, int]:
    """``(page size, the limit PostHog sizes its time windows by)``.

    posthog/api/event.py, ``EventViewSet.list``: an absent or empty ``limit`` is the default;
    otherwise ``int(...)``, which raises on anything else (PostHog: 500); capped at 1000. A limit of 0
    or less reads as the default page (``HogQLHasMorePaginator``: ``limit if limit and limit > 0 else
    DEFAULT_RETURNED_ROWS``), while the windows still halve the limit given (``max(limit // 2, 1)``).
    """
    raw = params.get("limit")
    if not raw:
        limit = requested = default
    else:
        try:
            requested = max(min(int(raw), 10**9), -(10**9))  # beyond any page; keeps SQLite's integers in range
        except ValueError:
            if not mutants.active(NON_INTEGER_LIMIT_READ):
                error = errors.validation_error("A valid integer is required.", attr="limit")
                raise _malformed(request, error) from None
            requested = default
        limit = requested if requested > 0 else default
    if mutants.active(LIMIT_IGNORED):
        return MAX_LIMIT, MAX_LIMIT
    if not mutants.active(LIMIT_NOT_CAPPED):
        limit, requested = min(limit, MAX_LIMIT), min(requested, MAX_LIMIT)
    return limit, requested


def _offset(params: dict[str, str]) -> int:
    """posthog/api/event.py: ``int(offset)``, a ValueError reads as 0, and the paginator reads anything
    below 1 as 0; above 50000 the deprecation 400 (§7.4)."""
    raw = params.get("offset")
    try:
        offset = max(min(int(raw), 10**9), 0) if raw else 0
    except ValueError:
        offset = 0
    if offset > MAX_OFFSET:
        raise errors.validation_error(
            f"Offset is deprecated. Max supported offset value is {MAX_OFFSET}", attr="offset"
        )
    return offset


def _order(request: Request, params: dict[str, str]) -> tuple[bool, str]:
    """``(ascending, the bound next sets)``. The contract (default): ``["-timestamp"]`` or ``["timestamp"]``,
    anything else 400. PostHog (``500``/``drop``, posthog/api/event.py): ``list(json.loads(orderBy))``
    (raising on anything else: 500), descending only for exactly ``["-timestamp"]``, and ``next`` sets
    ``before`` whenever the list holds ``"-timestamp"`` (``_build_next_url``), ``after`` otherwise."""
    raw = params.get("orderBy")
    if not raw:
        ascending = mutants.active(ORDER_ASCENDING)
        return ascending, "after" if ascending else "before"
    if request.app.state.options.malformed_input == "400":
        try:
            order = json.loads(raw)
        except (ValueError, RecursionError):
            order = None
        if order == ["-timestamp"]:
            return False, "before"
        if order == ["timestamp"]:
            ascending = not mutants.active(ORDER_BY_IGNORED)
            return ascending, "after" if ascending else "before"
        raise errors.validation_error('orderBy must be ["-timestamp"] or ["timestamp"] (a JSON list).', attr="orderBy")
    try:
        listed = list(json.loads(raw))
    except (ValueError, TypeError, RecursionError):
        raise errors.server_error() from None
    ascending = not (len(listed) == 1 and listed[0] == "-timestamp")
    if listed == ["timestamp"] and mutants.active(ORDER_BY_IGNORED):
        ascending = False
    return ascending, "before" if "-timestamp" in listed else "after"


#: a relative part PostHog's relative_date_parse would find anywhere in a date (its `re.search`)
_POSTHOG_DATE_PART = re.compile(r"[0-9]+[hdwmqysHDWMQY]")


def _date(request: Request, params: dict[str, str], name: str, moment: datetime) -> datetime | None:
    """PostHog reads every ``before``/``after`` (posthog/utils.py, ``relative_date_parse``): what it cannot
    parse is *now*, never a 400; only a date beyond datetime's range raises (PostHog: 500)."""
    raw = params.get(name)
    if not raw:
        return None
    if mutants.active(PLUS_0000_REJECTED) and raw.strip().endswith(("+0000", " 0000")):
        raise errors.validation_error(f"{name} is not a valid date-time: {raw!r}.", attr=name)
    if parse_date(raw, moment) is None and not _POSTHOG_DATE_PART.search(raw):  # PostHog reads it as now
        if mutants.active(UNPARSABLE_DATE_500):
            raise errors.server_error()
        if mutants.active(UNPARSABLE_DATE_IGNORED):
            return None
    try:
        parsed = posthog_date(raw, moment)
        if name == "before" and not params.get("after"):
            _ = parsed - DEFAULT_WINDOW  # LegacyEventsListQuery.run_page: after = before - 24 h
    except (DateOverflow, OverflowError):
        detail = f"{name} is beyond the dates PostHog can represent: {raw!r}."
        raise _malformed(request, errors.validation_error(detail, attr=name)) from None
    return parsed


def _action_id(request: Request, params: dict[str, str]) -> bool:
    """Whether the request names an action (the reference has none: it lists nothing).

    ``LegacyEventsListQuery.run_page``: ``if action_id: Action.objects.get(pk=int(action_id), ...)``: an
    empty value is no filter, an unknown action lists nothing, a non-integer raises (PostHog: 500; one
    intermediate build listed nothing, as ``--malformed-input drop`` does).
    """
    raw = params.get("action_id")
    if not raw:
        return False
    try:
        int(raw)
    except ValueError:
        if mutants.active(ACTION_ID_IGNORED):
            return False
        if request.app.state.options.malformed_input != "drop":
            error = errors.validation_error("A valid integer is required.", attr="action_id")
            raise _malformed(request, error) from None
    return True


def _truthy(raw: str | None) -> bool:
    return raw is not None and raw.strip().lower() in ("true", "1")


def _resolve_person(db: Database, project_id: int, raw: str) -> int | None:
    """A person integer id or UUID of this project; ``None`` when there is no such person."""
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        if int(raw) >= 2**63:
            return None
        return db.scalar("SELECT id FROM persons WHERE project_id = ? AND id = ?", (project_id, int(raw)))
    try:
        person_uuid = str(uuid.UUID(raw))
    except ValueError:
        return None
    return db.scalar("SELECT id FROM persons WHERE project_id = ? AND uuid = ?", (project_id, person_uuid))


def _absolute(request: Request, path: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{path}"


def _next_url(request: Request, params: dict[str, str], rows: list[sqlite3.Row], key: str, limit: int) -> str:
    """§7.4: the request path, every parameter in original order, ``key`` (``before``/``after``) set in place."""
    boundary = rows[0] if mutants.active(NEXT_REPEATS_PAGE) else rows[-1]
    stamp = iso_offset(from_micros(boundary["ts"]))
    changed = dict(params)
    changed[key] = stamp
    if mutants.active(NEXT_DROPS_FILTERS):
        changed = {key: stamp, "limit": str(limit)}
    path = quote(request.url.path, safe="/@:!$&'()*+,;=~") + "?" + urlencode(changed)
    if mutants.active(NEXT_RELATIVE):
        return path
    if mutants.active(NEXT_WRONG_HOST):
        return "http://example.invalid" + path
    return _absolute(request, path)


@dataclass(frozen=True)
class EventQuery:
    """One page of the events list, parameters already validated (times in UTC microseconds)."""

    project_id: int
    after: int
    before: int
    visible_at: float
    distinct_id: str | None = None
    event: str | None = None
    person_pk: int | None = None
    properties: Compiled | None = None
    ascending: bool = False
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def build_query(q: EventQuery) -> tuple[str, list[Any]]:
    """The page's SQL: one index, picked by the most selective equality (distinct id, event name,
    person, else time), whose trailing (ts, rowid) columns give the sort order without a sort step;
    ``limit + 1`` rows tell whether ``next`` exists.
    """
    where = ["e.project_id = ?"]
    args: list[Any] = [q.project_id]
    index = "events_by_time"
    if q.distinct_id is not None and not mutants.active(FILTER_DISTINCT_ID_IGNORED):
        where.append("e.distinct_id = ?")
        args.append(q.distinct_id)
        index = "events_by_distinct_id"
    if q.event is not None and not mutants.active(FILTER_EVENT_IGNORED):
        where.append("e.event = ?")
        args.append(q.event)
        index = "events_by_name" if index == "events_by_time" else index
    if q.person_pk is not None:
        where.append("e.person_id = ?")
        args.append(q.person_pk)
        index = "events_by_person" if index == "events_by_time" else index
    inclusive = mutants.active(NEXT_DUPLICATES_BOUNDARY)
    if not mutants.active(FILTER_AFTER_IGNORED):
        where.append("e.ts >= ?" if inclusive else "e.ts > ?")
        args.append(q.after)
    if not mutants.active(FILTER_BEFORE_IGNORED):
        where.append("e.ts <= ?" if inclusive else "e.ts < ?")
        args.append(q.before)
    where.append("e.visible_at <= ?")
    args.append(q.visible_at)
    join = ""
    if q.properties is not None and not mutants.active(FILTER_PROPERTIES_IGNORED):
        where.append(q.properties.sql)
        args += q.properties.params
        if q.properties.needs_person:
            join = " LEFT JOIN persons p ON p.id = e.person_id"
    direction = "ASC" if q.ascending else "DESC"
    sql = (
        f"SELECT {_COLUMNS} FROM events e INDEXED BY {index}{join} WHERE {' AND '.join(where)}"
        f" ORDER BY e.ts {direction}, e.seq {direction} LIMIT ? OFFSET ?"
    )
    return sql, [*args, q.limit + 1, q.offset]


def _page_rows(
    request: Request,
    query: EventQuery,
    params: dict[str, str],
    run: Callable[[int], list[sqlite3.Row]],
    requested_limit: int,
) -> list[sqlite3.Row]:
    """The rows of one page, through PostHog's progressive windows unless the server runs without them
    (sized by the limit the request gave, which may be 0 or less while the page holds the default)."""
    if "event-windows" in request.app.state.options.features_off:
        return run(query.after)
    span = None
    if params.get("after") and params.get("before"):  # LegacyEventsListQuery.run: both bounds given
        span = (query.before - query.after) / 1_000_000
    cache: WindowCache = request.app.state.event_windows
    key = (query.project_id, query.event is not None, query.distinct_id is not None, size_category(requested_limit))
    return windowed_page(
        cache, key=key, after=query.after, before=query.before, request_span_s=span,
        ascending=query.ascending, limit=query.limit, run=run, half_limit=max(requested_limit // 2, 1),
    )


async def list_events(request: Request) -> Response:
    ctx = await authorize(request, QUERY_READ, klass="events")
    db, project_id = ctx.db, ctx.project_id
    params = _query_params(request)
    moment = now()

    fmt = params.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise errors.not_found()  # DRF: no renderer for the requested format
    as_csv = fmt == "csv" and not mutants.active(CSV_AS_JSON)
    # PostHog's order (EventViewSet.list, then LegacyEventsListQuery.run_page): limit, the properties
    # JSON, orderBy, the dates, action_id, then each property filter; the first it cannot read answers
    limit, requested_limit = _limit(request, params, CSV_DEFAULT_LIMIT if fmt == "csv" else DEFAULT_LIMIT)
    offset = 0 if mutants.active(OFFSET_IGNORED) else _offset(params)
    properties = None
    raw_properties = params.get("properties")
    if raw_properties:
        try:
            json.loads(raw_properties)
        except (ValueError, RecursionError):
            if mutants.active(UNPARSABLE_500):
                raise errors.server_error() from None
            raise errors.validation_error("Properties are unparsable!") from None
    ascending, next_key = _order(request, params)
    before = _date(request, params, "before", moment) or moment + FUTURE_SLACK
    after = _date(request, params, "after", moment) or moment - DEFAULT_WINDOW  # personal keys: the last 24 h

    include_person = _truthy(params.get("include_person")) and not mutants.active(PERSON_ON_RETRIEVE_ONLY)
    if _action_id(request, params):  # the reference has no actions: every action matches nothing
        return csv_response([]) if as_csv else _json({"next": None, "results": []})
    if raw_properties:
        try:
            properties = compile_properties(raw_properties, moment, request.app.state.options.malformed_input)
        except errors.ApiError as exc:
            if exc.detail == "Properties are unparsable!" and mutants.active(UNPARSABLE_500):
                raise errors.server_error() from None
            raise

    if as_csv and mutants.active(CSV_IGNORES_FILTERS):
        params = {k: v for k, v in params.items() if k not in ("event", "distinct_id")}

    person_pk = None
    if params.get("person_id") and not mutants.active(FILTER_PERSON_IGNORED):
        person_pk = _resolve_person(db, project_id, params["person_id"])
        if person_pk is None:  # unknown person: nothing matches (PostHog: test_filter_by_nonexisting_person)
            return csv_response([]) if as_csv else _json({"next": None, "results": []})
    if properties is not None:
        register_functions(db)
    query = EventQuery(
        project_id=project_id,
        after=to_micros(after),
        before=to_micros(before),
        visible_at=time.time(),
        distinct_id=None if mutants.active(DISTINCT_ID_DROPPED_WITH_EVENT) and params.get("event")
        else params.get("distinct_id") or None,
        event=params.get("event") or None,
        person_pk=person_pk,
        properties=properties,
        ascending=ascending,
        limit=limit,
        offset=offset,
    )

    def run(lower_bound: int) -> list[sqlite3.Row]:
        sql, args = build_query(replace(query, after=lower_bound))
        try:
            return db.all(sql, args)
        except sqlite3.OperationalError as exc:  # only a filter beyond SQLite's limits gets here
            raise errors.validation_error(
                f"The properties filter is too complex: {exc}.", attr="properties"
            ) from None

    rows = _page_rows(request, query, params, run, requested_limit)
    more = len(rows) > limit or (mutants.active(NEXT_WHEN_EXACT) and len(rows) == limit)
    rows = rows[:limit]
    results = _serialise(db, project_id, rows, include_person)
    if as_csv:
        return csv_response(results)
    next_url = None
    if more and rows and not mutants.active(NEXT_MISSING):
        next_url = _next_url(request, params, rows, next_key, limit)
    return _json({"next": next_url, "results": results})


# --- retrieve ----------------------------------------------------------------------------------------


async def retrieve_event(request: Request) -> Response:
    ctx = await authorize(request, QUERY_READ, klass="events")
    db, project_id = ctx.db, ctx.project_id
    raw = request.path_params["event_id"]
    if raw == "values":  # `events/values` is out of scope (§0.2)
        raise errors.not_found()
    try:
        event_uuid = str(uuid.UUID(raw))
    except ValueError:
        if mutants.active(RETRIEVE_BAD_UUID_404):
            raise errors.not_found() from None
        body = {"detail": "Invalid UUID", "code": "invalid", "type": "validation_error"}
        raise errors.RawResponse(_json(body, 400)) from None
    row = db.one(
        f"SELECT {_COLUMNS} FROM events e WHERE e.uuid = ? AND e.project_id = ? AND e.visible_at <= ?",
        (event_uuid, project_id, time.time()),
    )
    if mutants.active(RETRIEVE_WRONG_EVENT):
        row = (
            db.one(
                f"SELECT {_COLUMNS} FROM events e INDEXED BY events_by_time"
                " WHERE e.project_id = ? AND e.uuid != ? ORDER BY e.ts DESC, e.seq DESC LIMIT 1",
                (project_id, event_uuid),
            )
            or row
        )
    if row is None:
        if mutants.active(RETRIEVE_UNKNOWN_200):
            return _json(None)
        raise errors.not_found(f"No events exist for event UUID {raw}")
    include_person = _truthy(request.query_params.get("include_person"))
    return _json(_serialise(db, project_id, [row], include_person)[0])


ROUTES = [
    Route("{prefix}/events", {"GET": list_events}),
    Route("{prefix}/events/{event_id}", {"GET": retrieve_event}),
]
