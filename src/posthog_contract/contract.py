"""The contract as code: the schema registry, the one validation helper, the assembled OpenAPI.

Every response check in the suite goes through `validate` / `errors`, which validate against the
JSON Schema files in ``schemas/`` (draft 2020-12) with format checking on. The OpenAPI document
handed to schemathesis is assembled from those same files plus `operations.OPERATIONS`, so a
shape or an operation is defined exactly once.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator

from posthog_contract import locations
from posthog_contract import operations as ops

__all__ = [
    "operation_labels",
    "operation_ids",
    "FORMAT_CHECKER",
    "SCHEMAS_DIR",
    "SCHEMA_BASE_URI",
    "ContractViolation",
    "component_name",
    "errors",
    "load_schema",
    "openapi_document",
    "registry",
    "schema_names",
    "validate",
    "validator",
    "write_openapi",
]

#: Where the schema files live (the checkout's ``schemas/`` or the wheel's copy, see locations.py).
SCHEMAS_DIR: Path = locations.schemas_dir()
#: Every schema's ``$id`` is this base plus its file name; relative ``$ref``s resolve against it.
SCHEMA_BASE_URI = "https://posthog-contract.dev/schemas/"

_MAX_MESSAGE = 300


class ContractViolation(AssertionError):
    """A body does not match its contract shape; the message lists ``<json path>: <message>``."""

    def __init__(self, message: str, *, schema: str = "", errors: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.schema = schema
        self.errors = list(errors)


# --- format checking -----------------------------------------------------------------------------
# jsonschema's own checkers depend on optional packages (uri needs rfc3987, date-time
# rfc3339-validator) and silently pass when they are missing; these do not depend on anything.

FORMAT_CHECKER = jsonschema.FormatChecker(formats=())

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+|[^@\s]+@localhost")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    """RFC 3339 date-time: a time offset is mandatory (PostHog sends ``+00:00`` or ``Z``)."""
    if not isinstance(instance, str):
        return True
    if not _DATE_TIME.fullmatch(instance):
        return False
    dt.datetime.fromisoformat(instance.upper().replace("Z", "+00:00"))
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return bool(_DATE.fullmatch(instance)) and bool(dt.date.fromisoformat(instance))


@FORMAT_CHECKER.checks("uuid", raises=ValueError)
def _is_uuid(instance: object) -> bool:
    """The canonical 8-4-4-4-12 form, as PostHog serialises UUIDs."""
    if not isinstance(instance, str):
        return True
    return bool(_UUID.fullmatch(instance)) and bool(uuid.UUID(instance))


@FORMAT_CHECKER.checks("email")
def _is_email(instance: object) -> bool:
    if not isinstance(instance, str):
        return True
    return bool(_EMAIL.fullmatch(instance))


@FORMAT_CHECKER.checks("uri", raises=ValueError)
def _is_uri(instance: object) -> bool:
    """An absolute URI (RFC 3986: a scheme is required); http(s) URIs need a host."""
    if not isinstance(instance, str):
        return True
    if not _URI.fullmatch(instance) or _BAD_PERCENT.search(instance):
        return False
    parts = urlsplit(instance)  # raises ValueError on a malformed IPv6 host
    if parts.scheme.lower() in ("http", "https"):
        return bool(parts.hostname)
    return True


# --- schema files and the registry -----------------------------------------------------------------


def schema_names() -> list[str]:
    """Stems of ``schemas/*.json``, sorted."""
    return sorted(path.stem for path in SCHEMAS_DIR.glob("*.json"))


@functools.cache
def _load(name: str) -> dict[str, Any]:
    path = SCHEMAS_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no schema {name!r} in {SCHEMAS_DIR} (known: {', '.join(schema_names())})")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of ``schemas/<name>.json`` (callers may mutate it)."""
    return copy.deepcopy(_load(name))


# --- release baseline (contract §11 "Release baseline") ----------------------------------------------
# Each schema property may carry ``"x-posthog-added": "YYYY-MM"``: the earliest PostHog release the
# contract knows to return the field (from PostHog's serializers and frontend fixtures over time;
# ``x-posthog-added-evidence`` says where). By default (``baseline=None``) the host is judged against
# the current release (every R field required). ``baseline="2024-01"`` judges an older release: a
# field added after the baseline is no longer required but still type-checked when present, and its
# absence is a *version finding* (reported as a warning by whoever judges, never a failure). The
# baseline is an argument, never module state: two runs judging two releases do not mix.

BASELINE_KEYWORD = "x-posthog-added"
_BASELINE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def check_baseline(release: str | None) -> str | None:
    """``release`` when it is None or a release month ``YYYY-MM``; ValueError otherwise."""
    if release is not None and not _BASELINE_RE.match(release):
        raise ValueError(f"baseline {release!r} is not a release month of the form YYYY-MM (e.g. 2024-01)")
    return release


def _later(prop: Any, release: str) -> bool:
    return isinstance(prop, dict) and isinstance(prop.get(BASELINE_KEYWORD), str) and prop[BASELINE_KEYWORD] > release


def _relax(node: Any, release: str) -> Any:
    """``node`` with every field added after ``release`` dropped from ``required`` (types kept)."""
    if isinstance(node, list):
        return [_relax(item, release) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _relax(value, release) for key, value in node.items()}
    properties = node.get("properties")
    if isinstance(properties, dict) and isinstance(node.get("required"), list):
        out["required"] = [name for name in node["required"] if not _later(properties.get(name), release)]
    return out


@functools.cache
def _baselined(name: str, release: str | None = None) -> dict[str, Any]:
    return _load(name) if release is None else _relax(_load(name), check_baseline(release))


def version_findings(instance: Any, name: str, baseline: str | None = None) -> list[str]:
    """Fields of shape ``name`` missing from ``instance`` that PostHog added after ``baseline``."""
    release = baseline
    if release is None:
        return []
    found: list[str] = []

    def collect(errs: Iterable[ValidationError]) -> None:
        for error in errs:
            if error.validator == "required" and isinstance(error.schema, dict):
                properties = error.schema.get("properties") or {}
                for field_name in error.validator_value:
                    prop = properties.get(field_name)
                    if _later(prop, release) and isinstance(error.instance, dict) and field_name not in error.instance:
                        where = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
                        label = f"{where}.{field_name}" if where else field_name
                        found.append(f"{label} (added {prop[BASELINE_KEYWORD]})")
            collect(error.context or [])

    collect(_current_validator(name).iter_errors(instance))
    return sorted(set(found))


@functools.cache
def _current_validator(name: str) -> Validator:
    """The current release's validator (every R field required), to name what an older host lacks."""
    return jsonschema.Draft202012Validator(_load(name), registry=_current_registry(), format_checker=FORMAT_CHECKER)


@functools.cache
def _current_registry() -> referencing.Registry:
    return _registry_of(_load)


def _registry_of(load: Any) -> referencing.Registry:
    resources = []
    for name in schema_names():
        contents = load(name)
        resource = referencing.jsonschema.DRAFT202012.create_resource(contents)
        resources.append((contents.get("$id", SCHEMA_BASE_URI + f"{name}.json"), resource))
    return referencing.Registry().with_resources(resources).crawl()


@functools.cache
def registry(baseline: str | None = None) -> referencing.Registry:
    """All schema files (under ``baseline``), keyed by their ``$id``, crawled once; relative refs resolve through it."""
    return _registry_of(lambda name: _baselined(name, baseline))


@functools.cache
def validator(name: str, baseline: str | None = None) -> Validator:
    """A draft 2020-12 validator for one shape, format checking on, refs resolved via `registry`."""
    return jsonschema.Draft202012Validator(
        _baselined(name, baseline), registry=registry(baseline), format_checker=FORMAT_CHECKER
    )


# --- validation ------------------------------------------------------------------------------------


def _short(text: str) -> str:
    """Cut the middle of long messages: jsonschema puts the instance first and the reason last."""
    if len(text) <= _MAX_MESSAGE:
        return text
    keep = (_MAX_MESSAGE - 5) // 2
    return f"{text[:keep]} ... {text[-keep:]}"


def _closest(context: list[ValidationError]) -> ValidationError:
    """The likeliest reason an anyOf/oneOf failed: skip branches for another kind of value
    (``null`` for an object), then take the branch with the fewest errors."""
    branches: dict[Any, list[ValidationError]] = {}
    for error in context:
        branches.setdefault(error.relative_schema_path[0], []).append(error)

    def other_kind(errs: list[ValidationError]) -> bool:
        return any(e.validator in ("type", "const", "enum") and not e.relative_path for e in errs)

    candidates = [errs for errs in branches.values() if not other_kind(errs)] or list(branches.values())
    return best_match(min(candidates, key=len))


def _message(error: ValidationError) -> str:
    """The error's message, made short and, for combinators, pointing at the likeliest cause."""
    if error.validator == "not":
        return _short(f"must not match {json.dumps(error.validator_value)}")
    if error.validator in ("anyOf", "oneOf") and error.context:
        cause = _closest(error.context)
        hint = f" (closest: {cause.json_path}: {_message(cause)})"
        kind = "any" if error.validator == "anyOf" else "exactly one"
        return _short(f"does not match {kind} of the allowed shapes") + hint
    return _short(error.message)


def _sort_key(error: ValidationError) -> tuple[tuple[str, ...], str]:
    return tuple(str(part) for part in error.absolute_path), error.message


def errors(instance: Any, name: str, *, baseline: str | None = None) -> list[str]:
    """``["<json path>: <message>", ...]`` for ``instance`` against shape ``name`` under ``baseline``
    (None: the current release); [] when valid. Version findings are `version_findings`' to name."""
    found = sorted(validator(name, baseline).iter_errors(instance), key=_sort_key)
    return list(dict.fromkeys(f"{error.json_path}: {_message(error)}" for error in found))


def validate(instance: Any, name: str, *, context: str = "", baseline: str | None = None) -> None:
    """Raise `ContractViolation` unless ``instance`` matches shape ``name``.

    ``context`` (e.g. the redacted request line) heads the message so a failure says which
    request broke which shape.
    """
    found = errors(instance, name, baseline=baseline)
    if not found:
        return
    lines = [context] if context else []
    lines.append(f"body does not match schema {name!r} ({len(found)} error(s)):")
    lines.extend(f"  {line}" for line in found)
    raise ContractViolation("\n".join(lines), schema=name, errors=found)


# --- OpenAPI ---------------------------------------------------------------------------------------

_STATUS_TEXT = {
    400: "Validation error or malformed input",
    401: "Missing or invalid credentials",
    403: "Missing scope, no access to the project, or no permission on the object",
    404: "Project or object not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Rate limited; retry after Retry-After seconds",
}
_JSON = "application/json"
_TAG_TEXT = {
    "dashboards": "Dashboards (contract §2, §5, §6)",
    "sharing": "Dashboard sharing configuration (contract §3)",
    "collaborators": "Dashboard collaborators, EE builds only (contract §4)",
    "events": "Events list and retrieve (contract §7, §8)",
    "projects": "Project discovery (contract §0.4)",
    "users": "The current user (contract §4.3)",
    "organizations": "Organisation members (contract §4.3)",
    "capture": "Event capture on the capture host, project API key in the body (contract §9)",
}


def component_name(name: str) -> str:
    """The ``components.schemas`` key of a schema file: its ``title``."""
    return _load(name)["title"]


def _component_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component_name(name)}"}


def _rewrite_refs(node: Any) -> Any:
    """Copy of ``node`` with relative file refs (``"user-basic.json"``) pointed at components."""
    if isinstance(node, Mapping):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                stem, _, pointer = value.partition("#")
                if not stem.endswith(".json") or "/" in stem:
                    raise ValueError(f"unsupported $ref {value!r}: only sibling schema files are allowed")
                out[key] = _component_ref(stem.removesuffix(".json"))["$ref"] + pointer
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _component(name: str, baseline: str | None) -> dict[str, Any]:
    schema = {key: value for key, value in _baselined(name, baseline).items() if key not in ("$schema", "$id")}
    return _rewrite_refs(schema)


def _parameters(op: ops.Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    path_params = {"project_id": ops.PROJECT_ID_SCHEMA, **op.path_params} if op.prefixed else op.path_params
    for name, schema in path_params.items():
        schema = dict(schema)
        description = schema.pop("description", "")
        param = {"name": name, "in": "path", "required": True, "schema": _rewrite_refs(schema)}
        if description:
            param["description"] = description
        params.append(param)
    for query in op.query_params:
        param = {"name": query.name, "in": "query", "required": query.required}
        if query.description:
            param["description"] = query.description
        if query.media_type:
            param["content"] = {query.media_type: {"schema": _rewrite_refs(query.schema)}}
        else:
            param["schema"] = _rewrite_refs(query.schema)
        params.append(param)
    return params


def _error_response(op: ops.Operation, status: int) -> dict[str, Any]:
    alternatives = op.error_alternatives.get(status, ())
    if alternatives:
        schema: dict[str, Any] = {"oneOf": [_component_ref(op.error_shape)] + [_component_ref(a) for a in alternatives]}
    else:
        schema = _component_ref(op.error_shape)
    response: dict[str, Any] = {
        "description": _STATUS_TEXT.get(status, "Error"),
        "content": {_JSON: {"schema": schema}},
    }
    if status == 429 and op.error_shape == "error-envelope":
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying (contract §1.8).",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


def _links(op: ops.Operation, suffix: str) -> dict[str, Any]:
    return {
        link.name: {
            "operationId": link.operation_id + suffix,
            "parameters": dict(link.parameters),
            "description": link.description,
        }
        for link in op.links
    }


def _operation(op: ops.Operation, prefix: str | None) -> dict[str, Any]:
    suffix = "_env" if prefix == "environments" else ""
    success: dict[str, Any] = {"description": op.summary}
    if op.success_shape is None:
        success["description"] += " (no response body)"
    else:
        success["content"] = {
            media: {"schema": _component_ref(op.success_shape) if media == _JSON else {"type": "string"}}
            for media in op.success_media_types
        }
    if op.links:
        success["links"] = _links(op, suffix)
    responses = {str(op.success_status): success}
    responses.update({str(status): _error_response(op, status) for status in op.error_statuses})
    document: dict[str, Any] = {
        "operationId": op.operation_id + suffix,
        "summary": op.summary,
        "tags": list(op.tags),
        "parameters": _parameters(op),
    }
    if op.description:
        document["description"] = op.description
    if op.request_body:
        document["requestBody"] = {
            # Optional exactly when {} is a valid body: PostHog (DRF) reads an absent body as {}.
            "required": bool(errors({}, op.request_body)),
            "content": {_JSON: {"schema": _component_ref(op.request_body)}},
        }
    document["responses"] = responses
    # REST operations carry a personal API key; capture carries the project key in the body.
    document["security"] = [{"PersonalAPIKeyAuth": [op.scope]}] if op.scope else []
    document["x-posthog-documented"] = op.documented
    document["x-posthog-scope"] = op.scope
    if prefix:
        document["x-prefix"] = prefix
    return document


def _iter_paths(prefixes: tuple[str, ...]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for prefix in prefixes:
        for op in ops.OPERATIONS:
            if op.prefixed:
                yield op.full_path(prefix), op.method.lower(), _operation(op, prefix)
    for op in ops.OPERATIONS:
        if not op.prefixed:
            yield op.path, op.method.lower(), _operation(op, None)


@functools.cache
def _openapi(prefixes: tuple[str, ...], baseline: str | None) -> dict[str, Any]:
    unknown = set(prefixes) - set(ops.PREFIXES)
    if unknown:
        raise ValueError(f"unknown prefixes {sorted(unknown)}; known: {sorted(ops.PREFIXES)}")
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation in _iter_paths(prefixes):
        paths.setdefault(path, {})[method] = operation
    components = {component_name(name): _component(name, baseline) for name in schema_names()}
    tags = sorted({tag for op in ops.OPERATIONS for tag in op.tags})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PostHog API",
            "version": "contract-1",
            "description": (
                "The PostHog REST API as the posthog-contract suite checks it: PostHog's real "
                "behaviour where it differs from PostHog's documentation. Assembled from "
                "posthog_contract.operations and schemas/*.json; do not edit by hand."
            ),
        },
        "tags": [{"name": tag, "description": _TAG_TEXT.get(tag, tag)} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "PersonalAPIKeyAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API key (phx_...) in Authorization: Bearer <key>.",
                }
            },
        },
    }


def openapi_document(
    *, prefixes: Iterable[str] = ("projects", "environments"), baseline: str | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the contract under ``baseline`` (a fresh deep copy; safe to mutate).

    Prefixed operations appear under each of ``prefixes`` (environment twins get operationIds
    ending in ``_env``); project discovery, users, members and capture appear once.
    """
    return copy.deepcopy(_openapi(tuple(prefixes), check_baseline(baseline)))


def write_openapi(path: str | os.PathLike[str]) -> None:
    """Write `openapi_document()` as JSON (for the schemathesis CLI or for review)."""
    Path(path).write_text(json.dumps(openapi_document(), indent=2) + "\n", encoding="utf-8")


def operation_labels() -> frozenset[str]:
    """Every operation of the assembled OpenAPI by its id and by its ``METHOD /path`` label."""
    labels = set()
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                labels.update({operation["operationId"], f"{method.upper()} {path}"})
    return frozenset(labels)


def operation_ids(wanted: Iterable[str]) -> frozenset[str]:
    """The operation ids that ``wanted`` names (operation ids or ``METHOD /path`` labels)."""
    wanted = set(wanted)
    ids = set()
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            operation_id = operation.get("operationId") if isinstance(operation, dict) else None
            if operation_id and {operation_id, f"{method.upper()} {path}"} & wanted:
                ids.add(operation_id)
    return frozenset(ids)
