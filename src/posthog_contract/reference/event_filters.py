"""The events list's ``properties`` filters (contract §7.2), compiled to one SQL boolean expression.

Input: a JSON array of filters (ANDed) or a nestable group ``{"type": "AND"|"OR", "values": [...]}``.
A filter is ``{"key", "value", "operator"="exact", "type"="event"}``; an array ``value`` means OR.
Types ``event`` (the event's properties, ``e.properties``) and ``person`` (the person's current
properties, ``p.properties`` of a LEFT JOIN); other types are 400 ``attr: "properties"``.

Before compiling, every filter is read as PostHog's pydantic models read it (``posthog/schema.py``,
``EventPropertyFilter`` / ``PersonPropertyFilter``, ``extra="forbid"``): a filter they refuse (an
unknown key, a missing or non-string ``key``, an object ``value``, an unknown ``operator`` or ``type``,
a person filter without an operator) is answered as ``--malformed-input`` says (contract §1.7): the
contract's 400 (default), current PostHog's 500, or the 2022-2025 builds' silent drop of the filter.

Semantics follow HogQL's ``property_to_expr``: values compare as text (``true``/``false`` for
booleans), negative operators (``is_not``, ``not_icontains``, ``not_regex``) also match events
without the property, ``gt``/``lt``/... compare numerically and skip non-numeric values.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from . import errors, mutants
from .event_dates import parse_date, parse_iso
from .storage import Database
from .timeutil import to_micros

_COMBINATIONS = "tests/test_events.py::test_a_combination_selects_exactly_what_it_documents"
FIRST_LEAF_ONLY = mutants.declare(
    "events_properties_first_leaf_only", "every filter of a `properties` list applies, ANDed (§7.2)",
    killed_by=(_COMBINATIONS,),
)
OR_AS_AND = mutants.declare(
    "events_properties_or_group_as_and", "an OR group matches events that match any of its values (§7.2)",
    killed_by=(_COMBINATIONS,),
)

UNPARSABLE = "Properties are unparsable!"
SUPPORTED_TYPES = ("event", "person")
OPERATORS = (
    "exact",
    "is_not",
    "icontains",
    "not_icontains",
    "regex",
    "not_regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "is_set",
    "is_not_set",
    "is_date_exact",
    "is_date_before",
    "is_date_after",
)
NEGATIVE = {"is_not": "exact", "not_icontains": "icontains", "not_regex": "regex"}
MAX_DEPTH = 20
MAX_FILTERS = 200  # filters, plus values of non-exact operators (each one SQL term)
MAX_VALUES = 1000  # values of one exact filter (SQL parameters)
SOURCES = {"event": "e.properties", "person": "p.properties"}
#: posthog/schema.py, PropertyFilterType: the filter types PostHog's models know (the reference serves two)
POSTHOG_TYPES = frozenset({
    "meta", "event", "internal_event", "event_metadata", "person", "element", "feature", "session", "cohort",
    "recording", "log_entry", "group", "hogql", "data_warehouse", "data_warehouse_person_property",
    "error_tracking_issue", "revenue_analytics", "flag", "log",
})  # fmt: skip
#: posthog/schema.py, PropertyOperator: the operators PostHog's models know (the reference serves OPERATORS)
POSTHOG_OPERATORS = frozenset({
    *OPERATORS, "between", "not_between", "min", "max", "in", "not_in", "is_cleaned_path_exact", "flag_evaluates_to",
})  # fmt: skip
#: EventPropertyFilter's fields; posthog/api/event.py (_clean_property_node) drops the two render hints first
LEAF_FIELDS = frozenset({"key", "value", "operator", "type", "label"})
RENDER_HINTS = frozenset({"property_type", "property_type_format"})
#: how a filter PostHog's model refuses is answered (``--malformed-input``)
CONTRACT_400, POSTHOG_500, DROPPED = "400", "500", "drop"
UNREADABLE_MATCHES_NOTHING = mutants.declare(
    "events_unreadable_filter_matches_nothing",
    "a property filter PostHog's model refuses is refused (or dropped, as older builds did), never applied (§7.2)",
    killed_by=("tests/test_malformed_input.py::test_property_filter_posthog_cannot_read_is_refused_or_dropped",),
)


def unparsable() -> errors.ApiError:
    return errors.validation_error(UNPARSABLE, attr=None)


def invalid(detail: str) -> errors.ApiError:
    return errors.validation_error(detail, attr="properties")


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)  # bool is an int: Union[str, float, bool]


def refusal(item: dict[str, Any]) -> str | None:
    """Why PostHog's pydantic property filter refuses this filter, or ``None`` when it reads it.

    ``posthog/schema.py``: ``EventPropertyFilter`` (``operator`` optional, default ``exact``) and
    ``PersonPropertyFilter`` (``operator`` required), both ``extra="forbid"``, ``key: str``,
    ``value: Optional[Union[list[Union[str, float, bool]], Union[str, float, bool]]]``,
    ``label: Optional[str]``; ``type`` is one of PropertyFilterType's literals (missing: ``event``).
    Only the event and person filters' fields are checked: the other types are not served (400).
    """
    extra = sorted(set(item) - LEAF_FIELDS - RENDER_HINTS, key=str)
    if extra:
        return f"unknown keys {json.dumps(extra)}"
    if not isinstance(item.get("key"), str):
        return 'a string "key" is required'
    kind = item.get("type", "event")
    if not isinstance(kind, str) or kind not in POSTHOG_TYPES:
        return f"unknown type {json.dumps(kind)}"
    if kind not in SUPPORTED_TYPES:
        return None  # known to PostHog, not served by the reference: answered as unsupported
    operator = item.get("operator")
    if operator is None and kind != "event":
        return f"a {kind} filter needs an operator"
    if operator is not None and (not isinstance(operator, str) or operator not in POSTHOG_OPERATORS):
        return f"unknown operator {json.dumps(operator)}"
    value = item.get("value")
    if value is not None and not _scalar(value) and not (isinstance(value, list) and all(map(_scalar, value))):
        return "value must be a string, number, boolean or a list of those"
    if item.get("label") is not None and not isinstance(item["label"], str):
        return "label must be a string"
    return None


# --- SQL functions (registered once per database) ------------------------------------------------


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _sql_regex(pattern: Any, value: Any) -> int | None:
    if value is None or pattern is None:
        return None
    try:
        return 1 if _pattern(str(pattern)).search(str(value)) else 0
    except (re.error, TypeError, RecursionError):
        return None


def _sql_float(value: Any) -> float | None:
    """A numeric-looking text as a number (HogQL's ``toFloat``); anything else NULL."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _sql_date(value: Any) -> int | None:
    """A property as a date (ISO text, or a unix timestamp in seconds or milliseconds) in micros."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) > 1e11 else value
            micros = int(seconds * 1_000_000)
            return micros if abs(micros) < 2**62 else None  # SQLite integers are 64-bit
        if isinstance(value, str):
            moment = parse_iso(value)
            return None if moment is None else to_micros(moment)
    except (ValueError, OverflowError):
        return None
    return None


_REGISTERED: weakref.WeakSet[Database] = weakref.WeakSet()


def register_functions(db: Database) -> None:
    """``ph_regex``, ``ph_float``, ``ph_date``: the few operators SQLite lacks."""
    if db in _REGISTERED:
        return
    with db.write() as conn:
        conn.create_function("ph_regex", 2, _sql_regex, deterministic=True)
        conn.create_function("ph_float", 1, _sql_float, deterministic=True)
        conn.create_function("ph_date", 1, _sql_date, deterministic=True)
    _REGISTERED.add(db)


# --- compilation ---------------------------------------------------------------------------------


@dataclass
class Compiled:
    """``sql`` is a boolean expression over ``e`` (events) and, if ``needs_person``, ``p`` (persons)."""

    sql: str = "1"
    params: list[Any] = field(default_factory=list)
    needs_person: bool = False


def _text(value: Any) -> list[str]:
    """The text forms a filter value matches (a number matches ``5`` and ``5.0``)."""
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int):
        return [str(value), f"{value}.0"]
    if isinstance(value, float):
        forms = [repr(value)]
        if value.is_integer():
            forms.append(str(int(value)))
        return forms
    if isinstance(value, str):
        forms = [value]
        number = _sql_float(value)
        if number is not None and re.fullmatch(r"-?\d+(\.0+)?", value.strip()):
            forms += [str(int(number)), f"{int(number)}.0"]
        return list(dict.fromkeys(forms))
    return [json.dumps(value, separators=(",", ":"), ensure_ascii=False)]


def _direct(values: list[Any]) -> list[Any] | None:
    """``exact`` as a plain ``json_extract(...) IN (...)`` list, when that means the same as comparing
    text forms: not for booleans, 0/1 (JSON booleans extract as 1/0) or objects.
    """
    items: list[Any] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None
        if isinstance(value, str) and (value in ("true", "false") or value.lstrip()[:1] in ("{", "[")):
            return None
        number = _sql_float(value)
        if number is None:
            items.append(value)
            continue
        if number in (0, 1):
            return None
        items.append(int(number) if number.is_integer() and abs(number) < 2**63 else number)
        items += [float(value) if isinstance(value, int) and abs(value) >= 2**63 else value, *_text(value)]
    return list(dict.fromkeys(items))


def _needles(items: list[Any]) -> list[str] | None:
    """Texts of which an event's stored properties JSON (capture's ``json.dumps``) must contain one
    for ``json_extract(...) IN items`` to hold: a string's escaped form, an integer's digits (a
    float equal to it prints them too, below 1e15), a float's repr. ``None``: no safe prefilter.
    """
    needles: list[str] = []
    for item in items:
        if isinstance(item, str):
            needles.append(json.dumps(item, ensure_ascii=False)[1:-1])
        elif isinstance(item, int):
            if abs(item) >= 10**15:
                return None
            needles.append(str(item))
        else:
            needles.append(repr(item))
    needles = list(dict.fromkeys(needles))
    needles = [n for n in needles if not any(o != n and o in n for o in needles)]  # "5" covers "5.0"
    return needles if 0 < len(needles) <= 6 else None


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


Fragment = tuple[str, list[Any]]


def _value(source: str, key: str) -> Fragment:
    """The property's SQL value (NULL when absent or JSON null)."""
    if '"' in key or "\\" in key:  # SQLite's JSON path cannot quote these: look the key up instead
        return f"(SELECT value FROM json_each({source}) WHERE key = ?)", [key]
    return f"json_extract({source}, ?)", [f'$."{key}"']


def _kind(source: str, key: str) -> Fragment:
    """The property's JSON type: 'text', 'integer', 'real', 'true', 'false', 'null', 'object', 'array'."""
    if '"' in key or "\\" in key:
        return f"(SELECT type FROM json_each({source}) WHERE key = ?)", [key]
    return f"json_type({source}, ?)", [f'$."{key}"']


def _as_text(source: str, key: str) -> Fragment:
    (value, vp), (kind, kp) = _value(source, key), _kind(source, key)
    return (
        f"(CASE {kind} WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST({value} AS TEXT) END)",
        kp + vp,
    )


def _as_number(source: str, key: str) -> Fragment:
    (value, vp), (kind, kp) = _value(source, key), _kind(source, key)
    return (
        f"(CASE {kind} WHEN 'integer' THEN {value} WHEN 'real' THEN {value} WHEN 'text' THEN ph_float({value}) END)",
        kp + vp + vp + vp,
    )


def _any(parts: list[Fragment]) -> Fragment:
    return "(" + " OR ".join(f"({sql})" for sql, _ in parts) + ")", [p for _, params in parts for p in params]


class _Compiler:
    def __init__(self, now: datetime, malformed: str = CONTRACT_400) -> None:
        self.now = now
        self.malformed = malformed
        self.needs_person = False
        self.count = 0

    def refused(self, detail: str) -> None:
        """A filter PostHog's model refuses: the contract's 400 or PostHog's 500 (``drop`` never gets here)."""
        if self.malformed == POSTHOG_500:
            raise errors.server_error()
        raise invalid(f"PostHog cannot read this property filter: {detail}.")

    def node(self, node: Any, depth: int, *, top: bool = False) -> Fragment | None:
        """The node's SQL, or ``None`` when it is dropped (``--malformed-input drop``, or a non-object item
        PostHog's ``_parse_properties_param`` leaves out)."""
        if depth > MAX_DEPTH:
            raise invalid(f"Property groups are nested more than {MAX_DEPTH} levels deep.")
        if isinstance(node, list) and top:
            return self.group("AND", node[:1] if mutants.active(FIRST_LEAF_ONLY) else node, depth, leaves_only=True)
        if not isinstance(node, dict):
            if self.malformed == CONTRACT_400:
                raise unparsable()
            return None  # posthog/api/event.py: only dict items are read (`if isinstance(prop, dict)`)
        if self.malformed == CONTRACT_400:
            kind = node.get("type")
            is_group = isinstance(kind, str) and kind.upper() in ("AND", "OR") and "key" not in node
            if is_group and not isinstance(node.get("values", []), list):
                raise unparsable()
            if is_group:
                joiner = "AND" if mutants.active(OR_AS_AND) else kind.upper()
                return self.group(joiner, node.get("values", []), depth)
            return self.filter(node)
        if not isinstance(node.get("values"), list):  # PostHog: a node with a `values` list is a group
            return self.filter(node)
        if node.get("type") not in ("AND", "OR"):  # PropertyGroupFilterValue.type: FilterLogicalOperator
            if self.malformed == DROPPED:
                return None
            self.refused(f"group type {json.dumps(node.get('type'))} is not AND or OR")
        joiner = "AND" if mutants.active(OR_AS_AND) else str(node["type"])
        return self.group(joiner, node["values"], depth)

    def group(self, joiner: str, values: list[Any], depth: int, *, leaves_only: bool = False) -> Fragment:
        if self.malformed == CONTRACT_400 and any(isinstance(value, list) for value in values):
            raise unparsable()  # only the top level may be a bare list; group values are filters or groups
        parts: list[Fragment] = []
        for value in values:
            if leaves_only and isinstance(value, dict) and isinstance(value.get("values"), list):
                # a top-level list holds filters (EventsQuery.properties), not groups
                if self.malformed == DROPPED:
                    continue
                self.refused("a list of filters cannot hold a group")
            part = self.node(value, depth + 1)
            if part is not None:
                parts.append(part)
        if not parts:
            return "1", []
        sql = "(" + f" {joiner} ".join(sql for sql, _ in parts) + ")"
        return sql, [p for _, params in parts for p in params]

    def filter(self, item: dict[str, Any]) -> Fragment | None:
        reason = refusal(item)
        if reason is not None and mutants.active(UNREADABLE_MATCHES_NOTHING):
            return "0", []
        if reason is not None:
            if self.malformed == DROPPED:
                return None  # posthog/models/filters/mixins/property.py: `except: continue`
            self.refused(reason)
        self.count += 1
        if self.count > MAX_FILTERS:
            raise invalid(f"At most {MAX_FILTERS} property filters are supported.")
        kind = item.get("type", "event")
        if kind not in SUPPORTED_TYPES:
            raise invalid(f"Property filter type {json.dumps(kind)} is not supported.")
        key = item.get("key")
        if not isinstance(key, str):
            raise invalid('Every property filter needs a string "key".')
        operator = item.get("operator")
        operator = "exact" if operator is None else operator
        if operator not in OPERATORS:
            raise invalid(f"Property filter operator {json.dumps(operator)} is not supported.")
        source = SOURCES[kind]
        if kind == "person":
            self.needs_person = True
        value = item.get("value")
        if operator in ("is_set", "is_not_set"):
            sql, params = _value(source, key)
            return f"({sql} {'IS NOT NULL' if operator == 'is_set' else 'IS NULL'})", params
        if operator in NEGATIVE:
            sql, params = self.positive(NEGATIVE[operator], source, key, value)
            return f"COALESCE(NOT {sql}, 1)", params
        # NULL (no such property) is false in WHERE and in AND/OR groups: no COALESCE needed
        return self.positive(operator, source, key, value)

    def positive(self, operator: str, source: str, key: str, value: Any) -> Fragment:
        """The operator's test: true, false, or NULL when the property is absent."""
        values = value if isinstance(value, list) else [value]
        if not values:
            return "0", []
        if operator == "exact":
            if len(values) > MAX_VALUES:
                raise invalid(f"At most {MAX_VALUES} values per property filter are supported.")
            direct = _direct(values)
            if direct is not None:
                items = direct
                if not items:
                    return "0", []
                value_sql, params = _value(source, key)
                sql = f"{value_sql} IN ({', '.join('?' * len(items))})"
                needles = _needles(items)
                if needles is not None and source == SOURCES["event"]:
                    # CASE, not AND: SQLite evaluates both sides of an AND inside an expression
                    prefilter = " OR ".join(f"instr({source}, ?) > 0" for _ in needles)
                    return f"(CASE WHEN {prefilter} THEN {sql} ELSE 0 END)", needles + params + items
                return f"({sql})", params + items
            forms = list(dict.fromkeys(form for v in values if v is not None for form in _text(v)))
            if not forms:
                return "0", []
            text, params = _as_text(source, key)
            return f"({text} IN ({', '.join('?' * len(forms))}))", params + forms
        self.count += len(values) - 1
        if self.count > MAX_FILTERS:
            raise invalid(f"At most {MAX_FILTERS} property filters and values are supported.")
        return _any([self.one(operator, source, key, v) for v in values])

    def one(self, operator: str, source: str, key: str, v: Any) -> Fragment:
        if operator == "icontains":
            if v is None or isinstance(v, (dict, list)):
                raise invalid("Operator icontains needs a text value.")
            needle = _text(v)[0]
            text, params = _as_text(source, key)
            sql, params = f"{text} LIKE ? ESCAPE '\\'", params + [f"%{_like_escape(needle)}%"]
            if source == SOURCES["event"] and needle.strip("0123456789.eE+-"):
                # the stored JSON holds the value escaped char by char, so it contains the escaped needle
                stored = _like_escape(json.dumps(needle, ensure_ascii=False)[1:-1])
                return f"(CASE WHEN {source} LIKE ? ESCAPE '\\' THEN {sql} ELSE 0 END)", [f"%{stored}%", *params]
            return sql, params
        if operator == "regex":
            if not isinstance(v, str):
                raise invalid("Operator regex needs a regular expression string.")
            try:
                _pattern(v)
            except re.error as exc:
                raise invalid(f"Invalid regular expression: {exc}.") from None
            text, params = _as_text(source, key)
            return f"ph_regex(?, {text})", [v] + params
        if operator in ("gt", "gte", "lt", "lte"):
            number = None if isinstance(v, bool) else _sql_float(v)
            if number is None:
                raise invalid(f"Operator {operator} needs a numeric value.")
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[operator]
            expr, params = _as_number(source, key)
            return f"{expr} {symbol} ?", params + [number]
        # is_date_exact / is_date_before / is_date_after
        moment = parse_date(v, self.now) if isinstance(v, str) else None
        if moment is None:
            raise invalid(f"Operator {operator} needs a date value.")
        value_sql, params = _value(source, key)
        date_sql, micros = f"ph_date({value_sql})", to_micros(moment)
        if operator == "is_date_before":
            return f"{date_sql} < ?", params + [micros]
        if operator == "is_date_after":
            return f"{date_sql} > ?", params + [micros]
        if re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", v):  # a day: any moment of it
            return f"{date_sql} BETWEEN ? AND ?", params + [micros, to_micros(moment + timedelta(days=1)) - 1]
        return f"{date_sql} / 1000000 = ?", params + [micros // 1_000_000]


def compile_properties(raw: str, now: datetime, malformed: str = CONTRACT_400) -> Compiled | None:
    """Parse and compile the ``properties`` query parameter; ``None`` when nothing filters.

    Unparsable JSON is a 400 in every mode. Valid JSON that is neither a list of filters nor a group
    is the contract's 400 by default; current PostHog reads it as no filter (``posthog/api/event.py``,
    ``EventViewSet._parse_properties_param`` returns ``None``), as the ``500`` and ``drop`` modes do.
    """
    try:
        data = json.loads(raw)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # lone surrogates cannot reach SQLite
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise unparsable() from None
    if malformed == CONTRACT_400:
        if isinstance(data, dict):
            kind = data.get("type")
            is_group = isinstance(kind, str) and kind.upper() in ("AND", "OR")
            if not (is_group and isinstance(data.get("values"), list)):
                raise unparsable()
        elif not isinstance(data, list):
            raise unparsable()
    elif not isinstance(data, list) and not (isinstance(data, dict) and isinstance(data.get("values"), list)):
        return None
    compiler = _Compiler(now, malformed)
    compiled = compiler.node(data, 0, top=True)
    if compiled is None:
        return None
    sql, params = compiled
    return Compiled(sql, params, compiler.needs_person)
