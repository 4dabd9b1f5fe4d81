"""Verdicts: what a failure is, which failures a waiver accepts, and the run's exit status.

A failed test either judged the host (an AssertionError: assertions.py, a plain ``assert``, a
schemathesis check, ``pytest.fail``) or never got that far because the suite or a library it uses
raised something else (a crash of schemathesis/hypothesis machinery, a bug in a helper, a lost
connection). The first is a *violation*, the second a *tool error*: the tool failed and the host
was not judged. A violation a waiver covers (``--waivers FILE``) is *accepted*: pytest shows it as
an expected failure, the run may still pass. The host's deprecation notices (contract §1.9, the run's
deprecation finding) never fail a run unless ``--deprecations fail`` says so; a waiver with a
``deprecation`` pattern accepts them.

This module is the one that steers: the report (``report/collect.py``) only reads what is decided
here, from the attributes set on each ``TestReport`` (their names and the exit codes are words of
`posthog_contract.outcomes`, which the report reads too).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from . import config as settings_module
from . import locations, marks
from .outcomes import (
    EXIT_COVERAGE,
    EXIT_PASSED,
    EXIT_TOOL_ERROR,
    EXIT_VIOLATIONS,
    RUN_VERDICTS,
    TOOL_ERROR,
    VERDICT_ATTRIBUTE,
    VIOLATION,
    WAIVER_ATTRIBUTE,
    is_subtest,
    run_verdict,
    verdict_of,
    waiver_of,
)
from .report import junit, match
from .report import waivers as waivers_module
from .report.model import coverage_shortfall

__all__ = ["DEPRECATIONS_ENV", "WAIVERS_ENV", "Verdicts", "is_violation"]

WAIVERS_ENV = "POSTHOG_CONTRACT_WAIVERS"
DEPRECATIONS_ENV = "POSTHOG_CONTRACT_DEPRECATIONS"
#: notes of the verdicts that fail the run on their own (a finding, not a tool error)
FAILING_NOTES = ("--drift-fail", "waivers:", "--deprecations fail")


def is_violation(exc: BaseException) -> bool:
    """True when the exception is a judgement about the host; a group counts if any member does."""
    if isinstance(exc, BaseExceptionGroup):
        return any(is_violation(member) for member in exc.exceptions)
    return isinstance(exc, AssertionError | pytest.fail.Exception)


class Verdicts:
    """The run's verdict policy: classifies failures, applies the waivers, decides the exit status.

    A pytest plugin object, one per run: the run's session owns it (``ContractSession.verdicts``).
    """

    def __init__(
        self,
        waivers: waivers_module.WaiverFile | None = None,
        *,
        drift_fail: bool = False,
        deprecations: str = "warn",
        min_coverage: float | None = None,
        today: Any = None,
        scrub: Callable[[str], str] = lambda text: text,
    ) -> None:
        self.waivers = waivers
        self.drift_fail = drift_fail
        self.deprecations = deprecations  # --deprecations: warn (never fails the run) | fail
        #: the run's deprecation records (posthog_contract.deprecations.DeprecationRecord), as the run found them
        self.deprecation_records: Callable[[], list[Any]] = lambda: []
        #: record key -> the waiver that accepted it ("waiver #N, until …: reason"), decided in exit_status
        self.accepted_deprecations: dict[tuple[str, str], str] = {}
        self.min_coverage = min_coverage  # --min-coverage: below it the run exits EXIT_COVERAGE
        self.today = today or datetime.now(UTC).date()
        self.scrub = scrub
        #: node id -> the verdict of its failures no waiver accepted (a violation outranks a tool error)
        self.failures: dict[str, str] = {}
        self.drift_judged = False  # a test declaring the drift check ran
        #: the host's drift, as the run found it (set by whoever compared it); only read here
        self.drift_significant: Callable[[], bool] = lambda: False
        self.contract_run = False  # a contract session was opened: the exit status is ours to refine
        #: the run's coverage (report.model.coverage: checked, total, percent, not_judged), as the report counts it
        self.coverage: Callable[[], dict[str, Any] | None] = lambda: None
        #: the sentence preflight refused the host with (None: it did not), as the session recorded it
        self.refusal: Callable[[], str | None] = lambda: None
        self.notes: list[str] = []
        self.status: int | None = None  # the exit status, once decided

    @classmethod
    def from_config(cls, config: pytest.Config) -> Verdicts:
        """``--waivers`` and ``--drift-fail``: flag > environment > config file (for runs that select the suite)."""
        use_file = locations.selects_suite(config.args, config.invocation_params.dir)
        try:
            chosen = settings_module.run_settings(lambda n: config.getoption(n, default=None), os.environ,
                                                  use_file=use_file)
        except settings_module.ConfigError as exc:
            raise pytest.UsageError(f"posthog-contract: {exc}") from None
        path = chosen["waivers"]
        waivers = None
        if path:
            try:
                waivers = waivers_module.load(path)
            except waivers_module.WaiverError as exc:
                raise pytest.UsageError(f"posthog-contract: {exc}") from None
        return cls(waivers, drift_fail=bool(chosen["drift-fail"]), deprecations=str(chosen["deprecations"]),
                   min_coverage=chosen["min-coverage"])

    # -- each failure ---------------------------------------------------------------------------------

    def judge(self, report: Any, exc: BaseException, *, when: str, operations: set[str]) -> None:
        """Classify a failed report; a violation a waiver covers becomes an expected failure (pytest's
        xfail: exit 0, JUnit skipped)."""
        violation = is_violation(exc)
        setattr(report, VERDICT_ATTRIBUTE, VIOLATION if violation else TOOL_ERROR)
        if violation:
            self._plain_message(report, exc)
        if violation and self.waivers is not None and when in ("setup", "call"):
            generated = match.generated_operation(report.nodeid)
            if generated is not None:
                operations = operations | {generated.operation_id}
            waiver = self.waivers.match(report.nodeid, str(exc), operations, self.today)
            if waiver is not None:
                report.outcome = "skipped"
                accepted = f"waiver #{waiver.index}, until {waiver.expires}"
                report.wasxfail = f"accepted deviation ({accepted}): {waiver.reason}"
                setattr(report, WAIVER_ATTRIBUTE, waiver.index)
                return
        previous = self.failures.get(report.nodeid)
        self.failures[report.nodeid] = VIOLATION if VIOLATION in (previous, verdict_of(report)) else TOOL_ERROR

    def _plain_message(self, report: Any, exc: BaseException) -> None:
        """A schemathesis failure's headline (JUnit ``message``) in plain words, not a Python repr."""
        crash = getattr(report.longrepr, "reprcrash", None)
        plain = junit.plain_failure(exc)
        if crash is not None and plain is not None:
            with contextlib.suppress(AttributeError, TypeError):
                crash.message = self.scrub(plain)

    # -- the end of the run ---------------------------------------------------------------------------

    def exit_status(self, status: int) -> int:
        """pytest's status, refined: significant drift under ``--drift-fail`` that no test judged fails the
        run; waiver problems fail it; failures that are all tool errors exit EXIT_TOOL_ERROR; a run that
        otherwise passed but judged fewer applicable cells than ``--min-coverage`` exits EXIT_COVERAGE.

        A violation outranks a tool error: a broken rule is a finding even when another test crashed
        (the summary counts both). Only contract runs are refined, never the self-tests' own.
        """
        if self.drift_fail and not self.drift_judged and status == EXIT_PASSED and self.drift_significant():
            status = EXIT_VIOLATIONS
            self.notes.append("--drift-fail: the host's /api/schema/ drifts significantly from the contract")
        status = self._judge_deprecations(status)
        problems = self.waivers.problems(self.today) if self.waivers is not None else []
        self.notes.extend(f"waivers: {problem}" for problem in problems)
        if problems and status == EXIT_PASSED:
            status = EXIT_VIOLATIONS
        if status == EXIT_PASSED and self.contract_run and self.min_coverage is not None:
            shortfall = coverage_shortfall(self.coverage(), self.min_coverage)
            if shortfall is not None:
                status = EXIT_COVERAGE
                self.notes.append(f"coverage: {shortfall}")
        if status != EXIT_VIOLATIONS or not self.contract_run:
            return status
        if VIOLATION in self.failures.values() or any(n.startswith(FAILING_NOTES) for n in self.notes):
            return status
        stopped = any(note.startswith("stopped: ") for note in self.notes)
        return EXIT_TOOL_ERROR if TOOL_ERROR in self.failures.values() or stopped else status

    def stopped(self, sentence: str) -> None:
        """The run stops before its end: the key's rate limit is spent (a tool error unless a rule broke first)."""
        self.notes.append(f"stopped: {sentence}")

    def verdict(self, status: int) -> tuple[str, str]:
        """The run's verdict for an exit status, and the sentence that says why (RUN_VERDICTS, with the run's
        own reasons: how many tests broke a rule, the refusal, the waiver or drift problem)."""
        name = run_verdict(status, refused=self.refusal() is not None)
        text = RUN_VERDICTS[name]
        violations = sum(verdict == VIOLATION for verdict in self.failures.values())
        reasons = [note for note in self.notes if note.startswith(FAILING_NOTES)]
        if name == "failed" and (reasons or not violations):
            broke = [f"the host broke a rule in {violations} test(s)"] if violations else []
            text = "failed: " + "; ".join([*broke, *reasons] or ["a test failed"])
        elif name == "failed":
            text = f"failed: the host broke a rule in {violations} test(s)"
        elif name == "refused":
            text = f"refused: preflight refused the host, so it was not judged: {self.refusal()}"
        elif name == "tool_error" and any(note.startswith("stopped: ") for note in self.notes):
            text = "tool error: " + next(n for n in self.notes if n.startswith("stopped: ")).removeprefix("stopped: ")
        elif name == "incomplete":
            text = "incomplete: " + next((n.removeprefix("coverage: ") for n in self.notes
                                          if n.startswith("coverage: ")), RUN_VERDICTS[name])
        return name, self.scrub(text)

    def closing_lines(self) -> list[tuple[str, str]]:
        """The run's last lines (text, colour): its coverage, then its verdict with its reasons, a waiver problem
        among them, so that nothing the run says after them (pytest's green "N passed") is the last word.

        A host preflight refused has had its one sentence already (``ERROR: posthog-contract: …``, pytest's
        usage error): a misconfiguration ends in that one line, so no verdict line follows it."""
        if self.status is None or not self.contract_run or self.refusal() is not None:
            return []
        name, text = self.verdict(self.status)
        lines = []
        coverage = self.coverage() if name not in ("refused", "misconfigured", "interrupted") else None
        if coverage is not None and coverage["status"] == "incomplete" and name != "incomplete":
            lines.append((f"posthog-contract: coverage INCOMPLETE: {coverage['checked']} of {coverage['total']} "
                          f"applicable cells judged ({coverage['percent']:g} %), {len(coverage['not_judged'])} not "
                          "(listed above; --min-coverage PERCENT makes too little a failing exit, 6)", "yellow"))
        colour = {"passed": "green", "interrupted": "yellow", "incomplete": "yellow", "no_tests": "yellow"}
        lines.append((f"posthog-contract: {name.replace('_', ' ').upper()} (exit {self.status}): "
                      f"{text.split(': ', 1)[1] if ': ' in text else text}", colour.get(name, "red")))
        return lines

    def _judge_deprecations(self, status: int) -> int:
        """Waivers accept deprecation findings (once per run); ``--deprecations fail`` makes the rest fail it."""
        records = list(self.deprecation_records())
        if self.waivers is not None and not self.accepted_deprecations:
            for record in records:
                waiver = self.waivers.match_deprecation(record, self.today)
                if waiver is not None:
                    self.accepted_deprecations[record.key] = (f"waiver #{waiver.index}, until {waiver.expires}: "
                                                              f"{waiver.reason}")
        unaccepted = [r for r in records if r.key not in self.accepted_deprecations]
        if self.deprecations != "fail" or not unaccepted:
            return status
        shown = "; ".join(self.scrub(r.sentence()) for r in unaccepted[:3]) + ("; …" if len(unaccepted) > 3 else "")
        self.notes.append(f"--deprecations fail: the host announced {len(unaccepted)} deprecated operation(s) no "
                          f"waiver accepts (contract §1.9): {shown}")
        return EXIT_VIOLATIONS if status == EXIT_PASSED else status

    # -- pytest hooks ---------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
        report = yield
        if call.when == "call" and "drift" in marks.declared(item).checks:
            self.drift_judged = True
        if report.failed and call.excinfo is not None:  # schemathesis' subtest reports are made here too
            self.judge(report, call.excinfo.value, when=call.when, operations=set(marks.declared(item).operations))
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.waivers is None:
            return
        if report.when == "setup" or is_subtest(report):
            self.waivers.saw(report.nodeid)
        index = waiver_of(report)
        if index is not None and 0 < index <= len(self.waivers.waivers):  # xdist: matched in a worker
            matched = self.waivers.waivers[index - 1].matched
            if report.nodeid not in matched:
                matched.append(report.nodeid)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        session.exitstatus = self.status = self.exit_status(int(session.exitstatus))
