"""One registry of deliberate contract violations ("mutants"), each switched on by name.

A mutant is declared beside the code it breaks::

    WRONG_STATUS = mutants.declare(
        "dashboard_delete_returns_204", "DELETE must answer 405 (§2.8)",
        killed_by=("tests/test_dashboards.py::test_delete_is_405_with_empty_body_and_keeps_the_dashboard",),
    )
    ...
    if mutants.active(WRONG_STATUS):
        return empty_response(204)

The server runs with at most a few mutants on (``--mutant NAME``); the self-tests run the contract
suite against each and expect it to fail. ``killed_by`` names the tests expected to kill the mutant
(a test module, a test node id, or a prefix of one): only a failure of one of those, asserting
something about the host, counts as a kill (``posthog_contract.mutation``). Mutants declared before
``killed_by`` existed take theirs from :mod:`.mutant_killers`.

A mutant whose killing check is not written yet is declared ``pending="why"``: it can be switched on
(``--mutant NAME``) and is listed by ``--list-pending-mutants``, but it stays out of the catalogue the
mutation score counts until the check exists and the declaration names it in ``killed_by``.
"""

from __future__ import annotations

from collections.abc import Iterable

_CATALOGUE: dict[str, str] = {}
_KILLERS: dict[str, tuple[str, ...]] = {}
_ACTIVE: set[str] = set()
_PENDING: dict[str, tuple[str, str]] = {}


def declare(name: str, rule: str, *, killed_by: Iterable[str] = (), pending: str | None = None) -> str:
    """Register a mutant, the contract rule it breaks and the tests expected to kill it; returns
    ``name`` for use with :func:`active`. ``pending``: why no check kills it yet (kept out of the
    catalogue)."""
    if pending is not None:
        _PENDING[name] = (rule, pending)
        return name
    if name in _CATALOGUE and _CATALOGUE[name] != rule:
        raise ValueError(f"mutant {name!r} declared twice with different rules")
    _CATALOGUE[name] = rule
    if killed_by:
        _KILLERS[name] = tuple(killed_by)
    return name


def killers(name: str) -> tuple[str, ...]:
    """The tests expected to kill ``name`` (declared, else from the table of older mutants)."""
    from .mutant_killers import EXPECTED_KILLERS

    return _KILLERS.get(name) or EXPECTED_KILLERS.get(name, ())


def active(name: str) -> bool:
    return name in _ACTIVE


def activate(names: list[str] | tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in _CATALOGUE and n not in _PENDING]
    if unknown:
        raise ValueError(f"unknown mutant(s): {', '.join(unknown)}; see --list-mutants")
    _ACTIVE.clear()
    _ACTIVE.update(names)


def catalogue() -> dict[str, str]:
    """Every declared mutant and the rule it breaks (import the app first so all are declared)."""
    return dict(sorted(_CATALOGUE.items()))


def pending() -> dict[str, tuple[str, str]]:
    """The mutants waiting for their killing check: name -> (rule, why it is pending)."""
    return dict(sorted(_PENDING.items()))
