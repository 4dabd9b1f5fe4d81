"""PostHog's serializers' reading of request bodies: DRF's fields and the dashboard serializer (§1.1, §1.7).

A body schemathesis generated against the contract's schema is judged by what PostHog's own validation
accepts: DRF's fields coerce scalars (a number is a valid ``CharField``, ``"yes"`` a valid
``BooleanField``, ``"37"`` a valid ``ChoiceField`` choice), ``JSONField`` takes any JSON, and the
dashboard serializer reads ``filters``, ``variables`` and ``tiles`` from the raw body itself. Each
reader cites the serializer it follows; :func:`body_crashes` lists the bodies PostHog raises on.
Used by :mod:`.readings`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import jsonschema

from .. import contract
from .. import operations as ops

# --- request bodies: DRF's fields (rest_framework/fields.py) and PostHog's serializers ------------------

#: DRF's BooleanField (rest_framework/fields.py, TRUE_VALUES / FALSE_VALUES): what it reads as a boolean.
_DRF_BOOLEAN_STRINGS = frozenset(
    {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"}
    | {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"}
)
DRF_FORMATS = jsonschema.FormatChecker(formats=())
DRF_FORMATS.checkers.update(contract.FORMAT_CHECKER.checkers)


@DRF_FORMATS.checks("drf-boolean")
def _drf_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value in (0, 1)
    return isinstance(value, str) and value in _DRF_BOOLEAN_STRINGS


@DRF_FORMATS.checks("drf-integer")
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


@DRF_FORMATS.checks("drf-datetime")
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


@DRF_FORMATS.checks("drf-uuid")
def _drf_uuid(value: object) -> bool:
    """A ``ListField(child=CharField())`` item that ``uuid.UUID(...)`` then reads (quick_filter_ids)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        uuid.UUID(str(value).strip())
    except ValueError:
        return False
    return True


@DRF_FORMATS.checks("drf-uuid-field")
def _drf_uuid_field(value: object) -> bool:
    """DRF's UUIDField: ``uuid.UUID(hex=text)`` for a string, ``uuid.UUID(int=n)`` for an integer."""
    try:
        if isinstance(value, str):
            uuid.UUID(hex=value)
        elif isinstance(value, int) and not isinstance(value, bool):
            uuid.UUID(int=value)
        else:
            return False
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


def as_drf_reads(node: Any) -> Any:
    """A body schema widened to what DRF's fields accept (§1.1: DRF coerces scalars): booleans and
    integers in their string and number spellings, numbers for CharFields, dates and UUIDs as DRF
    parses them. Everything else keeps the contract's rule."""
    if isinstance(node, list):
        return [as_drf_reads(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_drf_reads(value) for key, value in node.items()}
    if out.get("format") in _DRF_FORMAT_OF:
        out["format"] = _DRF_FORMAT_OF[out["format"]]
    return _drf_types(out)


def _drf_body(name: str) -> Callable[[], dict[str, Any]]:
    def relaxed() -> dict[str, Any]:
        schema = contract.load_schema(name)
        schema.pop("$id", None)
        return as_drf_reads(schema)

    return relaxed


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


def _collaborator_body() -> dict[str, Any]:
    """ee/api/dashboard_collaborator.py, DashboardCollaboratorSerializer: ``user_uuid = UUIDField()``
    (hex forms and integers), ``level`` the model's choices through DRF's ChoiceField (``"37"`` too)."""
    schema = contract.load_schema("collaborator-create-body")
    schema.pop("$id", None)
    schema["properties"] = {"user_uuid": {"format": "drf-uuid-field"}, "level": {"enum": [21, 37, "21", "37"]}}
    return schema


#: Python's falsy JSON values: a key PostHog reads with ``if value:`` ignores these whatever their type
_FALSY = {"enum": [None, False, 0, "", [], {}]}
#: ``for item in value``: the empty iterables PostHog walks through without reading an item
_EMPTY_ITERABLE = {"enum": ["", [], {}]}


def _dashboard_body(*, update: bool) -> Callable[[], dict[str, Any]]:
    """The dashboard write body as PostHog reads it (§2.3, §2.5, §2.6; PostHog source:
    products/dashboards/backend/api/dashboard.py, ``DashboardSerializer``, its ``create``/``update``/
    ``_update_tiles``; posthog/api/tagged_item.py, ``TaggedItemSerializerMixin``).

    Serializer fields are DRF-coerced (:func:`as_drf_reads`). ``filters``, ``variables``, ``tiles`` and
    ``duplicate_tiles`` are no serializer input (``filters``/``variables`` are SerializerMethodFields):
    PostHog reads them from the raw body, and ``create`` reads only ``filters`` and the truthiness of
    ``duplicate_tiles``. ``breakdown_colors`` is a ``JSONField`` that takes any JSON but null.
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
        return as_drf_reads(schema)

    return relaxed


#: operation -> the request body's schema as PostHog's own validation reads it
BODY_READERS: Mapping[str, Callable[[], dict[str, Any]]] = {
    "dashboards_create_from_template_json_create": _relaxed_template_body,
    "dashboards_sharing_partial_update": _drf_body("sharing-write-body"),
    "dashboards_move_tile_partial_update": _drf_body("move-tile-body"),
    "dashboards_move_tile_create": _drf_body("move-tile-body"),
    "dashboards_create": _dashboard_body(update=False),
    "dashboards_partial_update": _dashboard_body(update=True),
    "dashboards_update": _dashboard_body(update=True),
    "dashboards_collaborators_create": _collaborator_body,
}

@cache
def _body_schema(op_id: str) -> dict[str, Any] | None:
    """The body schema as the serializer reads it (derived from the shipped schemas: constant, so cached)."""
    return BODY_READERS[op_id]() if op_id in BODY_READERS else None


#: operation -> the serializer's CharFields (``trim_whitespace=True``, DRF's default): DRF validates
#: ``max_length`` on the stripped text (``CharField.to_internal_value``: ``value.strip()``), so trailing
#: whitespace, ``str.isspace`` characters such as ``\x1e`` included, never makes a name too long
_DASHBOARD_CHAR_FIELDS = ("name", "description", "use_template", "_create_in_folder")
_CHAR_FIELDS: Mapping[str, tuple[str, ...]] = {
    "dashboards_create": _DASHBOARD_CHAR_FIELDS,
    "dashboards_partial_update": _DASHBOARD_CHAR_FIELDS,
    "dashboards_update": _DASHBOARD_CHAR_FIELDS,
}


def _as_drf_strips(op_id: str, body: Any) -> Any:
    """The body with each CharField's text as DRF validates it: stripped (a tile's TextSerializer body too)."""
    if not isinstance(body, dict):
        return body
    out = {k: v.strip() if k in _CHAR_FIELDS.get(op_id, ()) and isinstance(v, str) else v for k, v in body.items()}
    tiles = out.get("tiles")
    if op_id in _CHAR_FIELDS and isinstance(tiles, list):
        out["tiles"] = [_tile_text_stripped(item) for item in tiles]
    return out


def _tile_text_stripped(item: Any) -> Any:
    text = item.get("text") if isinstance(item, dict) else None
    if not isinstance(text, dict) or not isinstance(text.get("body"), str):
        return item
    return {**item, "text": {**text, "body": text["body"].strip()}}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # DRF's JSONParser (strict): NaN and Infinity are parse errors


def body_problems(op_id: str, body: Any) -> list[str]:
    """Where PostHog's own validation refuses this body ([] when it reads it; the contract's schema when
    the operation has no reader here). Raw bytes (schemathesis' "invalid syntax") are read as DRF reads
    them: no bytes is no data, anything else goes through ``json.loads``, which may well accept them."""
    if isinstance(body, bytes | bytearray):
        if not body:
            body = {}
        else:
            try:
                body = json.loads(body, parse_constant=_refuse_constant)
            except (ValueError, UnicodeDecodeError, RecursionError):
                return ["body: JSON parse error (rest_framework/parsers.py, JSONParser)"]
    schema = _body_schema(op_id)
    if schema is None:
        shape = ops.by_id(op_id).request_body
        return contract.errors(body, shape) if shape else []
    validator = jsonschema.Draft202012Validator(schema, format_checker=DRF_FORMATS)
    errors = validator.iter_errors(_as_drf_strips(op_id, body))
    return [f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in errors]


#: §2.5: PostHog walks a PATCH's `tiles` and `duplicate_tiles` with `for ... in` and reads each item as
#: an object (DashboardSerializer.update): `null`, a number, or an item that is not an object raises there.
_TILE_KEYS = ("tiles", "duplicate_tiles")
_TILE_WALKING_OPS = ("dashboards_partial_update", "dashboards_update")
_DASHBOARD_UPDATE = "products/dashboards/backend/api/dashboard.py, DashboardSerializer.update"


def body_crashes(op_id: str, body: Any) -> list[tuple[str, str]]:
    """``(source, why)`` of each way PostHog raises on this body (a 500, contract §1.7, §2.5, §5, §6)."""
    readings = []
    if op_id in _TILE_WALKING_OPS and isinstance(body, dict):
        unwalkable = [
            key
            for key in _TILE_KEYS
            if key in body
            and not isinstance(body[key], bool)  # a boolean duplicate_tiles is the create input, ignored
            and (not isinstance(body[key], list) or any(not isinstance(i, dict) for i in body[key]))
            and body[key] not in ({}, "", [])
        ]
        if unwalkable:
            why = f"{' and '.join(unwalkable)} is not a list of objects: PostHog's own loop cannot walk it"
            readings.append((_DASHBOARD_UPDATE, why))
    template_op = op_id == "dashboards_create_from_template_json_create"
    if template_op and not (isinstance(body, dict) and "template" in body):
        source = "products/dashboards/backend/api/dashboard_template_json_schema_parser.py"
        readings.append((source, "a body without `template`: older parsers let it reach the view's KeyError"))
    if op_id in ("dashboards_move_tile_partial_update", "dashboards_move_tile_create") and isinstance(body, dict):
        tile = body.get("tile")
        destination = any(key in body for key in ("to_dashboard", "toDashboard"))
        if not destination or not isinstance(tile, dict) or "id" not in tile:
            source = "products/dashboards/backend/api/dashboard.py, DashboardsViewSet.move_tile"
            readings.append((source, "a move_tile body without its keys: older releases raise KeyError"))
    return readings
