"""The two outcomes besides pass and fail (spec Conventions): *warning* and *unavailable*.

A warning is reported and never fails the run; an unavailable check is skipped with its stated
reason and the redacted exchange that shows why. Both are collected for the terminal summary
and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

UNAVAILABLE_PREFIX = "unavailable: "


@dataclass
class Outcome:
    kind: str  # "warning" | "unavailable"
    test: str
    message: str
    evidence: str = ""


@dataclass
class OutcomeLog:
    entries: list[Outcome] = field(default_factory=list)
    current_test: str = ""

    def warn(self, message: str, evidence: str = "") -> None:
        self.entries.append(Outcome("warning", self.current_test, message, evidence))

    def unavailable(self, reason: str, evidence: str = "") -> None:
        """Record and skip: the host cannot be judged on this check (neither pass nor fail)."""
        self.entries.append(Outcome("unavailable", self.current_test, reason, evidence))
        pytest.skip(UNAVAILABLE_PREFIX + reason)

    def of_kind(self, kind: str) -> list[Outcome]:
        return [entry for entry in self.entries if entry.kind == kind]


#: one log per process; the plugin resets it at session start
LOG = OutcomeLog()
