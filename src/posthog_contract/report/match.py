"""Which operation a request hit, and where a test lands in the matrix.

Operations come from the catalogue (`operations.OPERATIONS`): a request's method and path are
matched against every operation's path template under both prefixes (what the report inventories
per operation). A test lands on what it declares (`posthog_contract.marks`: its ``operations`` and
``check`` marks), never on a reading of its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit

from .. import operations as ops
from ..marks import CHECK_KINDS, CHECK_TITLES, Declared

__all__ = [
    "Attribution",
    "CHECK_KINDS",
    "CHECK_TITLES",
    "generated_operation",
    "operation_for",
    "operation_for_template",
    "attribute",
    "failure_kind",
]


@dataclass(frozen=True)
class _Route:
    operation: ops.Operation
    template: str
    pattern: re.Pattern[str]


def _normalise_template(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template).rstrip("/")


@cache
def _routes() -> tuple[_Route, ...]:
    routes = []
    for operation in ops.OPERATIONS:
        prefixes: Iterable[str | None] = ops.PREFIXES if operation.prefixed else (None,)
        for prefix in prefixes:
            template = operation.full_path(prefix) if prefix else operation.path
            parts = re.split(r"(\{[^}]+\})", template.rstrip("/"))
            regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
            routes.append(_Route(operation, template, re.compile(f"^{regex}/?$")))
    # literal segments beat parameters: /dashboards/create_from_template_json/ before /dashboards/{id}/
    return tuple(sorted(routes, key=lambda r: (r.template.count("{"), -len(r.template))))


def _path_of(url: str) -> str:
    return unquote(urlsplit(url).path or "/")


def operation_for(method: str, url: str, *, any_method: bool = False) -> ops.Operation | None:
    """The catalogue operation a request hit (absolute URL or path; query ignored).

    ``any_method`` also matches an operation on the same path with another method (a 405 probe
    such as PATCH on a collaborator belongs with that path's operations).
    """
    path = _path_of(url)
    method = method.upper()
    fallback = None
    for route in _routes():
        if route.pattern.match(path):
            if route.operation.method == method:
                return route.operation
            fallback = fallback or route.operation
    return fallback if any_method else None


def operation_for_template(method: str, template: str) -> ops.Operation | None:
    """The operation whose OpenAPI path template (either prefix, any parameter names) this is."""
    wanted = _normalise_template(template)
    for route in _routes():
        if route.operation.method == method.upper() and _normalise_template(route.template) == wanted:
            return route.operation
    return None


_GENERATED_ID = re.compile(r"\[(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/[^\]\s]*)\]")


def generated_operation(nodeid: str) -> ops.Operation | None:
    """The operation of a schemathesis item, whose node id ends in ``[METHOD /path/template]``."""
    found = _GENERATED_ID.search(nodeid)
    return operation_for_template(found.group(1), found.group(2)) if found else None


_STATUS_FAILURE = re.compile(r"expected \d{3}(?: or \d{3})*, got \d{3}")
_SHAPE_FAILURE = re.compile(r"^\s*\$[^\s:]*: |Content-Type was|not valid JSON|does not match schema", re.MULTILINE)


def failure_kind(text: str) -> str | None:
    """The check kind a failure message shows: a wrong status (expect_status) or a wrong body (expect_shape)."""
    if _STATUS_FAILURE.search(text):
        return "status"
    if _SHAPE_FAILURE.search(text):
        return "shape"
    return None


@dataclass(frozen=True)
class Attribution:
    """Where a test lands in the matrix."""

    operations: tuple[str, ...]
    checks: tuple[str, ...]
    blocked: bool = False  # failed on a request outside its subject (a precondition such as creating a dashboard)


def attribute(
    declared: Declared, *, outcome: str = "passed", failed_operation: str | None = None, failure_text: str = ""
) -> Attribution:
    """A test lands on the operations and check kinds it declares, whatever its outcome (a skipped or
    unavailable test shows in its cells as not checked or unavailable).

    The one exception is a test that failed on a request to an operation it does not judge (a
    precondition, such as the POST that creates its dashboard): it is *blocked* and lands on that
    operation, with the kind its failure shows, so the broken precondition is where the matrix says it is.
    """
    if outcome in ("failed", "error") and failed_operation and failed_operation not in declared.operations:
        shown = failure_kind(failure_text)
        return Attribution((failed_operation,), (shown,) if shown else declared.checks, blocked=True)
    return Attribution(declared.operations, declared.checks)
