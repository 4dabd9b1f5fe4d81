"""One registry of deliberate contract violations ("mutants"), each switched on by name.

A mutant is declared beside the code it breaks::

    WRONG_STATUS = mutants.declare("dashboard_delete_returns_204", "DELETE must answer 405 (§2.8)")
    ...
    if mutants.active(WRONG_STATUS):
        return empty_response(204)

The server runs with at most a few mutants on (``--mutant NAME``); the self-tests run the contract
suite against each and expect it to fail.
"""

from __future__ import annotations

_CATALOGUE: dict[str, str] = {}
_ACTIVE: set[str] = set()


def declare(name: str, rule: str) -> str:
    """Register a mutant and the contract rule it breaks; returns ``name`` for use with :func:`active`."""
    if name in _CATALOGUE and _CATALOGUE[name] != rule:
        raise ValueError(f"mutant {name!r} declared twice with different rules")
    _CATALOGUE[name] = rule
    return name


def active(name: str) -> bool:
    return name in _ACTIVE


def activate(names: list[str] | tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in _CATALOGUE]
    if unknown:
        raise ValueError(f"unknown mutant(s): {', '.join(unknown)}; see --list-mutants")
    _ACTIVE.clear()
    _ACTIVE.update(names)


def catalogue() -> dict[str, str]:
    """Every declared mutant and the rule it breaks (import the app first so all are declared)."""
    return dict(sorted(_CATALOGUE.items()))
