"""The pytest plugin of the suite: hooks only.

One run, one owner: ``pytest_configure`` makes the run's `session.ContractSession` (with its verdict
policy) and keeps it under a ``StashKey``; the scrubbing hooks (`scrubbing.Scrubber`), the verdicts
(`verdicts.Verdicts`) and the report (`report.collect`) are handed it. The fixtures live in
`fixtures`, opening and closing the run in `lifecycle`.

The run is opened once collection shows that contract tests will run (``pytest_collection_finish``),
so a misconfiguration ends the run before any test with one sentence and exit code 4 (never a
traceback), and runs that collect no contract test (the self-tests) start no server. Every contract
test declares what it judges (``operations`` and ``check`` marks, `marks`); a missing or unknown
declaration is a collection error naming it.

Safety on a real host: everything the run creates is undone at session end, after failures, on
Ctrl-C and on SIGTERM (a second signal during that cleanup abandons it at once, a first one after
a short grace period); in read-only mode the client refuses anything but GET/HEAD/OPTIONS; every
report, log record and traceback the run produces is scrubbed of the configured keys; once the
host refuses past the 429 wait budget, the run stops (the key's rate limit is spent).
"""

from __future__ import annotations

import argparse
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from . import config as settings_module
from . import lifecycle, marks, verdicts
from .counting import Counts
from .scrubbing import Scrubber
from .session import ContractSession

pytest_plugins = ["posthog_contract.fixtures", "posthog_contract.report.collect"]

#: the suite's markers, registered here so that an installed wheel (no pyproject.toml) knows them too
MARKERS = (
    "writes: the test creates or changes resources on the host (deselected by --read-only)",
    "slow: takes more than a few seconds",
    "needs_collaborator: needs a second organisation member to add as a dashboard collaborator",
    "reference_only: checks a value only the reference server pins (e.g. exact limits)",
    "property_based: runs on the property-based machinery (schemathesis, Hypothesis): after the hand-written"
    " checks, so the request budget cuts it first",
    *marks.MARKERS,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("posthog-contract", "PostHog API contract suite")
    clashes = settings_module.add_options(group)
    # option names another plugin already owned: kept with the options themselves, printed at session start
    group.addoption("--posthog-contract-option-clashes", dest="contract_option_clashes", default=tuple(clashes),
                    help=argparse.SUPPRESS)
    group.addoption(
        "--reference-arg",
        action="append",
        default=[],
        dest="reference_args",
        metavar="ARG",
        help="extra argument for the embedded reference server, e.g. --reference-arg=--latency-ms=150",
    )
    group.addoption(
        "--drift-fail",
        dest="contract_drift_fail",
        action="store_true",
        default=False,
        help="fail when the host's own OpenAPI (/api/schema/) drifts significantly from the contract "
        "(default: informational; the embedded reference server always fails)",
    )
    group.addoption(
        "--min-coverage",
        dest="contract_min_coverage",
        metavar="PERCENT",
        default=None,
        help="exit 6 (its own code) when fewer than PERCENT of the documented operations' applicable cells were "
        "judged (the summary says INCOMPLETE whenever any was not) [env POSTHOG_CONTRACT_MIN_COVERAGE]",
    )
    group.addoption(
        "--waivers",
        dest="contract_waivers",
        metavar="FILE",
        default=None,
        help="TOML file of accepted deviations (rule or test, operation, reason, expiry): a failure a waiver "
        f"covers is 'accepted'; an expired or unmatched waiver fails the run [env {verdicts.WAIVERS_ENV}]",
    )
    group.addoption(
        "--deprecations",
        dest="contract_deprecations",
        metavar="{warn,fail}",
        default=None,
        help="what the host's deprecation notices (Deprecation, Sunset, a successor-version link or the §1.9 "
        "redirect on a documented operation) do to the run: warn (default) reports them, fail exits 1 unless a "
        f"waiver accepts each [env {verdicts.DEPRECATIONS_ENV}]",
    )
    environment = parser.getgroup(
        "posthog-contract-environment",
        "posthog-contract settings read from the environment only (keys never go on a command line)",
    )
    environment.addoption(
        "--contract-env",
        action="store_true",
        default=False,
        dest="contract_env",
        help="print every setting with its value (keys only as [set]) and where it came from (flag, environment,"
        " config file, default), and exit; these are read from the environment only:\n"
        + settings_module.environment_help(),
    )


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if config.getoption("contract_env", default=False):
        return lifecycle.print_settings(config)
    return None


@pytest.hookimpl(trylast=True)  # after report.collect's configure: its collector is handed the session
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    try:
        lifecycle.refuse_parallel(config)  # before xdist starts a worker, so before any request
    except lifecycle.Misconfigured as exc:
        raise pytest.UsageError(f"posthog-contract: {exc}") from None
    session = ContractSession(verdicts=verdicts.Verdicts.from_config(config))
    session.verdicts.scrub = session.redactor.text
    session.verdicts.drift_significant = lambda: bool(session.drift is not None and session.drift.significant)
    session.verdicts.deprecation_records = lambda: session.ledger.deprecations.records if session.connected else []
    config.stash[lifecycle.SESSION] = session
    config.pluginmanager.register(session.verdicts, "posthog-contract-verdicts")
    config.pluginmanager.register(Scrubber(config, session.redactor), "posthog-contract-scrubbing")
    config.pluginmanager.register(Counts(lambda: lifecycle.chosen_operations(config)), "posthog-contract-counts")
    session.verdicts.refusal = lambda: session.refusal
    collector = config.pluginmanager.get_plugin("posthog-contract-report")  # report.collect's ReportCollector
    if collector is not None:
        collector.attach(session)
        session.verdicts.coverage = collector.coverage
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, lifecycle.raise_keyboard_interrupt)


def pytest_sessionstart(session: pytest.Session) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for clash in session.config.getoption("contract_option_clashes", default=()) or ():
        if reporter is not None:
            reporter.write_line(f"posthog-contract: {clash}", yellow=True)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[Any]:
    """A missing or unknown declaration makes its module a collection error naming it (marks.refuse_undeclared)."""
    report = yield
    if report.passed:
        marks.refuse_undeclared(report, [node for node in report.result if isinstance(node, pytest.Item)])
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(marks.is_contract_test(item) for item in items):  # before -k / --contract-operation deselect any
        try:
            lifecycle.check_settings(config)
        except lifecycle.Misconfigured as exc:
            raise pytest.UsageError(f"posthog-contract: {exc}") from None
    # --contract-operation: the property-based tests that judge none of the chosen operations are deselected
    drop = marks.not_chosen(items, lifecycle.chosen_operations(config))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]
    # hand-written checks keep priority on the request budget: the property-based part runs last
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("property_based") is not None)
    if not settings_module.is_read_only(config.getoption, os.environ):
        return
    skip = pytest.mark.skip(reason="read-only mode: this check creates or changes resources on the host")
    for item in items:
        if item.get_closest_marker("writes"):
            item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Settings, embedded server and preflight, once, before the first contract test."""
    config = session.config
    items = [item for item in session.items if marks.is_contract_test(item)]
    if not items or config.option.collectonly:
        return
    try:
        lifecycle.open_run(config, items)
    except lifecycle.Misconfigured as exc:
        # pytest prints a UsageError as one "ERROR: ..." line and exits 4, without a traceback
        raise pytest.UsageError(f"posthog-contract: {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    """Issue 24: once the host refused past the 429 wait budget, no further test starts. The run ends
    with the one sentence saying when the limit resets; the test that met it is a tool error, so the
    run exits 3 (1 if a violation was found before); cleanup still runs and, if it is throttled too,
    prints the ``cleanup`` command."""
    result = yield
    session = lifecycle.session_of(item.config)
    ledger = session.ledger
    if session.connected and ledger.stops_the_run and ledger.rate_limit_spent is not None:
        # pytest's "failed" (its summary is printed for it); the verdicts tell a tool error (3: the stop) from a
        # violation found before it (1)
        session.verdicts.stopped(ledger.rate_limit_spent)
        pytest.exit(f"posthog-contract: {ledger.rate_limit_spent}", returncode=pytest.ExitCode.TESTS_FAILED)
    return result


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    lifecycle.close_run(session.config)  # also after Ctrl-C / SIGTERM, if fixture teardown did not get there


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The verdict is the run's last word, after pytest's own line (issue 24)."""
    session = config.stash.get(lifecycle.SESSION, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if session is None or session.verdicts is None or reporter is None:
        return
    for text, colour in session.verdicts.closing_lines():
        reporter.write_line(text, **{colour: True, "bold": colour != "green"})


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = lifecycle.session_of(config)
    for line in session.summary_lines():  # a run refused at preflight ends with its one sentence, nothing more
        terminalreporter.write_line(f"posthog-contract: {line}")
    _deprecation_section(terminalreporter, session)
    if not session.log.entries:
        return
    terminalreporter.section("posthog-contract warnings and unavailable checks")
    for entry in session.log.entries:
        terminalreporter.write_line(session.redactor.text(f"{entry.kind.upper():12} {entry.test}: {entry.message}"))


def _deprecation_section(terminalreporter: Any, session: ContractSession) -> None:
    """The run's deprecation finding, its own section (contract §1.9): each deprecated operation, its sunset
    and successor, what the policy (``--deprecations``) and the waivers made of it."""
    records = session.ledger.deprecations.records if session.connected else []
    if not records:
        return
    verdicts_ = session.verdicts
    accepted = verdicts_.accepted_deprecations if verdicts_ is not None else {}
    policy = verdicts_.deprecations if verdicts_ is not None else "warn"
    terminalreporter.section("posthog-contract deprecations")
    passed = sum(bool(r.sunset_passed) for r in records)
    effect = ("--deprecations fail: a deprecation no waiver accepts fails the run" if policy == "fail"
              else "reported, never failing the run (--deprecations fail makes CI red on it)")
    terminalreporter.write_line(
        f"{len(records)} deprecated operation(s), {passed} past their sunset on this run's clock; {effect}")
    for record in records:
        waiver = accepted.get(record.key)
        line = f"DEPRECATED   {record.sentence()}" + (f" [accepted: {waiver}]" if waiver else "")
        terminalreporter.write_line(session.redactor.text(line), yellow=not waiver)
