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


#: how a run counts its tests (posthog_contract.counting), in the words the summary and the report use
COUNTING = ("each test once, a generated test once per operation it judged (its subtests): the same count in "
            "pytest's line, this summary, report.json and JUnit")


# --- exit codes (the README's table) ----------------------------------------------------------------
# pytest's own codes keep their meaning: 2 interrupted, 3 internal error, 4 usage error, 5 no tests.
# A tool error takes 3, pytest's "internal error": in both cases the tool failed and the host was not
# judged, so one code means one thing to CI. Misconfiguration stays 4, pytest's usage error. 6 is the
# suite's own: the run judged fewer applicable cells than --min-coverage asks (issue 24).
EXIT_PASSED = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_TOOL_ERROR = 3
EXIT_MISCONFIGURED = 4
EXIT_NO_TESTS = 5
EXIT_COVERAGE = 6

# --- the run's verdict (issue 24: a verdict that means what it says) --------------------------------
# One word per exit status, and what it means, for every reader of a run: the terminal's last lines,
# report.json (run.verdict, run.verdict_text), report.html's badge, the job summary and its
# annotations, ``diff`` and ``matrix``. An interrupted run, a refused host and a run that judged too
# little are verdicts of their own, never "failed": they say nothing against the host.

RUN_VERDICTS: dict[str, str] = {
    "passed": "passed: every check that ran passed",
    "failed": "failed: the host broke at least one rule",
    "interrupted": "interrupted: the host was not fully judged",
    "tool_error": "tool error: the tool failed; the host was not judged there",
    "refused": "refused: preflight refused the host, so it was not judged",
    "misconfigured": "misconfigured: the run did not start, so the host was not judged",
    "no_tests": "no tests ran: the host was not judged",
    "incomplete": "incomplete: fewer applicable cells were judged than --min-coverage asks",
}
_VERDICT_OF_EXIT = {
    EXIT_PASSED: "passed",
    EXIT_VIOLATIONS: "failed",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_TOOL_ERROR: "tool_error",
    EXIT_MISCONFIGURED: "misconfigured",
    EXIT_NO_TESTS: "no_tests",
    EXIT_COVERAGE: "incomplete",
}
#: verdicts that judged the host to the end (``diff`` compares only these without --allow-mismatch)
JUDGED_VERDICTS = ("passed", "failed", "tool_error", "incomplete")


def run_verdict(exit_status: int, *, refused: bool = False) -> str:
    """The verdict of an exit status (a key of RUN_VERDICTS); 4 is "refused" when preflight refused the host."""
    if exit_status == EXIT_MISCONFIGURED and refused:
        return "refused"
    return _VERDICT_OF_EXIT.get(exit_status, "tool_error")


def verdict_of_run(run: dict[str, object]) -> tuple[str, str]:
    """(verdict, sentence) of a report's ``run``: as recorded, or from the exit status (reports before issue 24)."""
    status = run.get("exit_status")
    verdict = str(run.get("verdict") or run_verdict(status if isinstance(status, int) else EXIT_TOOL_ERROR))
    text = str(run.get("verdict_text") or RUN_VERDICTS.get(verdict, verdict))
    return verdict, text
