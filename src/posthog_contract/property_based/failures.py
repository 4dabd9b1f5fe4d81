"""The failure filter: failures the spec accepts (empty 200s it documents, lenient values) are dropped."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema
import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation

from .. import contract
from ..outcomes import OutcomeLog
from .cases import is_negative, is_ours, json_or_none, operation_id
from .run import run_of

#: The failures an empty body causes by itself (no body to parse, type or content-type); only these
#: are excused by a documented empty 200. Anything else (an unauthenticated request that succeeded,
#: a 5xx, an undocumented status) is still the host's failure.
_EMPTY_BODY_FAILURES = frozenset(
    {
        "JsonSchemaError",
        "MalformedJson",
        "MissingContentType",
        "UndefinedContentType",
        "MalformedMediaType",
        "ContentDeserializationError",
    }
)

#: §5, §6: PostHog documents these as 200 "No response body"; an empty 200 is a warning, not a failure.
_EMPTY_200_IS_A_WARNING = frozenset(
    {
        "dashboards_move_tile_partial_update",
        "dashboards_move_tile_create",
        "dashboards_create_from_template_json_create",
    }
)


def _any_value(value: Any) -> bool:
    return True


def _empty(value: Any) -> bool:
    return value == ""


#: Query parameters whose invalid values the spec says the host accepts (value ignored or no match).
_LENIENT_QUERY: Mapping[str, Mapping[str, Callable[[Any], bool]]] = {
    # §7.1: include_person is true only for true/1; an unknown person_id or action_id matches
    # nothing; an empty after/before is no bound (PostHog tests the value's truthiness)
    "events_list": {
        "include_person": _any_value,
        "person_id": _any_value,
        "action_id": _any_value,
        "after": _empty,
        "before": _empty,
    },
    "events_retrieve": {"include_person": _any_value},
    # §1.6: DRF LimitOffsetPagination reads an invalid limit as 100 and an invalid offset as 0
    "dashboards_list": {"limit": _any_value, "offset": _any_value},
    "projects_list": {"limit": _any_value, "offset": _any_value},
}


def _relaxed_template_body() -> dict[str, Any]:
    """The template body as PostHog itself validates it (§6): its dashboard_template_schema.json types
    tile items only as objects and leaves is_featured untyped; creation_context / _create_in_folder
    are read unvalidated."""
    schema = contract.load_schema("create-from-template-json-body")
    schema.pop("$id", None)
    template = schema["properties"]["template"]["properties"]
    template["tiles"]["items"] = {"type": "object"}
    template["is_featured"] = {}
    schema["properties"]["creation_context"] = {}
    schema["properties"]["_create_in_folder"] = {}
    return schema


#: DRF's BooleanField (rest_framework/fields.py, TRUE_VALUES / FALSE_VALUES): what it reads as a boolean.
_DRF_BOOLEAN_STRINGS = frozenset(
    {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"}
    | {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"}
)
_DRF_FORMATS = jsonschema.FormatChecker(formats=())
_DRF_FORMATS.checkers.update(contract.FORMAT_CHECKER.checkers)


@_DRF_FORMATS.checks("drf-boolean")
def _drf_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value in (0, 1)
    return isinstance(value, str) and value in _DRF_BOOLEAN_STRINGS


@_DRF_FORMATS.checks("drf-integer")
def _drf_integer(value: object) -> bool:
    """DRF's IntegerField: ``int(re_decimal.sub('', str(data)))``, never a bool."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        int(re.sub(r"\.0*\s*$", "", str(value)))
    except (ValueError, OverflowError):
        return False
    return True


#: django.utils.dateparse.datetime_re, the fallback of ``parse_datetime`` after ``fromisoformat``
_DJANGO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?"
    r"\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


@_DRF_FORMATS.checks("drf-datetime")
def _drf_datetime(value: object) -> bool:
    """DRF's DateTimeField on JSON input: Django's ``parse_datetime`` (``datetime.fromisoformat``, then
    ``datetime_re``), then the move to UTC (an overflow is refused). Non-strings are left to ``type``."""
    if not isinstance(value, str):
        return True
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        match = _DJANGO_DATETIME.match(value)
        if match is None:
            return False
        parts = match.groupdict()
        zone = parts.pop("tzinfo")
        if parts["microsecond"]:
            parts["microsecond"] = parts["microsecond"].ljust(6, "0")
        tzinfo = None
        if zone == "Z":
            tzinfo = dt.UTC
        elif zone is not None:
            minutes = 60 * int(zone[1:3]) + (int(zone[-2:]) if len(zone) > 3 else 0)
            tzinfo = dt.timezone(dt.timedelta(minutes=-minutes if zone[0] == "-" else minutes))
        try:
            moment = dt.datetime(**{k: int(v) for k, v in parts.items() if v is not None}, tzinfo=tzinfo)
        except ValueError:
            return False
    try:
        (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return False
    return True


@_DRF_FORMATS.checks("drf-uuid")
def _drf_uuid(value: object) -> bool:
    """A ``ListField(child=CharField())`` item that ``uuid.UUID(...)`` then reads (quick_filter_ids)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        uuid.UUID(str(value).strip())
    except ValueError:
        return False
    return True


#: JSON schema format -> the DRF field's own reading of it
_DRF_FORMAT_OF = {"date-time": "drf-datetime", "uuid": "drf-uuid"}


def _drf_types(node: dict[str, Any]) -> dict[str, Any]:
    """One schema node's ``type`` as DRF's fields read it (rest_framework/fields.py):

    - ``boolean``: BooleanField's string and number spellings (``format: drf-boolean``);
    - ``integer`` (no ``enum``): IntegerField's ``"12"`` / ``12.0`` (``format: drf-integer``);
    - ``string`` (no ``format``/``enum``): CharField.to_internal_value takes ``str | int | float`` and
      ``str()``s it (never a bool), so a number is a valid string (``type`` gains ``number``).
    """
    kinds = node.get("type")
    if not isinstance(kinds, str | list):
        return node
    plain: list[str] = []
    readings: list[dict[str, Any]] = []
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        if kind == "boolean":
            readings.append({"format": "drf-boolean"})
        elif kind == "integer" and "enum" not in node:
            readings.append({"format": "drf-integer"})
        elif kind == "string" and "format" not in node and "enum" not in node:
            plain += ["string", "number"]
        else:
            plain.append(kind)
    out = dict(node)
    if not readings:
        out["type"] = plain[0] if len(plain) == 1 else plain
        return out
    del out["type"]
    if plain:
        readings.append({"type": plain})
    alternatives = readings[0] if len(readings) == 1 else {"anyOf": readings}
    if "anyOf" in out or len(readings) == 1 and "format" in out:
        out.setdefault("allOf", []).append(alternatives)
    else:
        out.update(alternatives)
    return out


def _as_drf_reads(node: Any) -> Any:
    """A body schema widened to what DRF's fields accept (§1.1: DRF coerces scalars): booleans and
    integers in their string and number spellings, numbers for CharFields, dates and UUIDs as DRF
    parses them. Everything else keeps the contract's rule."""
    if isinstance(node, list):
        return [_as_drf_reads(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _as_drf_reads(value) for key, value in node.items()}
    if out.get("format") in _DRF_FORMAT_OF:
        out["format"] = _DRF_FORMAT_OF[out["format"]]
    return _drf_types(out)


def _drf_body(name: str) -> Callable[[], dict[str, Any]]:
    def relaxed() -> dict[str, Any]:
        schema = contract.load_schema(name)
        schema.pop("$id", None)
        return _as_drf_reads(schema)

    return relaxed


#: Python's falsy JSON values: a key PostHog reads with ``if value:`` ignores these whatever their type
_FALSY = {"enum": [None, False, 0, "", [], {}]}
#: ``for item in value``: the empty iterables PostHog walks through without reading an item
_EMPTY_ITERABLE = {"enum": ["", [], {}]}


def _dashboard_body(*, update: bool) -> Callable[[], dict[str, Any]]:
    """The dashboard write body as PostHog reads it (§2.3, §2.5, §2.6; PostHog source:
    products/dashboards/backend/api/dashboard.py, ``DashboardSerializer``, its ``create``/``update``/
    ``_update_tiles``; posthog/api/tagged_item.py, ``TaggedItemSerializerMixin``).

    Serializer fields are DRF-coerced (:func:`_as_drf_reads`). ``filters``, ``variables``, ``tiles`` and
    ``duplicate_tiles`` are no serializer input: PostHog reads them from the raw body, and ``create``
    reads only ``filters`` and the truthiness of ``duplicate_tiles``.
    """

    def relaxed() -> dict[str, Any]:
        schema = contract.load_schema("dashboard-write-body")
        schema.pop("$id", None)
        fields = schema["properties"]
        fields["restriction_level"] = {"enum": [21, 37, "21", "37"]}  # ChoiceField: str(value) in the choices
        fields["quick_filter_ids"]["type"] = ["array", "null"]  # ListField(allow_null=True)
        fields["use_dashboard"]["type"] = ["integer", "null"]  # IntegerField(allow_null=True)
        fields["tags"] = {"type": "array"}  # ListField() without a child: items unvalidated
        # `if request_filters: if not isinstance(request_filters, dict): raise ...`: falsy values ignored
        fields["filters"] = {"anyOf": [{"type": "object"}, _FALSY]}
        if update:
            fields["variables"] = {"anyOf": [{"type": "object"}, _FALSY]}
            # `for tile_data in initial_data.pop("tiles", [])`, each item read by _update_tiles: an item
            # with neither a truthy text/button_tile/widget nor an id of this dashboard's tile is skipped
            text = {
                "type": "object",
                "properties": {"body": {"type": ["string", "null"], "maxLength": 4000}},  # TextSerializer
            }
            item = {"type": "object", "properties": {"text": {"anyOf": [_FALSY, text]}}}
            fields["tiles"] = {"anyOf": [{"type": "array", "items": item}, _EMPTY_ITERABLE]}
            # `for tile_data in initial_data.pop("duplicate_tiles", [])`: tile objects by id; the
            # contract's create-time boolean is kept (PostHog 500s iterating it, the reference ignores it)
            copy_of = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}
            fields["duplicate_tiles"] = {
                "anyOf": [{"type": "array", "items": copy_of}, _EMPTY_ITERABLE, {"type": "boolean"}]
            }
        else:  # create() never reads variables or tiles; duplicate_tiles only as `if duplicate_tiles`
            fields["variables"] = {}
            fields["tiles"] = {}
            fields["duplicate_tiles"] = {}
        # DashboardSerializer.validate: `if data.get("use_dashboard") and data.get("use_template")`
        schema["not"] = {
            "required": ["use_template", "use_dashboard"],
            "properties": {
                "use_template": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": "\\S"}]},
                "use_dashboard": {"not": {"enum": [None, 0, "0"]}},
            },
        }
        return _as_drf_reads(schema)

    return relaxed


#: Request bodies as the host validates them, where that is looser than the contract's schema.
_LENIENT_BODY: Mapping[str, Callable[[], dict[str, Any]]] = {
    "dashboards_create_from_template_json_create": _relaxed_template_body,
    "dashboards_sharing_partial_update": _drf_body("sharing-write-body"),
    "dashboards_move_tile_partial_update": _drf_body("move-tile-body"),
    "dashboards_move_tile_create": _drf_body("move-tile-body"),
    "dashboards_create": _dashboard_body(update=False),
    "dashboards_partial_update": _dashboard_body(update=True),
    "dashboards_update": _dashboard_body(update=True),
}


#: §5, §11: newest PostHog reads only `to_dashboard` (products/dashboards/backend/api/dashboard.py,
#: MoveTileRequestSerializer: `to_dashboard = IntegerField(required=True)`), so a `toDashboard`-only
#: body is a 400 `required` on `to_dashboard`; mid-era releases read only `toDashboard`. A
#: schema-valid body refused with `required` on the spelling it did not carry is release behaviour,
#: reported as a warning; the move itself is judged by tests/test_move_tile.py with the key the host reads.
_MOVE_TILE_OPS = ("dashboards_move_tile_partial_update", "dashboards_move_tile_create")
_DESTINATION_KEYS = ("to_dashboard", "toDashboard")


def _move_tile_key_not_read(op_id: str, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    if op_id not in _MOVE_TILE_OPS or type(failure).__name__ != "RejectedPositiveData":
        return False
    if response.status_code != 400 or not isinstance(case.body, dict):
        return False
    body = json_or_none(response)
    attr = body.get("attr") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("code") != "required" or attr not in _DESTINATION_KEYS:
        return False
    if attr in case.body:
        return False  # the key was sent: a `required` on it is a real refusal
    other = " / ".join(key for key in _DESTINATION_KEYS if key != attr)
    _log(case).warn(
        f"move_tile refused a body without `{attr}` (400 required): this release does not read {other}"
        " (contract §5, §11)"
    )
    return True


#: §2.5: PostHog walks a PATCH's `tiles` and `duplicate_tiles` with `for ... in` and reads each item as
#: an object (products/dashboards/backend/api/dashboard.py, DashboardSerializer.update): `null`, a
#: number, or an item that is not an object raises there (a 500), read in the source, not observed.
_TILE_KEYS = ("tiles", "duplicate_tiles")
_TILE_WALKING_OPS = ("dashboards_partial_update", "dashboards_update")


def _posthog_raises_on_tiles(op_id: str, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    """A 5xx to a PATCH whose `tiles`/`duplicate_tiles` PostHog's own loop cannot walk: PostHog's known
    crash (contract §2.5), a warning rather than a violation, and only for exactly that body."""
    if op_id not in _TILE_WALKING_OPS or type(failure).__name__ != "ServerError" or not isinstance(case.body, dict):
        return False
    unwalkable = [
        key
        for key in _TILE_KEYS
        if key in case.body
        and not isinstance(case.body[key], bool)  # a boolean duplicate_tiles is the create input, ignored
        and (not isinstance(case.body[key], list) or any(not isinstance(i, dict) for i in case.body[key]))
        and case.body[key] not in ({}, "", [])
    ]
    if not unwalkable:
        return False
    _log(case).warn(
        f"{case.method.upper()} {case.formatted_path} answered {response.status_code} to a body whose"
        f" {' and '.join(unwalkable)} is not a list of objects: PostHog's own serializer raises there too"
        " (DashboardSerializer.update; contract §2.5), so this is reported, not failed"
    )
    return True


def _log(case: schemathesis.Case) -> OutcomeLog:
    """The outcome log of the run the case belongs to (a throwaway one outside a run)."""
    run = run_of(case)
    return run.log if run is not None else OutcomeLog()


@schemathesis.hook("filter_failure")
def _filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure except an empty 200 the spec makes a warning, and negative cases the spec
    says the host accepts.

    A negative case whose only schema violations are lenient query values (`_LENIENT_QUERY`), or
    whose body the host's own looser validation accepts (`_LENIENT_BODY`), is accepted data, not a
    bug; any other violation, and any violation in the path or headers, still has to be rejected.
    """
    run = run_of(case)
    if run is None or not is_ours(case.operation):
        return True
    op_id = operation_id(case.operation)
    if _move_tile_key_not_read(op_id, failure, case, response) or _posthog_raises_on_tiles(
        op_id, failure, case, response
    ):
        return False
    if type(failure).__name__ != "AcceptedNegativeData":
        if (
            op_id in _EMPTY_200_IS_A_WARNING
            and response.status_code == 200
            and not response.content.strip()
            and type(failure).__name__ in _EMPTY_BODY_FAILURES
        ):
            run.log.warn(
                f"{case.method.upper()} {case.formatted_path} answered 200 with an empty body, as PostHog "
                f"documents ('No response body'); the suite expects the Dashboard (contract §5, §6)"
            )
            return False
        return True
    lenient_query = _LENIENT_QUERY.get(op_id, {})
    lenient_body = _LENIENT_BODY.get(op_id)
    if not lenient_query and lenient_body is None:
        return True
    if is_negative(case, ParameterLocation.PATH) or is_negative(case, ParameterLocation.HEADER):
        return True
    query = case.query or {}
    invalid_query = _invalid_query_parameters(case)
    if any(name not in lenient_query or not lenient_query[name](query.get(name)) for name in invalid_query):
        return True
    if is_negative(case, ParameterLocation.BODY):
        relaxed = lenient_body() if lenient_body is not None else None
        return relaxed is None or not _valid(case.body, relaxed)
    return not invalid_query


def _valid(instance: Any, schema: dict[str, Any]) -> bool:
    validator = jsonschema.Draft202012Validator(schema, format_checker=_DRF_FORMATS)
    return not any(True for _ in validator.iter_errors(instance))


def _invalid_query_parameters(case: schemathesis.Case) -> set[str]:
    """Names of sent query parameters whose wire value the parameter's schema rejects.

    A parameter whose schema cannot be judged here (JSON ``content`` parameters) counts as
    invalid, so a failure involving it is always kept.
    """
    invalid: set[str] = set()
    definitions = {p["name"]: p for p in case.operation.definition.raw.get("parameters", []) if p.get("in") == "query"}
    for name, value in (case.query or {}).items():
        definition = definitions.get(name)
        if definition is None:
            continue  # an undocumented extra parameter: schemathesis itself does not count it
        schema = definition.get("schema")
        if isinstance(schema, dict) and "$ref" not in schema:
            valid = _wire_value_valid(value, schema)
        else:
            valid = _json_parameter_valid(value, definition)
        if not valid:
            invalid.add(name)
    return invalid


def _json_parameter_valid(value: Any, definition: Mapping[str, Any]) -> bool:
    """A JSON-encoded (``content``) parameter, e.g. events ``properties``, against its contract shape."""
    ref = next(iter((definition.get("content") or {}).values()), {}).get("schema", {}).get("$ref", "")
    shape = _SHAPES_BY_COMPONENT.get(ref.rsplit("/", 1)[-1])
    if shape is None:
        return False
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return False
    return not contract.errors(decoded, shape)


_SHAPES_BY_COMPONENT = {contract.component_name(name): name for name in contract.schema_names()}


def _wire_value_valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether the value, as the host reads it from the query string, satisfies ``schema``."""
    if isinstance(value, list | dict) or value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value)
    kind = schema.get("type")
    decoded: Any = text
    if kind == "boolean":
        if text not in ("true", "false"):
            return False
        decoded = text == "true"
    elif kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return False
        decoded = int(text)
    elif kind != "string":
        return False
    return not list(
        jsonschema.Draft202012Validator(dict(schema), format_checker=contract.FORMAT_CHECKER).iter_errors(decoded)
    )
