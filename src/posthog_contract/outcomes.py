"""The two outcomes besides pass and fail (spec Conventions): *warning* and *unavailable*.

A warning is reported and never fails the run; an unavailable check is skipped with its stated
reason and the redacted exchange that shows why. Both are collected, per run, for the terminal
summary and the report.
"""

from __future__ import annotations

from collections.abc import Hashable
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
    """The run's warnings and unavailable checks (one per run: `session.ContractSession` owns it)."""

    entries: list[Outcome] = field(default_factory=list)
    current_test: str = ""
    _seen: set[Hashable] = field(default_factory=set, repr=False)

    def warn(self, message: str, evidence: str = "") -> None:
        self.entries.append(Outcome("warning", self.current_test, message, evidence))

    def unavailable(self, reason: str, evidence: str = "") -> None:
        """Record and skip: the host cannot be judged on this check (neither pass nor fail)."""
        self.entries.append(Outcome("unavailable", self.current_test, reason, evidence))
        pytest.skip(UNAVAILABLE_PREFIX + reason)

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen in this run (for findings reported once per run)."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def of_kind(self, kind: str) -> list[Outcome]:
        return [entry for entry in self.entries if entry.kind == kind]


# --- the words of a verdict ------------------------------------------------------------------------
# A failed test either judged the host (a *violation*) or never got that far (a *tool error*: the
# host was not judged); a violation a waiver covers is *accepted*. `posthog_contract.verdicts`
# decides, and marks each report with these attributes (plain values, so they survive xdist's
# serialisation and schemathesis' copy of a report into a subtest report); the report reads them.

VIOLATION = "violation"
TOOL_ERROR = "error"
#: set on each failed ``TestReport``: VIOLATION or TOOL_ERROR
VERDICT_ATTRIBUTE = "posthog_contract_verdict"
#: set on a report whose violation a waiver accepted (its 1-based index in the file)
WAIVER_ATTRIBUTE = "posthog_contract_waiver"


def verdict_of(report: object) -> str | None:
    """VIOLATION or TOOL_ERROR for a failed report the verdicts classified, else None."""
    return getattr(report, VERDICT_ATTRIBUTE, None)


def waiver_of(report: object) -> int | None:
    """The 1-based index of the waiver that accepted the report's violation, else None."""
    return getattr(report, WAIVER_ATTRIBUTE, None)


def is_subtest(report: object) -> bool:
    """A schemathesis per-operation subtest's report (pytest-subtests' or schemathesis' own)."""
    return type(report).__name__ == "SubtestReport" or hasattr(report, "_schemathesis_subtest")


# --- exit codes (the README's table) ----------------------------------------------------------------
# pytest's own codes keep their meaning: 2 interrupted, 3 internal error, 4 usage error, 5 no tests.
# A tool error takes 3, pytest's "internal error": in both cases the tool failed and the host was not
# judged, so one code means one thing to CI. Misconfiguration stays 4, pytest's usage error.
EXIT_PASSED = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_TOOL_ERROR = 3
EXIT_MISCONFIGURED = 4
