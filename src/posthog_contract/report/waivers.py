"""Known-deviation waivers: a failure the team has accepted, until a date, for a stated reason.

A host with one known deviation (a staging host one release behind, a vendor's documented quirk)
would otherwise stay red every night. A waiver file lists accepted deviations; a failure that a
waiver covers is an *accepted* outcome (its own count, section and matrix cell, exit 0 when nothing
else failed). A waiver never hides anything silently: an expired waiver accepts nothing and fails
the run, and a waiver that matches no failure (the host was fixed, or the test changed) fails the
run too, each with one line naming it.

The file is TOML (read with the standard library's ``tomllib``)::

    [[waiver]]
    test = "tests/test_collaborators.py::test_patch_*"   # fnmatch pattern on the test id
    rule = "405"                  # optional: text the broken rule or failure message contains
    operation = "dashboards_collaborators_destroy"      # optional: an operation the test hit
    reason = "staging runs 1.43; PATCH is refused from 1.44 on (ticket OPS-123)"
    expires = 2027-01-31          # a TOML date; the last day the waiver accepts

Each waiver needs ``reason``, ``expires`` and at least one of ``test`` and ``rule``. Only violations
(assertions about the host) can be waived, never tool errors.

A deprecation finding (contract §1.9; ``--deprecations fail`` makes one fail the run) is accepted by a
waiver naming it instead of a test or rule::

    [[waiver]]
    deprecation = "/api/environments/*"   # fnmatch pattern on the path called, its template or the operation id
    reason = "we move to /api/projects/ this quarter (PLAT-42)"
    expires = 2026-09-30

Such a waiver accepts deprecation findings only (``operation`` may narrow it); it is *unmatched* when the
run reported deprecations and none it names, *not exercised* when the run reported none.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Waiver", "WaiverError", "WaiverFile", "load"]

_KEYS = frozenset({"test", "rule", "operation", "reason", "expires", "deprecation"})


class WaiverError(Exception):
    """The waiver file cannot be used; the message is one sentence naming the file and the entry."""


@dataclass
class Waiver:
    index: int  # 1-based position in the file, for messages
    reason: str
    expires: dt.date
    test: str | None = None
    rule: str | None = None
    operation: str | None = None
    deprecation: str | None = None  # a pattern naming deprecation findings (then it accepts nothing else)
    matched: list[str] = field(default_factory=list)
    selected: bool = False  # some test its `test` pattern names ran (a deprecation waiver: the run found some)

    @property
    def label(self) -> str:
        what = " ".join(f"{k}={v!r}" for k, v in (("test", self.test), ("rule", self.rule),
                                                   ("operation", self.operation),
                                                   ("deprecation", self.deprecation)) if v)
        return f"waiver #{self.index} ({what})"

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def names(self, test_id: str) -> bool:
        return self.test is None or fnmatch.fnmatchcase(test_id, self.test)

    def covers(self, test_id: str, text: str, operations: Iterable[str]) -> bool:
        if self.deprecation is not None or not self.names(test_id):
            return False
        if self.rule is not None and self.rule.lower() not in text.lower():
            return False
        return self.operation is None or self.operation in set(operations)

    def status(self, today: dt.date) -> str:
        """matched | expired | unmatched | not_exercised (its tests did not run here)."""
        if self.expired(today):
            return "expired"
        if self.matched:
            return "matched"
        if self.deprecation is not None:
            return "unmatched" if self.selected else "not_exercised"
        return "unmatched" if self.selected or self.test is None else "not_exercised"

    def covers_deprecation(self, record: Any) -> bool:
        """Whether this waiver names a deprecation record (its operation id, path called or template)."""
        if self.deprecation is None:
            return False
        if self.operation is not None and self.operation != record.operation_id:
            return False
        names = [str(n) for n in (record.operation_id, record.path, record.template) if n]
        return any(fnmatch.fnmatchcase(name, self.deprecation) for name in names)

    def problem(self, today: dt.date) -> str | None:
        """The one line that fails the run, or None."""
        status = self.status(today)
        if status == "expired":
            return (f"{self.label} expired on {self.expires.isoformat()}: it accepts nothing any more; "
                    "fix the host or renew the waiver with a new date and reason")
        if status == "unmatched":
            if self.deprecation is not None:
                return (f"{self.label} matched no deprecation finding: the host announces none it names any more "
                        "(or the pattern is wrong); remove or fix the waiver")
            return (f"{self.label} matched no failure: the deviation is gone or the test changed; "
                    "remove the waiver")
        return None

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        return {
            "index": self.index,
            "test": self.test,
            "rule": self.rule,
            "operation": self.operation,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "status": self.status(today),
            "matched": list(self.matched),
            **({"deprecation": self.deprecation} if self.deprecation is not None else {}),
        }


@dataclass
class WaiverFile:
    path: str
    sha256: str
    waivers: list[Waiver]

    def match(self, test_id: str, text: str, operations: Iterable[str], today: dt.date) -> Waiver | None:
        """The first unexpired waiver that covers this violation (and remember the match)."""
        operations = tuple(operations)
        for waiver in self.waivers:
            if waiver.covers(test_id, text, operations) and not waiver.expired(today):
                waiver.matched.append(test_id)
                return waiver
        return None

    def match_deprecation(self, record: Any, today: dt.date) -> Waiver | None:
        """The first unexpired waiver naming this deprecation record (and remember the match)."""
        for waiver in self.waivers:
            if waiver.deprecation is None:
                continue
            waiver.selected = True  # the run found a deprecation: an unmatched waiver now fails it
            if waiver.covers_deprecation(record) and not waiver.expired(today):
                waiver.matched.append(f"{record.method} {record.template or record.path}")
                return waiver
        return None

    def saw(self, test_id: str) -> None:
        """A test ran: waivers whose pattern names it were exercised."""
        for waiver in self.waivers:
            if waiver.test is not None and not waiver.selected and waiver.names(test_id):
                waiver.selected = True

    def problems(self, today: dt.date) -> list[str]:
        return [p for p in (w.problem(today) for w in self.waivers) if p]

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        return {"file": self.path, "sha256": self.sha256, "entries": [w.to_dict(today) for w in self.waivers]}


def load(path: str | Path) -> WaiverFile:
    """Read and validate a waiver file; WaiverError with one sentence on the first problem."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise WaiverError(f"cannot read the waiver file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WaiverError(f"the waiver file {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"waiver"}
    if unknown:
        raise WaiverError(f"the waiver file {path} has unknown top-level keys {sorted(unknown)}; use [[waiver]] tables")
    entries = data.get("waiver", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise WaiverError(f"the waiver file {path} must hold [[waiver]] tables")
    waivers = [_waiver(path, index, entry) for index, entry in enumerate(entries, start=1)]
    return WaiverFile(str(path), hashlib.sha256(raw).hexdigest(), waivers)


def _waiver(path: str | Path, index: int, entry: dict[str, Any]) -> Waiver:
    where = f"waiver #{index} in {path}"
    unknown = set(entry) - _KEYS
    if unknown:
        raise WaiverError(f"{where} has unknown keys {sorted(unknown)} (known: {', '.join(sorted(_KEYS))})")
    for key in ("test", "rule", "operation", "reason"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise WaiverError(f"{where}: {key} must be a non-empty string")
    if not entry.get("reason"):
        raise WaiverError(f"{where} has no reason: say why the deviation is accepted")
    if "deprecation" in entry:
        if not isinstance(entry["deprecation"], str) or not entry["deprecation"].strip():
            raise WaiverError(f"{where}: deprecation must be a non-empty pattern (e.g. \"/api/environments/*\")")
        if "test" in entry or "rule" in entry:
            raise WaiverError(f"{where} names a deprecation and a test or rule: a waiver accepts deprecation findings"
                              " or failures, not both; split it in two")
    elif "test" not in entry and "rule" not in entry:
        raise WaiverError(f"{where} names neither a test nor a rule: it would accept every failure")
    expires = entry.get("expires")
    if isinstance(expires, dt.datetime) or not isinstance(expires, dt.date):
        raise WaiverError(f"{where} needs expires = YYYY-MM-DD (a TOML date, unquoted)")
    if "operation" in entry:
        from .. import operations as ops

        known = {op.operation_id for op in ops.OPERATIONS}
        if entry["operation"] not in known:
            raise WaiverError(f"{where}: operation {entry['operation']!r} is not in the operation catalogue")
    return Waiver(index, entry["reason"].strip(), expires, entry.get("test"), entry.get("rule"), entry.get("operation"),
                  entry.get("deprecation"))
