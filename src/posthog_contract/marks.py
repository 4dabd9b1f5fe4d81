"""What a test judges, as it declares it: the ``operations`` and ``check`` marks, read and validated.

Every contract test says which catalogue operations it judges (``@pytest.mark.operations(...)``,
ids of `operations.OPERATIONS`) and which check families (``@pytest.mark.check(...)``, the matrix
columns `CHECK_KINDS`); a module-level ``pytestmark`` says it once for a whole file, and a test's own
mark (or a ``pytest.param(..., marks=...)``) replaces its module's. The report, the matrix, the JUnit
properties and the mutation accounting read these declarations, never test or fixture names.

The plugin validates them at collection (as pytest-django validates ``django_db``): an unknown
operation id or check kind, or a contract test without its declarations, is a collection error
naming it. No pytest import: a node is anything with ``get_closest_marker`` (a pytest item).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import operations as ops

__all__ = [
    "CHECK_KINDS",
    "CHECK_TITLES",
    "MARKERS",
    "Declared",
    "declared",
    "is_contract_test",
    "judges_events",
    "not_chosen",
    "problems",
    "refuse_undeclared",
]

OPERATIONS_MARK = "operations"
CHECK_MARK = "check"

#: The matrix columns, in order. "generated" holds the schemathesis items (marked ``property_based``);
#: "drift" the test that compares the host's /api/schema/ with the contract.
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

#: the two marks, as pytest registers them (``config.addinivalue_line("markers", ...)``)
MARKERS: tuple[str, ...] = (
    f"{OPERATIONS_MARK}(*operation_ids): the catalogue operations (posthog_contract.operations) the test judges;"
    " required on every contract test, validated at collection",
    f"{CHECK_MARK}(*kinds): the check families the test judges, the report matrix's columns ("
    + ", ".join(CHECK_KINDS)
    + "); required on every contract test, validated at collection",
)


@dataclass(frozen=True)
class Declared:
    """A test's declarations: the operations it judges and the check kinds it judges them on."""

    operations: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


def _arguments(node: Any, name: str) -> tuple[str, ...] | None:
    mark = node.get_closest_marker(name)
    return None if mark is None else tuple(str(arg) for arg in mark.args)


def declared(node: Any) -> Declared:
    """The node's declarations (its closest marks: its own, else its module's), in catalogue and column
    order; unknown values are left out (validation at collection refuses them)."""
    operations = set(_arguments(node, OPERATIONS_MARK) or ())
    checks = set(_arguments(node, CHECK_MARK) or ())
    return Declared(
        tuple(op.operation_id for op in ops.OPERATIONS if op.operation_id in operations),
        tuple(kind for kind in CHECK_KINDS if kind in checks),
    )


def problems(node: Any, *, required: bool) -> list[str]:
    """What is wrong with the node's declarations, one sentence each (empty: nothing).

    ``required``: the node is a contract test, so both marks must be there and name something.
    """
    found = []
    operations, checks = _arguments(node, OPERATIONS_MARK), _arguments(node, CHECK_MARK)
    known = {op.operation_id for op in ops.OPERATIONS}
    for name, given, valid, where in (
        (OPERATIONS_MARK, operations, known, "posthog_contract.operations.OPERATIONS"),
        (CHECK_MARK, checks, set(CHECK_KINDS), f"one of {', '.join(CHECK_KINDS)}"),
    ):
        if given is None:
            if required:
                found.append(f"it declares no @pytest.mark.{name}(...): every contract test says what it judges")
            continue
        if not given and required:
            found.append(f"its @pytest.mark.{name}() is empty: name at least one")
        for value in given:
            if value not in valid:
                found.append(f"unknown {'operation id' if name == OPERATIONS_MARK else 'check kind'} {value!r} in "
                             f"@pytest.mark.{name} ({where})")
    return found


def is_contract_test(node: Any) -> bool:
    """A contract test: it uses the plugin's own ``contract`` fixture (every host-facing fixture depends on it)."""
    return "contract" in getattr(node, "fixturenames", ())


def refuse_undeclared(report: Any, items: Iterable[Any]) -> None:
    """Make a collect report a collection error when one of its contract tests does not declare what it judges,
    or one of its items names an operation or check kind that does not exist; the message names each."""
    found = [
        f"{node.nodeid}: {problem}" for node in items for problem in problems(node, required=is_contract_test(node))
    ]
    if found:
        report.outcome = "failed"
        report.longrepr = "posthog-contract: " + "\nposthog-contract: ".join(found)


def not_chosen(nodes: Iterable[Any], chosen: set[str] | None) -> list[Any]:
    """The property-based tests (``property_based`` mark) that judge none of the ``chosen`` operations
    (``--contract-operation``; None: no choice, nothing is left out)."""
    if chosen is None:
        return []
    return [
        node
        for node in nodes
        if node.get_closest_marker("property_based") and not chosen.intersection(declared(node).operations)
    ]


def judges_events(nodes: Iterable[Any]) -> bool:
    """Whether any node judges an events operation (the run then needs the key's query:read scope)."""
    events = {op.operation_id for op in ops.OPERATIONS if "events" in op.tags}
    return any(events.intersection(declared(node).operations) for node in nodes)
