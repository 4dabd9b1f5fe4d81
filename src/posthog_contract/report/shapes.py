"""A read-only view of JSON Schemas for the report: which fields an object documents, with which types.

Two kinds of schema meet here: the contract's own files (JSON Schema 2020-12, relative ``$ref``s
resolved through `contract.registry`) and a host's OpenAPI document (``#/components/schemas/X``
refs, OpenAPI 3.0 ``nullable``). `Node` hides the difference, so the report's field inventory
(what the host returned that the contract does not document) and the drift comparison (what the
host's own OpenAPI says about the contract's fields) read both the same way.

No validation happens here: `contract.errors` judges responses; this only describes shapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .. import contract

__all__ = ["JSON_TYPES", "Node", "ObjectView", "contract_node", "document_node", "observe"]

JSON_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_MAX_DEPTH = 24  # $ref/allOf chains deeper than this are treated as "any"
_MAX_ITEMS = 50  # list elements inspected per array when inventorying fields

Resolver = Callable[[str], "Node | None"]


@dataclass(frozen=True, eq=False)
class Node:
    """One schema (a dict, or a boolean schema) plus the way to resolve the refs inside it.

    ``name`` is the component name the node was reached through (a contract schema's ``title``, an
    OpenAPI ``components.schemas`` key), so findings can say "Dashboard.team_id", not a JSON path.
    """

    schema: Any
    resolve: Resolver
    name: str | None = None

    def child(self, schema: Any) -> Node:
        return Node(schema, self.resolve, None)

    def deref(self) -> Node | None:
        ref = self.schema.get("$ref") if isinstance(self.schema, Mapping) else None
        return self.resolve(ref) if isinstance(ref, str) else None

    # -- structure ----------------------------------------------------------------------------------

    def parts(self, depth: int = 0) -> tuple[list[Node], list[list[Node]]]:
        """(nodes that all apply: this one, its $ref target and allOf branches, flattened;
        groups of alternatives: anyOf/oneOf branch lists)."""
        if depth > _MAX_DEPTH or not isinstance(self.schema, Mapping):
            return [self], []
        conjunction: list[Node] = [self]
        alternatives: list[list[Node]] = []
        target = self.deref()
        nested = [target] if target is not None else []
        nested += [self.child(branch) for branch in self.schema.get("allOf") or ()]
        for node in nested:
            more, groups = node.parts(depth + 1)
            conjunction += more
            alternatives += groups
        for keyword in ("anyOf", "oneOf"):
            branches = self.schema.get(keyword)
            if isinstance(branches, list) and branches:
                alternatives.append([self.child(branch) for branch in branches])
        return conjunction, alternatives

    def types(self, depth: int = 0) -> frozenset[str] | None:
        """The JSON types this schema admits; None means any value (no constraint found)."""
        if depth > _MAX_DEPTH:
            return None
        schema = self.schema
        if schema is True or schema == {}:
            return None
        if schema is False:
            return frozenset()
        if not isinstance(schema, Mapping):
            return None
        result: frozenset[str] | None = _own_types(schema)
        target = self.deref()
        constraints = [target] if target is not None else []
        constraints += [self.child(branch) for branch in schema.get("allOf") or ()]
        for node in constraints:
            result = _intersect(result, node.types(depth + 1))
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                union: set[str] = set()
                for branch in branches:
                    branch_types = self.child(branch).types(depth + 1)
                    if branch_types is None:
                        union = set()
                        break
                    union |= branch_types
                result = _intersect(result, frozenset(union) if union else None)
        if result is not None and schema.get("nullable") is True:
            result = result | {"null"}
        return result

    def object_view(self) -> ObjectView:
        """The object fields this schema documents, merged over $ref, allOf and the alternatives."""
        conjunction, alternatives = self.parts()
        view = ObjectView()
        for node in conjunction:
            view.absorb(node)
        for group in alternatives:
            branch_views = [branch.object_view() for branch in group]
            object_branches = [v for v in branch_views if v.documented]
            for branch_view in object_branches:
                view.merge_properties(branch_view)
            if object_branches:
                shared = set.intersection(*(set(v.required) for v in object_branches))
                view.required |= shared
        return view

    def items(self, depth: int = 0) -> list[Node]:
        """The schemas of array elements (``items``), over $ref, allOf and the alternatives."""
        if depth > _MAX_DEPTH or not isinstance(self.schema, Mapping):
            return []
        found: list[Node] = []
        items = self.schema.get("items")
        if isinstance(items, Mapping | bool):
            found.append(self.child(items))
        target = self.deref()
        if target is not None:
            found += target.items(depth + 1)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for branch in self.schema.get(keyword) or ():
                found += self.child(branch).items(depth + 1)
        return found

    def label(self) -> str | None:
        """The nearest component name: this node's, else its $ref target's."""
        if self.name:
            return self.name
        target = self.deref()
        if target is not None:
            return target.label()
        branches = self.schema.get("allOf") if isinstance(self.schema, Mapping) else None
        if isinstance(branches, list) and len(branches) == 1:  # drf-spectacular's nullable $ref
            return self.child(branches[0]).label()
        return None

    @property
    def write_only(self) -> bool:
        return isinstance(self.schema, Mapping) and self.schema.get("writeOnly") is True


@dataclass
class ObjectView:
    """An object schema's documented fields: name -> the schemas that describe it."""

    properties: dict[str, list[Node]] = field(default_factory=dict)
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    required: set[str] = field(default_factory=set)

    @property
    def documented(self) -> bool:
        """False for free-form objects (``{"type": "object"}``): their keys are data, not fields."""
        return bool(self.properties or self.patterns)

    def absorb(self, node: Node) -> None:
        schema = node.schema
        if not isinstance(schema, Mapping):
            return
        for name, sub in (schema.get("properties") or {}).items():
            self.properties.setdefault(name, []).append(node.child(sub))
        for pattern in schema.get("patternProperties") or {}:
            try:
                self.patterns.append(re.compile(pattern))
            except re.error:
                continue
        self.required |= {name for name in schema.get("required") or () if isinstance(name, str)}

    def merge_properties(self, other: ObjectView) -> None:
        for name, nodes in other.properties.items():
            self.properties.setdefault(name, []).extend(nodes)
        self.patterns += other.patterns

    def knows(self, key: str) -> bool:
        return key in self.properties or any(p.search(key) for p in self.patterns)


# --- constructors ---------------------------------------------------------------------------------


@cache
def contract_node(shape: str) -> Node:
    """The contract's ``schemas/<shape>.json`` as a Node (refs resolved through the registry)."""
    contents = contract.load_schema(shape)
    resolver = contract.registry().resolver(base_uri=contents.get("$id", contract.SCHEMA_BASE_URI + f"{shape}.json"))
    return Node(contents, _contract_resolver(resolver), contents.get("title"))


def _contract_resolver(resolver: Any) -> Resolver:
    def resolve(ref: str) -> Node | None:
        try:
            resolved = resolver.lookup(ref)
        except Exception:  # noqa: BLE001 - an unresolvable ref describes nothing
            return None
        contents = resolved.contents
        title = contents.get("title") if isinstance(contents, Mapping) and not ref.startswith("#") else None
        return Node(contents, _contract_resolver(resolved.resolver), title)

    return resolve


def document_node(document: Mapping[str, Any], schema: Any) -> Node:
    """A schema inside an OpenAPI document (local ``#/...`` refs only; others describe nothing)."""

    def resolve(ref: str) -> Node | None:
        if not ref.startswith("#/"):
            return None
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                return None
        name = ref.rsplit("/", 1)[-1] if "/schemas/" in ref else None
        return Node(target, resolve, name)

    return Node(schema, resolve, None)


# --- type helpers ---------------------------------------------------------------------------------


def _own_types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        found = {declared}
    elif isinstance(declared, list):
        found = {t for t in declared if isinstance(t, str)}
    else:
        found = set()
        values = schema.get("enum") if isinstance(schema.get("enum"), list) else None
        if "const" in schema:
            values = [schema["const"]]
        if values is not None:
            found = {_type_of(value) for value in values}
        elif "properties" in schema or "patternProperties" in schema:
            found = {"object"}
        elif "items" in schema:
            found = {"array"}
    found = {"number" if t == "float" else t for t in found if t in JSON_TYPES or t == "float"}
    return frozenset(found) if found else None


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    if b is None:
        return a
    widened_a = a | {"integer"} if "number" in a else a
    widened_b = b | {"integer"} if "number" in b else b
    return frozenset(widened_a & widened_b)


def accepts(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    """True when every value of a ``narrow`` type is also of a ``wide`` type (integer is a number)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    widened = wide | {"integer"} if "number" in wide else wide
    return narrow <= widened


# --- the field inventory --------------------------------------------------------------------------


def observe(instance: Any, nodes: Iterable[Node], path: str, seen: set[str], undocumented: set[str]) -> None:
    """Add to ``seen`` every documented-object field path of ``instance`` (``results[].team_id``) and
    to ``undocumented`` the keys a documented object carries that its schema does not list.

    Free-form objects (no ``properties``) are not entered: their keys are data (event properties,
    layouts), not fields. Keys are recorded, never values.
    """
    nodes = list(nodes)
    if isinstance(instance, Mapping):
        view = _merged_view(nodes)
        if not view.documented:
            return
        for key, value in instance.items():
            key = str(key)
            here = f"{path}.{key}" if path else key
            seen.add(here)
            if key in view.properties:
                observe(value, view.properties[key], here, seen, undocumented)
            elif not view.knows(key):
                undocumented.add(here)
    elif isinstance(instance, list):
        items = [item for node in nodes for item in node.items()]
        if not items:
            return
        for element in instance[:_MAX_ITEMS]:
            observe(element, items, path + "[]", seen, undocumented)


def _merged_view(nodes: list[Node]) -> ObjectView:
    view = ObjectView()
    for node in nodes:
        other = node.object_view()
        view.merge_properties(other)
        view.required |= other.required
    return view
