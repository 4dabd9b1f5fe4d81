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


# --- a violation or a tool error ------------------------------------------------------------------
# A failed test either judged the host (an AssertionError: assertions.py, a plain ``assert``, a
# schemathesis check, ``pytest.fail``) or never got that far because the suite or a library it uses
# raised something else (a crash of schemathesis/hypothesis machinery, a bug in a helper, a lost
# connection). The second is an *error*: the tool failed and the host was not judged.

VIOLATION = "violation"
TOOL_ERROR = "error"
#: the attribute the collector sets on each failed ``TestReport`` (a plain string, so it survives
#: xdist's serialisation and schemathesis' copy of a report into a subtest report)
VERDICT_ATTRIBUTE = "posthog_contract_verdict"


def is_violation(exc: BaseException) -> bool:
    """True when the exception is a judgement about the host; a group counts if any member does."""
    if isinstance(exc, BaseExceptionGroup):
        return any(is_violation(member) for member in exc.exceptions)
    return isinstance(exc, AssertionError | pytest.fail.Exception)


def verdict_of(report: object) -> str | None:
    """VIOLATION or TOOL_ERROR for a failed report the collector classified, else None."""
    return getattr(report, VERDICT_ATTRIBUTE, None)


# --- exit codes (the README's table) ----------------------------------------------------------------
# pytest's own codes keep their meaning: 2 interrupted, 3 internal error, 4 usage error, 5 no tests.
# A tool error takes 3, pytest's "internal error": in both cases the tool failed and the host was not
# judged, so one code means one thing to CI. Misconfiguration stays 4, pytest's usage error.
EXIT_PASSED = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_TOOL_ERROR = 3
EXIT_MISCONFIGURED = 4
