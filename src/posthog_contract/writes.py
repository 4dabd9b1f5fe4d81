"""What each write of the contract stores, read from the catalogue and the request schemas.

The facts live beside the shapes they describe: each property of a request schema carries
``x-contract-write`` (``schemas/*-body.json``), each write operation its ``read_back`` and
``effect`` (`operations.py`). This module turns them into the checks the derived tests run
(``tests/test_writes.py``), so a new writable field or write operation is judged without anyone
listing it:

- ``fate``: ``stored`` (read back equal to what was sent), ``ignored`` (read back never showing
  it), ``input`` (a write-only instruction: no field to read back, ``why`` says what judges it) or
  ``needs`` (a value only the host's own data can give: stored when ``setting``, the environment
  variable of a setting, names one of the host's objects, else unavailable naming it; ``why`` says why);
- ``value``: what the check sends (``$name``, ``$text``, ``$collaborator``, ``$data_color_theme`` and
  ``$quick_filter`` are filled in per run); a field without one gets a value derived from its type;
- ``read_as``: the response fields that must show it (default: the same name; ``user.uuid`` walks
  into objects); ``read_via``: another operation that reads it (``dashboards_list``);
- ``compare``: ``exact`` (default; ``instant`` for date-times), ``set``, ``tile_payloads``,
  ``template_tiles``;
- ``added``: the release month (``YYYY-MM``) from which the response shows a field its schema does not
  require (a T field, contract §11; an R field's month is its ``x-posthog-added``): before it, a
  read-back finds nothing to judge;
- ``feature``: a paid feature without which PostHog silently ignores or refuses the field;
  ``alone``: written in a request of its own (a host without the feature refuses the whole body);
- ``operations``: per operation id, facts that differ (create never reads ``variables``).

Fields of the response object (``x-contract-object``) that the request schema does not declare
are read-only: the derived checks send a value the host would never produce and expect not to
read it back (contract §1.1 "unknown and read-only body keys are ignored silently").

No I/O happens here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import contract
from . import operations as ops
from .wire import instant_or_none

FACTS_KEYWORD = "x-contract-write"
OBJECT_KEYWORD = "x-contract-object"
FATES = ("stored", "ignored", "input", "needs")
COMPARISONS = ("exact", "set", "instant", "tile_payloads", "template_tiles")

#: an id no host hands out to the run (the suite's made-up ids, contract §1.5: auth comes first)
ABSENT_ID = 2_000_000_001
ABSENT_UUID = "0190b7a1-0000-7000-8000-0000000000ff"
ABSENT_EVENT = "0190b7a1-0000-7000-8000-00000000dead"


@dataclass(frozen=True)
class FieldFact:
    """One writable field of one write operation, as the contract describes it."""

    operation_id: str
    path: tuple[str, ...]  # ("name",) or ("template", "template_name")
    fate: str
    value: Any = None
    read_as: tuple[str, ...] = ()
    read_via: str | None = None
    compare: str = "exact"
    feature: str | None = None
    alone: bool = False
    why: str = ""
    #: a ``needs`` field: the environment variable of the setting that names the host's object to send
    setting: str = ""
    #: x-posthog-added of each response field it is read as: a release-dependent read (contract §11)
    added: Mapping[str, str] = field(default_factory=dict)
    schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def test_id(self) -> str:
        return f"{self.operation_id}-{self.name}"


def write_operations(*, documented_or_supporting: bool = True) -> tuple[ops.Operation, ...]:
    """Every write of the catalogue that a personal API key sends (capture is keyed by the project
    key in the body, contract §9, and judged by tests/test_capture.py)."""
    del documented_or_supporting  # every catalogue operation is documented (§0.1) or supporting (§0.2)
    return tuple(op for op in ops.OPERATIONS if op.method != "GET" and op.scope is not None)


def keyed_operations() -> tuple[ops.Operation, ...]:
    """Every operation a personal API key reaches: each must refuse a request without one (§1.3)."""
    return tuple(op for op in ops.OPERATIONS if op.scope is not None)


# --- reading the schemas --------------------------------------------------------------------------------


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    return contract.load_schema(ref.removesuffix(".json")) if isinstance(ref, str) else node


def object_properties(shape: str) -> dict[str, Mapping[str, Any]]:
    """Every property of ``schemas/<shape>.json``, following ``allOf`` references."""
    out: dict[str, Mapping[str, Any]] = {}

    def walk(node: Mapping[str, Any]) -> None:
        node = _resolve(node)
        for part in node.get("allOf") or ():
            walk(part)
        out.update(node.get("properties") or {})

    walk(contract.load_schema(shape))
    return out


def _facts_in(
    schema: Mapping[str, Any], prefix: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    for name, prop in (schema.get("properties") or {}).items():
        path = (*prefix, name)
        if FACTS_KEYWORD in prop:
            yield path, prop
        elif isinstance(prop.get("properties"), Mapping):  # a container (the template): its fields
            yield from _facts_in(prop, path)
        else:
            yield path, prop  # no facts: stored, with a value derived from its type


def field_facts(op: ops.Operation) -> tuple[FieldFact, ...]:
    """The facts of every field of ``op``'s request body, per-operation overrides applied."""
    if op.request_body is None:
        return ()
    body = contract.load_schema(op.request_body)
    response = object_properties(op.success_shape) if op.success_shape else {}
    facts = []
    for path, prop in _facts_in(body, ()):
        raw = dict(prop.get(FACTS_KEYWORD) or {"fate": "stored"})
        raw.update((raw.pop("operations", None) or {}).get(op.operation_id, {}))
        read_as = tuple(raw.get("read_as") or (path[-1],))
        added = {name: str(response[name.split(".")[0]][contract.BASELINE_KEYWORD]) for name in read_as
                 if contract.BASELINE_KEYWORD in (response.get(name.split(".")[0]) or {})}
        if raw.get("added"):  # a T field of the response: the write facts carry its month
            added = {**{name: str(raw["added"]) for name in read_as}, **added}
        compare = raw.get("compare") or ("instant" if prop.get("format") == "date-time" else "exact")
        facts.append(
            FieldFact(
                op.operation_id,
                path,
                raw["fate"],
                value=raw.get("value"),
                read_as=read_as,
                read_via=raw.get("read_via"),
                compare=compare,
                feature=raw.get("feature"),
                alone=bool(raw.get("alone")),
                why=raw.get("why", ""),
                setting=raw.get("setting", ""),
                added=added,
                schema={k: v for k, v in prop.items() if k != FACTS_KEYWORD},
            )
        )
    return tuple(facts)


def read_only_facts(op: ops.Operation) -> tuple[FieldFact, ...]:
    """Fields of the object the body writes (``x-contract-object``) the body does not declare."""
    if op.request_body is None:
        return ()
    body = contract.load_schema(op.request_body)
    written = body.get(OBJECT_KEYWORD)
    if not written:
        return ()
    declared = set(body.get("properties") or {})
    why = "read-only: not a field of the request body (contract §1.1: read-only keys are ignored silently)"
    return tuple(
        FieldFact(op.operation_id, (name,), "ignored", read_as=(name,), why=why, schema=dict(_resolve(prop)),
                  compare="instant" if _resolve(prop).get("format") == "date-time" else "exact")
        for name, prop in object_properties(written).items()
        if name not in declared
    )


def stored_and_ignored(op: ops.Operation) -> tuple[FieldFact, ...]:
    """The facts of ``op`` a read-back judges (stored and ignored fields, then read-only ones)."""
    return tuple(f for f in (*field_facts(op), *read_only_facts(op)) if f.fate in ("stored", "ignored", "needs"))


# --- values -------------------------------------------------------------------------------------------------

#: what a host never produces for a read-only field of each JSON type (so reading it back means it
#: was written); booleans are the opposite of the current value
_NEVER = {
    "string": "posthog-contract: never produced by a host",
    "integer": ABSENT_ID,
    "number": ABSENT_ID,
    "object": {"posthog_contract": "never produced by a host"},
    "array": ["posthog-contract: never produced by a host"],
}
_NEVER_INSTANT = "2001-02-03T04:05:06Z"


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if k != "null"]
    for option in schema.get("anyOf") or schema.get("oneOf") or ():
        found = _types(_resolve(option))
        if found:
            return found
    if "enum" in schema:
        return ["integer"] if all(isinstance(v, int) for v in schema["enum"]) else ["string"]
    return ["object"]


def never_produced(fact: FieldFact, current: Any = None) -> Any:
    """A value of the field's type that no host answers on its own: the opposite of a boolean,
    an id no host hands out, a date long past, a string naming the suite."""
    schema = fact.schema
    kind = _types(schema)[0]
    if kind == "boolean":
        return not bool(current)
    if schema.get("format") == "date-time":
        return _NEVER_INSTANT
    if schema.get("enum") and kind == "string":
        others = [v for v in schema["enum"] if v != current and v != "default"]
        return others[0] if others else _NEVER["string"]
    return copy.deepcopy(_NEVER.get(kind, _NEVER["string"]))


def fill(value: Any, placeholders: Mapping[str, Any]) -> Any:
    """``value`` with its ``$name``-style placeholders replaced (strings whose whole text is one)."""
    if isinstance(value, str) and value in placeholders:
        return placeholders[value]
    if isinstance(value, list):
        return [fill(item, placeholders) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, placeholders) for key, item in value.items()}
    return value


def supplied(fact: FieldFact, placeholders: Mapping[str, Any]) -> bool:
    """Whether the run can send ``fact``'s value: a ``needs`` field only when its setting named the host's
    object (every placeholder of its value filled); any other field always."""
    if fact.fate != "needs":
        return True
    if fact.value is None:
        return False
    wanted = [fact.value] if not isinstance(fact.value, list) else fact.value
    return all(not (isinstance(item, str) and item.startswith("$")) or placeholders.get(item) is not None
               for item in wanted)


def setting_hint(fact: FieldFact) -> str:
    """How to name the host's object for a ``needs`` field: its variable, flag and config-file key."""
    from .config import OPTIONS  # the settings table; config loads nothing heavy

    option = next((o for o in OPTIONS if o.env == fact.setting), None)
    if option is None:
        return fact.setting or "a setting"
    flag = f" / {option.flag}" if option.flag else ""
    return f"{option.env}{flag} / {option.key} in posthog-contract.toml"


def sent_value(fact: FieldFact, placeholders: Mapping[str, Any], current: Any = None) -> Any:
    """What the check writes into ``fact``'s field."""
    if fact.fate == "ignored" and fact.value is None:
        return never_produced(fact, current)
    if fact.value is not None:
        return fill(copy.deepcopy(fact.value), placeholders)
    return never_produced(fact, current)


def put_path(body: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        body = body.setdefault(key, {})
    body[path[-1]] = value


def read_path(obj: Any, dotted: str) -> Any:
    """``obj``'s value at ``user.uuid``-style path; ``KeyError`` names a missing field."""
    for key in dotted.split("."):
        if not isinstance(obj, Mapping) or key not in obj:
            raise KeyError(dotted)
        obj = obj[key]
    return obj


# --- judging a read-back --------------------------------------------------------------------------------------


def _tile_text(tile: Mapping[str, Any]) -> Any:
    return (tile.get("text") or {}).get("body") if isinstance(tile, Mapping) else None


def same(fact: FieldFact, sent: Any, read: Any) -> bool:
    """Whether the value read back shows what was sent, as ``fact.compare`` says to compare."""
    if fact.compare == "instant":
        return instant_or_none(read) is not None and instant_or_none(read) == instant_or_none(sent)
    if fact.compare == "set":
        return isinstance(read, list) and sorted(map(str, read)) == sorted(map(str, sent))
    if fact.compare == "tile_payloads":
        return _tiles_show(read, [(p["text"]["body"], p) for p in sent], ("color", "layouts"))
    if fact.compare == "template_tiles":
        return _tiles_show(read, [(t["body"], t) for t in sent], ("color", "layouts"), exact_count=True)
    return read == sent


def _tiles_show(read: Any, wanted: list[tuple[str, Mapping[str, Any]]], keys: tuple[str, ...], *,
                exact_count: bool = False) -> bool:
    tiles = [t for t in read or [] if isinstance(t, Mapping)] if isinstance(read, list) else []
    if exact_count and len(tiles) != len(wanted):
        return False
    for body, sent in wanted:
        matching = [t for t in tiles if _tile_text(t) == body]
        if len(matching) != 1 or any(key in sent and matching[0].get(key) != sent[key] for key in keys):
            return False
    return True


def shows(fact: FieldFact, sent: Any, read: Any) -> bool:
    """Whether a read-only or ignored field's read-back shows the value the check sent."""
    if fact.compare == "instant":
        return instant_or_none(read) is not None and instant_or_none(read) == instant_or_none(sent)
    return read == sent


# --- requests that reach each operation ------------------------------------------------------------------------


def path_for(op: ops.Operation, project_id: str, prefix: str = "projects", **ids: Any) -> str:
    """``op``'s URL path for one project, its path parameters from ``ids`` (made up when absent:
    the checks that use those never need the object to exist, contract §1.5)."""
    values = {"project_id": project_id, "id": ABSENT_ID, "dashboard_id": ABSENT_ID, "user_uuid": ABSENT_UUID}
    if op.operation_id.startswith("events_"):
        values["id"] = ABSENT_EVENT
    values.update(ids)
    return op.full_path(prefix).format(**values)


def example_body(op: ops.Operation, placeholders: Mapping[str, Any]) -> dict[str, Any] | None:
    """A body for ``op`` with every stored field's value (what a successful write would carry)."""
    if op.request_body is None:
        return None
    body: dict[str, Any] = {}
    for fact in field_facts(op):
        if fact.fate == "stored" and fact.value is not None:
            put_path(body, fact.path, fill(copy.deepcopy(fact.value), placeholders))
    if op.request_body == "move-tile-body":
        body = {"tile": {"id": ABSENT_ID}, "to_dashboard": ABSENT_ID}
    return body
