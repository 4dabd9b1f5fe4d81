"""One count everywhere (issue 24): what a run counts as one test, the same in pytest's terminal line,
the suite's summary, report.json and the JUnit XML, and a progress that reaches 100 %.

**A test is one test item, except a generated (schemathesis) test that judged its operations one
by one: it counts as those operations (pytest's subtests, one per operation), not as itself.** That is
how the report's matrix reads it (a cell per operation), so the counts follow it:

- pytest's line: each report gets the suite's word (`category`): a subtest counts like any test
  (pytest's own subtests plugin counts a passed subtest only at some verbosities, a failed one always),
  and the generated test that held them counts nothing once it passed. An *unavailable* check is a
  category of its own (``6 unavailable``, not ``skipped``), a tool error is an ``error``, a waived
  violation ``accepted``;
- the summary and report.json count the same units (`report.model`: a container's record is left out);
- JUnit lists a testcase per subtest already (schemathesis names each one after its operation): the
  container's own passed testcase is left out, and a failed testcase is a ``failure`` for a violation,
  an ``error`` for a tool error, in whichever phase (`report.junit.recount`);
- pytest's progress: schemathesis adds a generated test's operations to ``session.testscollected`` only
  when the test starts, so the percentage fell back (96 % → 85 %) and, when the test stopped early
  (a spent budget), never reached 100 %. The planned operations are counted in from the start and
  the count is set to what was reported once the test is done.

One plugin object per run, registered by the plugin; the verdict attributes it reads are
`posthog_contract.outcomes` words that `verdicts` sets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import marks
from .outcomes import TOOL_ERROR, UNAVAILABLE_PREFIX, VIOLATION, is_subtest, verdict_of, waiver_of
from .report import junit

__all__ = ["Counts", "is_unavailable", "runs_subtests"]

#: schemathesis marks the test functions it parametrizes lazily (``GIVEN_TARGET_ATTR``,
#: schemathesis/generation/hypothesis/given.py): those run their operations as subtests
_SCHEMATHESIS_TEST = "_schemathesis_given_target"


def is_unavailable(report: Any) -> bool:
    """A skip whose reason is the suite's *unavailable* (`outcomes.OutcomeLog.unavailable`)."""
    longrepr = getattr(report, "longrepr", None)
    return bool(
        getattr(report, "skipped", False)
        and isinstance(longrepr, tuple)
        and len(longrepr) == 3
        and str(longrepr[2]).startswith("Skipped: " + UNAVAILABLE_PREFIX)
    )


def runs_subtests(item: Any) -> bool:
    """A generated test that judges its operations as subtests (schemathesis' lazy parametrization)."""
    return getattr(getattr(item, "obj", None), _SCHEMATHESIS_TEST, None) is not None


class Counts:
    """The run's counting: which items are containers, and pytest's words and progress to match."""

    def __init__(self, chosen: Callable[[], set[str] | None] = lambda: None) -> None:
        self.chosen = chosen  # --contract-operation's operations (None: all): the planned subtests are those
        self.current: str | None = None
        self.subtests: Counter[str] = Counter()  # item node id -> subtests it reported
        self.containers: set[str] = set()  # items counted as their subtests (they passed themselves)
        self.kinds: dict[str, str] = {}  # failed node id -> JUnit's word: "failure" (violation) | "error" (tool)
        self._planned: dict[str, int] = {}
        self._session: pytest.Session | None = None

    @staticmethod
    def planned(item: pytest.Item, chosen: set[str] | None) -> int:
        """How many subtests a generated test will report: one per operation it declares (and was chosen)."""
        if not runs_subtests(item):
            return 0
        operations = marks.declared(item).operations
        if chosen is not None:
            operations = tuple(o for o in operations if o in chosen)
        return len(operations)

    # -- progress ----------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        """The planned subtests are counted in before the first test (a container: its operations, not itself)."""
        self._session = session
        chosen = self.chosen() if any(runs_subtests(item) for item in session.items) else None
        for item in session.items:
            planned = self.planned(item, chosen)
            if planned:
                self._planned[item.nodeid] = planned
                session.testscollected += planned - 1
        try:
            return (yield)
        finally:
            junit.recount(session.config, self.containers, self.kinds)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """Schemathesis adds the operations it will run when the test starts: taken back in advance, and the
        count set to what the test reported once it ends (its subtests, or itself when it reported none)."""
        planned = self._planned.get(item.nodeid)
        session = self._session
        if not planned or session is None:
            return (yield)
        before = session.testscollected
        session.testscollected -= planned
        try:
            return (yield)
        finally:
            reported = self.subtests[item.nodeid]
            session.testscollected = before - (planned - 1) + max(reported - 1, 0)

    # -- what counts -------------------------------------------------------------------------------

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.current = nodeid

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and verdict_of(report) is not None:
            self.kinds[report.nodeid] = "failure" if verdict_of(report) == VIOLATION else "error"
        if is_subtest(report) and self.current is not None:
            self.subtests[self.current] += 1
        elif report.when == "call" and report.passed and self.subtests[report.nodeid]:
            self.containers.add(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        """The suite's words for pytest's line (category, letter, word), one per test as the summary counts."""
        if report.when != "call" and report.passed:
            return None  # a passed setup/teardown: pytest's own (nothing shown)
        if waiver_of(report) is not None:
            return "accepted", "A", "ACCEPTED"
        if is_unavailable(report):
            return "unavailable", "U", "UNAVAILABLE"
        verdict = verdict_of(report) if report.failed else None
        if verdict == TOOL_ERROR:
            return "error", "E", "ERROR"
        if verdict == VIOLATION:
            return "failed", "F", "FAILED"
        if not is_subtest(report):
            if report.when == "call" and report.passed and self.subtests[report.nodeid]:
                return "", "", ""  # a container that passed: counted as its subtests
            return None
        if report.passed:
            return "passed", ".", "PASSED"
        if report.skipped:
            return "skipped", "s", "SKIPPED"
        return "failed", "F", "FAILED"
