"""Schema drift: the host's own OpenAPI document (``/api/schema/``) against the contract's schemas.

PostHog serves its drf-spectacular OpenAPI at ``/api/schema/`` (to an authenticated key; YAML by
default, JSON when asked). For every catalogue operation the host's document describes, the
success response's schema is compared with the contract's shape, field by field and through
nested components: fields **removed** (the contract has them, the host's document does not),
**added** (the host documents fields the contract does not know) and **retyped**.

A finding is *significant* when the host's document no longer describes what the contract
requires: a required (tier R) field removed, or a type the contract would reject. Everything
else, and the documentation errors the spec already lists (§10), is *info*. Drift is
informational by default; ``--drift-fail`` (pytest) or ``drift --drift-fail`` (CLI) fails on
significant findings. On the embedded reference server the suite always fails on them: it
describes itself (tests/test_schema_drift.py).

``python -m posthog_contract drift [--host URL] [--schema-file PATH]`` runs it standalone.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import operations as ops
from ..policy import HostViolation
from .shapes import Node, accepts, contract_node, document_node

__all__ = [
    "DriftResult",
    "Finding",
    "check_host",
    "of_run",
    "comparable_operations",
    "compare",
    "fetch",
    "parse_document",
    "register",
]

SCHEMA_PATH = "/api/schema/"
_ACCEPT = "application/json, application/vnd.oai.openapi+json;q=0.9, application/yaml;q=0.5, */*;q=0.1"
_MAX_DEPTH = 6

#: (component, top-level field) -> why the difference is known and only informational
KNOWN: dict[tuple[str, str], str] = {
    ("SharingConfiguration", "(body)"): "contract §10: PostHog's OpenAPI has sharing GET as an array; it is one object",
    ("SharingConfiguration", "share_passwords"): "contract §10: documented as a string, returned as an array",
    ("SharingConfiguration", "created_at"): "contract §10: documented non-null, null while unsaved",
    ("Dashboard", "created_by"): "contract §10: documented as a non-nullable UserBasic, may be null",
    ("DashboardBasic", "created_by"): "contract §10: documented as a non-nullable UserBasic, may be null",
    ("Dashboard", "tiles"): "contract §10: tiles are documented as free-form objects",
    ("ClickhouseEvent", "properties"): "contract §10: documented as a string, returned as an object",
    ("ClickhouseEvent", "person"): "contract §10: documented as a string, returned as an object or null",
    ("ClickhouseEvent", "elements"): "contract §10: documented as a string, returned as an array",
    ("ClickhouseEvent", "elements_chain"): "contract §10: documented as a string",
    ("DashboardCollaborator", "user_uuid"): "contract §10: write-only input, never returned",
}


@dataclass
class Finding:
    """One difference between the host's document and the contract, by component and field."""

    component: str
    field: str
    change: str  # "removed" | "added" | "retyped"
    severity: str  # "significant" | "info"
    contract_types: list[str] | None = None
    host_types: list[str] | None = None
    note: str = ""
    operations: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.component, self.field, self.change

    def line(self) -> str:
        types = ""
        if self.change == "retyped":
            types = f" ({_types_text(self.contract_types)} in the contract, {_types_text(self.host_types)} on the host)"
        note = f" [{self.note}]" if self.note else ""
        return f"{self.severity:11} {self.change:8} {self.component}.{self.field}{types}{note}"


@dataclass
class DriftResult:
    """The outcome of one drift check; ``status`` says whether a comparison happened at all."""

    status: str  # "compared" | "not_served" | "unreadable" | "error"
    detail: str = ""
    source: str = ""
    title: str | None = None
    version: str | None = None
    findings: list[Finding] = field(default_factory=list)
    operations_compared: list[str] = field(default_factory=list)
    operations_missing: list[str] = field(default_factory=list)

    @property
    def compared(self) -> bool:
        return self.status == "compared"

    @property
    def significant(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "significant"]

    def headline(self) -> str:
        if not self.compared:
            return f"not compared: {self.detail}"
        counts = {change: sum(f.change == change for f in self.findings) for change in ("removed", "added", "retyped")}
        return (
            f"{len(self.significant)} significant, {len(self.findings) - len(self.significant)} info "
            f"({counts['removed']} removed, {counts['added']} added, {counts['retyped']} retyped) "
            f"over {len(self.operations_compared)} operations"
        )

    def describe(self, *, only_significant: bool = False, limit: int = 40) -> str:
        chosen = self.significant if only_significant else self.findings
        lines = [f"drift against {self.source or 'the host'}: {self.headline()}"]
        lines += [f"  {finding.line()}" for finding in chosen[:limit]]
        if len(chosen) > limit:
            lines.append(f"  … {len(chosen) - limit} more")
        if self.operations_missing:
            lines.append(f"  operations the host's document lacks: {', '.join(self.operations_missing)}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["significant"] = len(self.significant)
        data["info"] = len(self.findings) - len(self.significant)
        return data


# --- fetching ---------------------------------------------------------------------------------------


def parse_document(content: bytes, content_type: str = "") -> dict[str, Any]:
    """An OpenAPI document from JSON or YAML bytes; ValueError when it is neither (or not OpenAPI)."""
    text = content.decode("utf-8", errors="replace")
    document: Any = None
    stripped = text.lstrip()
    if stripped.startswith("{") or "json" in content_type.lower():
        try:
            document = json.loads(text)
        except ValueError:
            document = None
    if document is None:
        try:
            import yaml  # PyYAML: a schemathesis dependency, so present wherever the suite runs
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ValueError("the document is not JSON and PyYAML is not installed to read YAML") from exc
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            document = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise ValueError(f"neither JSON nor YAML ({type(exc).__name__})") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ValueError("not an OpenAPI document (no `paths` object)")
    return document


def fetch(client: Any, path: str = SCHEMA_PATH, *, timeout: float = 60.0) -> tuple[dict[str, Any] | None, DriftResult]:
    """GET the host's OpenAPI document through the suite's client; (document or None, a result stub)."""
    source = f"GET {path}"
    try:
        response = client.get(path, headers={"Accept": _ACCEPT}, timeout=timeout)
    except httpx.HTTPError as exc:
        return None, DriftResult("error", f"{type(exc).__name__} fetching {path}", source)
    except HostViolation as exc:  # past the size cap or the deadline; a redirect elsewhere is never followed
        return None, DriftResult("error", str(exc), source)
    except Exception as exc:  # noqa: BLE001 - e.g. rate limit exhausted; drift never breaks a run
        return None, DriftResult("error", f"{type(exc).__name__} fetching {path}", source)
    content_type = response.headers.get("content-type", "")
    source = f"GET {path} ({response.status_code}, {content_type.split(';')[0] or 'no content type'})"
    if response.status_code != 200:
        return None, DriftResult("not_served", f"{path} answered {response.status_code}", source)
    try:
        document = parse_document(response.content, content_type)
    except ValueError as exc:
        return None, DriftResult("unreadable", f"{path}: {exc}", source)
    return document, DriftResult("compared", "", source)


def check_host(client: Any, path: str = SCHEMA_PATH, *, timeout: float = 60.0) -> DriftResult:
    """Fetch the host's document and compare it; never raises (a failed fetch is a status)."""
    document, stub = fetch(client, path, timeout=timeout)
    if document is None:
        return stub
    result = compare(document)
    result.source = stub.source
    return result


# --- comparison -------------------------------------------------------------------------------------


def _normalise(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template).rstrip("/") or "/"


def _success_schema(document: Mapping[str, Any], operation: Mapping[str, Any], op: ops.Operation) -> Any:
    responses = operation.get("responses") or {}
    response = responses.get(str(op.success_status))
    if response is None:
        twos = sorted(code for code in responses if str(code).startswith("2"))
        response = responses.get(twos[0]) if twos else None
    if isinstance(response, Mapping) and isinstance(response.get("$ref"), str):
        node = document_node(document, response).deref()
        response = node.schema if node is not None else None
    if not isinstance(response, Mapping):
        return None
    content = response.get("content") or {}
    if not isinstance(content, Mapping) or not content:
        return None
    media = next((m for m in content if "json" in m), next(iter(content)))
    entry = content.get(media) or {}
    return entry.get("schema") if isinstance(entry, Mapping) else None


def comparable_operations() -> tuple[str, ...]:
    """The catalogue operations drift can judge: empty success bodies compare nothing, and capture lives
    on the capture host, not in /api/schema/."""
    return tuple(op.operation_id for op in ops.OPERATIONS if op.success_shape is not None and "capture" not in op.tags)


def compare(document: Mapping[str, Any]) -> DriftResult:
    """Compare every catalogue operation the document describes with the contract's shapes."""
    paths = {
        _normalise(path): item for path, item in (document.get("paths") or {}).items() if isinstance(item, Mapping)
    }
    info = document.get("info") if isinstance(document.get("info"), Mapping) else {}
    result = DriftResult("compared", title=_text(info.get("title")), version=_text(info.get("version")))
    comparator = _Comparator()
    comparable = set(comparable_operations())
    for op in ops.OPERATIONS:
        if op.operation_id not in comparable:
            continue
        prefixes = ("environments", "projects") if op.prefixed else (None,)
        host_schema = None
        for prefix in prefixes:
            item = paths.get(_normalise(op.full_path(prefix) if prefix else op.path))
            operation = item.get(op.method.lower()) if item else None
            if isinstance(operation, Mapping):
                host_schema = _success_schema(document, operation, op)
                if host_schema is not None:
                    break
        if host_schema is None:
            result.operations_missing.append(op.operation_id)
            continue
        result.operations_compared.append(op.operation_id)
        comparator.run(contract_node(op.success_shape), document_node(document, host_schema), op.operation_id)
    result.findings = comparator.results()
    return result


class _Comparator:
    def __init__(self) -> None:
        self.findings: dict[tuple[str, str, str], Finding] = {}
        self.visited: set[tuple[str, str, str]] = set()
        self.component_ops: dict[str, set[str]] = {}
        self.operation = ""

    def run(self, ours: Node, host: Node, operation_id: str) -> None:
        self.operation = operation_id
        component = host.label() or ours.label() or operation_id
        ours_types, host_types = ours.types(), host.types()
        if _is_array_of_object(host, host_types) and not _is_array(ours_types):
            self.add(component, "(body)", "retyped", ours_types, host_types, significant=True)
            host = host.items()[0]
            component = host.label() or component
        elif _is_array_of_object(ours, ours_types) and not _is_array(host_types):
            self.add(component, "(body)", "retyped", ours_types, host_types, significant=True)
            ours = ours.items()[0]
        self.objects(ours, host, component, "", 0)

    def objects(self, ours: Node, host: Node, component: str, path: str, depth: int) -> None:
        label = host.label()
        if label and label != component:
            component, path = label, ""
        self.component_ops.setdefault(component, set()).add(self.operation)
        key = (component, path, str(id(ours.schema)))
        if key in self.visited or depth > _MAX_DEPTH:
            return
        self.visited.add(key)
        ours_view, host_view = ours.object_view(), host.object_view()
        if ours_view.documented and host_view.documented:
            for name, nodes in ours_view.properties.items():
                where = f"{path}.{name}" if path else name
                host_nodes = [n for n in host_view.properties.get(name, []) if not n.write_only]
                if not host_nodes:
                    if not host_view.knows(name) or name not in host_view.properties:
                        self.add(component, where, "removed", _types(nodes), None,
                                 significant=name in ours_view.required)
                    continue
                self.field(nodes, host_nodes, component, where, depth)
            for name, host_nodes in host_view.properties.items():
                if name in ours_view.properties or ours_view.knows(name):
                    continue
                if all(n.write_only for n in host_nodes):
                    continue  # write-only input: never returned, nothing to document
                where = f"{path}.{name}" if path else name
                self.add(component, where, "added", None, _types(host_nodes), significant=False)
        ours_items, host_items = ours.items(), host.items()
        if ours_items and host_items:
            self.field(ours_items, host_items, component, f"{path}[]", depth)

    def field(self, ours: list[Node], host: list[Node], component: str, where: str, depth: int) -> None:
        ours_types, host_types = _types(ours), _types(host)
        if ours_types is not None and host_types is not None and _comparable(ours_types) != _comparable(host_types):
            rejected = not accepts(ours_types, host_types)  # the host documents values the contract refuses
            self.add(component, where, "retyped", ours_types, host_types, significant=rejected)
        ours_node, host_node = _merge(ours), _merge(host)
        if ours_node.object_view().documented and host_node.object_view().documented:
            self.objects(ours_node, host_node, component, where, depth + 1)
        elif ours_node.items() and host_node.items():
            self.field(ours_node.items(), host_node.items(), component, f"{where}[]", depth + 1)

    def add(
        self,
        component: str,
        where: str,
        change: str,
        ours: frozenset[str] | None,
        host: frozenset[str] | None,
        *,
        significant: bool,
    ) -> None:
        top = re.split(r"[.\[]", where, maxsplit=1)[0] or where
        note = KNOWN.get((component, top), "")
        finding = Finding(
            component=component,
            field=where,
            change=change,
            severity="significant" if significant and not note else "info",
            contract_types=sorted(ours) if ours is not None else None,
            host_types=sorted(host) if host is not None else None,
            note=note,
        )
        self.findings.setdefault(finding.key, finding)

    def results(self) -> list[Finding]:
        for finding in self.findings.values():
            finding.operations = sorted(self.component_ops.get(finding.component, ()))
        order = {"significant": 0, "info": 1}
        return sorted(self.findings.values(), key=lambda f: (order[f.severity], f.component, f.field, f.change))


def _types(nodes: list[Node]) -> frozenset[str] | None:
    found: frozenset[str] | None = None
    for node in nodes:
        types = node.types()
        if types is None:
            continue
        found = types if found is None else found & types
    return found


def _merge(nodes: list[Node]) -> Node:
    if len(nodes) == 1:
        return nodes[0]
    return Node({"allOf": [n.schema for n in nodes]}, nodes[0].resolve, nodes[0].label())


def _comparable(types: frozenset[str]) -> frozenset[str]:
    return frozenset("number" if t == "integer" and "number" in types else t for t in types)


def _is_array(types: frozenset[str] | None) -> bool:
    return types is not None and "array" in types and "object" not in types


def _is_array_of_object(node: Node, types: frozenset[str] | None) -> bool:
    return _is_array(types) and any(item.object_view().documented for item in node.items())


def _types_text(types: list[str] | None) -> str:
    return "any" if types is None else "|".join(types) or "nothing"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# --- command line ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """``python -m posthog_contract drift``: 0 compared (or only info), 1 significant with --drift-fail, 2 error."""
    if args.schema_file:
        try:
            path = Path(args.schema_file)
            document = parse_document(path.read_bytes(), "json" if path.suffix == ".json" else "")
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {args.schema_file}: {exc}", file=sys.stderr)
            return 2
        result = compare(document)
        result.source = str(args.schema_file)
    else:
        result = _from_host(args)
        if result is None:
            return 2
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    print(result.describe(limit=args.limit))
    if not result.compared:
        return 2
    return 1 if args.drift_fail and result.significant else 0


def _from_host(args: argparse.Namespace) -> DriftResult | None:
    """Open a session against the host (like the suite: no host means the embedded reference server)."""
    from .. import config
    from ..session import ContractSession

    try:
        settings = config.settings_from({"posthog_base_url": args.host}.get, os.environ)
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if settings.base_url is not None and not settings.personal_api_key:
        print("error: set POSTHOG_PERSONAL_API_KEY (the host's /api/schema/ wants a key)", file=sys.stderr)
        return None
    session = ContractSession()
    try:
        settings = session.start(settings, reference_args=list(args.reference_arg or []), metered=False)
        session.connect(check_host=False)
        result = check_host(session.client, timeout=max(settings.timeout, 60.0))
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    finally:
        session.close()
    where = "the embedded reference server" if session.embedded else session.redactor.url(settings.base_url)
    result.source = f"{where}: {result.source}"
    result.detail = session.redactor.text(result.detail)
    return result


def of_run(session: Any) -> DriftResult:
    """The run's drift (a ContractSession's): its host's /api/schema/ compared with the contract, fetched at
    most once per run, counted on the run's ledger but never refused by its budget (the report's, not a check's)."""
    if session.drift is None:
        with session.ledger.unmetered():
            result = check_host(session.client)
        result.detail = session.redactor.text(result.detail)
        session.drift = result
    return session.drift


def register(commands: Any) -> None:
    """Add the ``drift`` subcommand to ``python -m posthog_contract``."""
    parser = commands.add_parser(
        "drift",
        help="compare the host's own OpenAPI (/api/schema/) with the contract's schemas",
        description="Compare the host's /api/schema/ (or --schema-file) with the contract. The key comes from "
        "POSTHOG_PERSONAL_API_KEY; without --host or POSTHOG_HOST the embedded reference server is used.",
    )
    parser.add_argument("--host", help="PostHog host (default POSTHOG_HOST; none: the embedded reference server)")
    parser.add_argument("--schema-file", help="compare this OpenAPI file (JSON or YAML) instead of fetching one")
    parser.add_argument("--json", metavar="PATH", help="also write the result as JSON to PATH")
    parser.add_argument("--drift-fail", action="store_true", help="exit 1 when a significant difference is found")
    parser.add_argument("--limit", type=int, default=60, help="findings printed (default 60)")
    parser.add_argument(
        "--reference-arg", action="append", default=[],
        help="argument for the embedded reference server, e.g. --reference-arg=--mutant=schema_doc_drops_team_id",
    )
    parser.set_defaults(handler=run)
