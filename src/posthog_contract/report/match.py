"""Which operation a request hit, which operations a test is about, and which kind of check it is.

Operations come from the catalogue (`operations.OPERATIONS`): a request's method and path are
matched against every operation's path template under both prefixes. Check kinds come from an
explicit ``@pytest.mark.check("persistence")`` when a test has one, else from the words of its name
(`CHECK_RULES`, first match per kind), so a new test lands in a sensible column without ceremony.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote, urlsplit

from .. import operations as ops

__all__ = [
    "Attribution",
    "CHECK_KINDS",
    "CHECK_TITLES",
    "check_kinds",
    "family",
    "operation_for",
    "operation_for_template",
    "attribute",
    "failure_kind",
]

#: The matrix columns, in order. "generated" holds the schemathesis items (tests/test_property_based.py,
#: tests/test_stateful.py); "drift" the test that compares the host's /api/schema/ (schema_drift fixture).
CHECK_KINDS: tuple[str, ...] = (
    "status",
    "shape",
    "pagination",
    "parameters",
    "auth",
    "persistence",
    "negative",
    "generated",
    "drift",
)

CHECK_TITLES: dict[str, str] = {
    "status": "the documented status code for a valid request (201, 200, 204, 405)",
    "shape": "the body matches the contract's schema and documented values",
    "pagination": "next links, limit, count and ordering of lists",
    "parameters": "query parameters and filters do what they say",
    "auth": "keys, scopes and project isolation",
    "persistence": "a change is stored: read again, listed, removed",
    "negative": "invalid or unknown input is refused with the right 4xx",
    "generated": "schemathesis: generated requests for the operation conform",
    "drift": "the host's own OpenAPI (/api/schema/) still documents the contract's fields",
}

#: (kind, pattern on the test's node id after the file name). Every matching kind applies.
CHECK_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("auth", re.compile(r"credentials|readonly|read_only_key|unknown_token|without_a_token")),
    ("pagination", re.compile(r"walk|_limit_|limit_is|_next|_count|_order|orders_|newest|oldest|pinned_first")),
    ("persistence", re.compile(r"stored|persist|_keeps_|leaves_the_list|brings_the|_listed|unlisted|lowers_"
                               r"|marks_the|unshares|soft_deleted|still_exists")),
    ("negative", re.compile(r"_is_4(?!05)\d\d|_4xx|refused|invalid|malformed|unparsable|must_be|_over_\d|without_a_"
                            r"|unknown|non_integer|with_no_tiles|_twice|_the_owner|lowest_restriction|level_21"
                            r"|non_collaborator")),
    ("status", re.compile(r"_201|_204|_405|_200_|answers_200|returns_201|is_405")),
    ("parameters", re.compile(r"filter|_is_exclusive|accepts_a_plus|person_id|include_person|csv_format"
                              r"|_format_|orderby|order_by|legacy_key|form_data|trailing_slash|both_prefixes")),
    ("shape", re.compile(r"shape|returns_a_|returns_the|_object|carry_no|defaults|served_as|timestamps|fills"
                         r"|is_null|with_a_token|answers_enabled|named_after|read_only_fields|answers_the_source"
                         r"|_the_same_|serve_the_same|accepts_a_single|different_token|_is_one_")),
)

#: kinds every test of a file has, besides those its name gives
_FILE_KINDS: dict[str, tuple[str, ...]] = {"test_auth": ("auth",), "test_pagination": ("pagination",)}

_FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    # test file stem -> the operations it is about (by tag or operation id fragment)
    "test_collaborators": ("tag:collaborators",),
    "test_sharing": ("tag:sharing",),
    "test_events": ("tag:events",),
    "test_capture": ("tag:capture",),
    "test_move_tile": ("id:move_tile",),
    "test_template": ("id:create_from_template_json",),
    "test_dashboards": ("tag:dashboards",),
    "test_dashboard_lifecycle": ("tag:dashboards",),
    "test_pagination": ("id:dashboards_list", "id:events_list"),
}
_INCIDENTAL = ("dashboards_create",)  # the new_dashboard fixture's POST: setup, not the subject


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


def _stem(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")


@cache
def family(file_stem: str) -> tuple[str, ...]:
    """The operations a test file is about (empty: any, e.g. test_auth.py)."""
    words = _FAMILY_WORDS.get(file_stem, ())
    chosen = []
    for operation in ops.OPERATIONS:
        for word in words:
            kind, _, value = word.partition(":")
            if (kind == "tag" and value in operation.tags) or (kind == "id" and value in operation.operation_id):
                own_file = ("move_tile", "template")  # test_move_tile.py and test_template.py cover those
                if value == "dashboards" and any(word in operation.operation_id for word in own_file):
                    continue
                chosen.append(operation.operation_id)
                break
    return tuple(chosen)


def check_kinds(nodeid: str, marked: Sequence[str] = ()) -> tuple[str, ...]:
    """The check kinds of a test: its ``check`` marker's arguments, else the rules on its name."""
    if marked:
        return tuple(kind for kind in CHECK_KINDS if kind in marked)
    if generated_operation(nodeid) is not None or "test_property_based" in nodeid or "test_stateful" in nodeid:
        return ("generated",)
    name = nodeid.rsplit("::", 1)[-1].lower()
    kinds = {kind for kind, pattern in CHECK_RULES if pattern.search(name)}
    kinds.update(_FILE_KINDS.get(_stem(nodeid), ()))
    if "auth" in kinds:
        kinds.discard("negative")  # a refused key is the auth check itself, not bad input
    if not kinds:
        kinds = {"shape"}
    return tuple(kind for kind in CHECK_KINDS if kind in kinds)


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
    inferred: bool = False  # a skipped test, placed on its file's operations
    blocked: bool = False  # failed on a request outside its subject (a precondition such as creating a dashboard)


def attribute(
    nodeid: str,
    kinds: tuple[str, ...],
    call_ops: Sequence[str],
    setup_ops: Sequence[str],
    *,
    outcome: str = "passed",
    failed_operation: str | None = None,
    failure_text: str = "",
) -> Attribution:
    """The operations and check kinds of a test, from the operations its requests hit.

    Requests of the call phase count first, setup requests when the call made none in the test
    file's family; the fixtures' ``POST dashboards`` is incidental unless the test is about
    creating. A skipped test made no telling request: it is placed on its file's family, so the
    matrix can say why an operation went unchecked. A test that failed on a request outside its
    subject is *blocked*: it lands on the operation that failed, with the kind its failure shows.
    """
    members = family(_stem(nodeid))
    if outcome in ("skipped", "unavailable", "xfailed"):
        if members:
            return Attribution(members, kinds, inferred=True)
        return Attribution(tuple(dict.fromkeys([*call_ops, *setup_ops])), kinds)

    def hits(ids: Sequence[str]) -> list[str]:
        return [i for i in dict.fromkeys(ids) if not members or i in members]

    chosen = hits(call_ops) or hits(setup_ops)
    creating = "create" in nodeid.rsplit("::", 1)[-1].lower()
    if not creating:
        chosen = [i for i in chosen if i not in _INCIDENTAL]
    if outcome in ("failed", "error") and failed_operation and failed_operation not in chosen:
        shown = failure_kind(failure_text)
        return Attribution((failed_operation,), (shown,) if shown else kinds, blocked=True)
    if not chosen:  # nothing in the family: whatever the test reached
        reached = list(dict.fromkeys(call_ops or setup_ops))
        chosen = [i for i in reached if creating or i not in _INCIDENTAL] or reached
    return Attribution(tuple(chosen), kinds)
