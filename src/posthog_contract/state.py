"""Whole-state comparisons: the objects a flow touches, before and after, field by field.

A flow (soft delete and undelete, a sharing change, a collaborator change, ``move_tile``) is judged
on everything it touches, not on the one flag it is named after: the state before is read, the
write is sent, the state after is read, and every field and sub-object must be what the contract
says: changed where the write changes it, as it was everywhere else.

A *state* is a plain mapping of named parts (``dashboard``, ``destination``, ``sharing``,
``collaborators``), each the JSON a read answered. Lists of objects that carry an identity are keyed
by it (tiles by ``id``, collaborators by ``user.uuid``), so an item is compared with its own earlier
self whatever its position. Fields a read itself changes are left out (``VOLATILE``).

No I/O happens here; tests read the parts with the client and call `differences`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .wire import instant_or_none

#: fields a read changes by itself or that depend on nothing the flow did (contract §2.1: a retrieve
#: sets last_accessed_at; tile `order` follows the layout and is not asserted)
VOLATILE: Mapping[str, frozenset[str]] = {
    "dashboard": frozenset({"last_accessed_at", "last_viewed_at"}),
    "tile": frozenset({"order"}),
}

#: part -> the kind of object it holds (a flow's second dashboard is a dashboard too)
_KINDS = {"destination": "dashboard"}

#: part -> how its list items are keyed (a dotted path inside each item)
_KEYS = {"tiles": "id", "collaborators": "user.uuid"}


def _key_of(item: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(item, Mapping):
            return None
        item = item.get(part)
    return item


def normalise(part: str, value: Any) -> Any:
    """``value`` as compared: volatile fields dropped, identity-carrying lists keyed by identity."""
    if part.endswith("collaborators") and isinstance(value, list):
        return {str(_key_of(item, _KEYS["collaborators"])): normalise("collaborator", item) for item in value}
    if not isinstance(value, Mapping):
        return value
    volatile = VOLATILE.get(_KINDS.get(part, part), frozenset())
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in volatile:
            continue
        if key == "tiles" and isinstance(item, list):
            out[key] = {str(_key_of(t, "id")): normalise("tile", t) for t in item}
        else:
            out[key] = item
    return out


def snapshot(parts: Mapping[str, Any]) -> dict[str, Any]:
    """A state: each part normalised for comparison."""
    return {name: normalise(name, copy.deepcopy(value)) for name, value in parts.items()}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a != b:
        moment_a, moment_b = instant_or_none(a), instant_or_none(b)
        return moment_a is not None and moment_a == moment_b
    return a == b


def differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """Every place ``actual`` differs from ``expected``, one line each (``sharing.settings.whitelabel``)."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        lines: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            here = f"{where}.{key}" if where else str(key)
            if key not in actual:
                lines.append(f"{here}: missing (expected {_short(expected[key])})")
            elif key not in expected:
                lines.append(f"{here}: unexpected {_short(actual[key])}")
            else:
                lines.extend(differences(expected[key], actual[key], here))
        return lines
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [line for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for line in differences(e, a, f"{where}[{i}]")]
    return [] if _equal(expected, actual) else [f"{where}: expected {_short(expected)}, got {_short(actual)}"]


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expected_after(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    effect: Mapping[str, str],
    names: Mapping[str, Any],
    added: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The state the contract predicts after a write with ``effect`` (`Operation.effect`), and the
    effects that did not happen.

    ``names`` gives the placeholders of the effect's paths (``tile``: the tile id, ``user``: the user
    uuid). ``changes``: the value must differ from before (then it is taken as read); ``removed``:
    the keyed item is gone; ``added``: the item appears, equal to ``added[path]`` when given (a
    moved tile: the item the same effect removes elsewhere, as it was) and taken as read otherwise.
    """
    expected = copy.deepcopy(dict(before))
    missed: list[str] = []
    for path, change in effect.items():
        keys = _path(path, names)
        old, new = _get(before, keys), _get(after, keys)
        if change == "changes":
            if old is _ABSENT or new is _ABSENT or _equal(old, new):
                missed.append(f"{path} changes (before {_short(old)}, after {_short(new)})")
            if new is not _ABSENT:
                _set(expected, keys, new)
        elif change == "removed":
            if old is _ABSENT:
                missed.append(f"{path} was there before the write (it was not)")
            if new is not _ABSENT:
                missed.append(f"{path} is removed (still there: {_short(new)})")
            _delete(expected, keys)
        elif change == "added":
            if new is _ABSENT:
                missed.append(f"{path} is added (it is not there)")
            moved = [p for p, c in effect.items() if c == "removed" and p.rsplit("[", 1)[-1] == path.rsplit("[", 1)[-1]]
            wanted = (added or {}).get(path, _get(before, _path(moved[0], names)) if moved else new)
            if wanted is not _ABSENT:
                _set(expected, keys, copy.deepcopy(wanted))
        else:
            raise ValueError(f"unknown effect {change!r} on {path!r}")
    return expected, missed


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _path(path: str, names: Mapping[str, Any]) -> list[str]:
    """``dashboard.tiles[tile]`` -> ["dashboard", "tiles", "<tile id>"]."""
    keys: list[str] = []
    for part in path.split("."):
        if part.endswith("]") and "[" in part:
            head, name = part[:-1].split("[", 1)
            if head:
                keys.append(head)
            keys.append(str(names[name]))
        else:
            keys.append(part)
    return keys


def _get(state: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(state, Mapping) or key not in state:
            return _ABSENT
        state = state[key]
    return state


def _set(state: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        state = state.setdefault(key, {})
    state[keys[-1]] = value


def _delete(state: dict[str, Any], keys: list[str]) -> None:
    for key in keys[:-1]:
        if not isinstance(state, dict) or key not in state:
            return
        state = state[key]
    if isinstance(state, dict):
        state.pop(keys[-1], None)


def item(state: Mapping[str, Any], path: str, names: Mapping[str, Any]) -> Any:
    """The value at an effect path (``dashboard.tiles[tile]``) of a state, or None."""
    found = _get(state, _path(path, names))
    return None if found is _ABSENT else found
