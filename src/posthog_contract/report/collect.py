"""pytest plugin: the evidence of a run, the ``--report DIR`` files and the end-of-run summary.

Registered by ``posthog_contract.plugin`` (``pytest_plugins``). It watches, never steers:

- every request of the suite's client (``ContractClient.on_exchange``) and of the schemathesis
  session (a ``requests`` response hook), already redacted, to learn which operation each test
  hit, the statuses, parameters and fields each operation showed, and fields the contract does
  not document;
- every test report (``pytest_runtest_logreport``, schemathesis' per-operation subtests included),
  for outcomes, skip and unavailable reasons, and the redacted exchanges that prove a failure;
- the host's own OpenAPI document (drift), fetched once when ``--report`` or ``--drift-fail`` asks.

JUnit XML stays pytest's own ``--junitxml``; each test case gains two properties,
``contract_operations`` and ``contract_checks`` (operation ids and check kinds, never secrets).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from .. import config as settings_module
from .. import locations
from .. import operations as ops
from .. import outcomes as outcome_module
from ..outcomes import LOG, UNAVAILABLE_PREFIX
from ..policy import LEDGER
from ..redaction import Redactor
from . import drift as drift_module
from . import har as har_module
from . import junit, match, model, render_html
from . import waivers as waivers_module
from .shapes import contract_node, observe

__all__ = ["ReportCollector", "schema_drift"]

KEY = pytest.StashKey["ReportCollector"]()
_GROUP = ("posthog-contract", "PostHog API contract suite")
_KEY_VARIABLES = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_READONLY_API_KEY", "POSTHOG_PROJECT_API_KEY")
_MAX_MESSAGE = 6000
_MAX_EVIDENCE = 3
_EVIDENCE_BODY = 4000
_PROPERTY_OPERATIONS = "contract_operations"
_PROPERTY_CHECKS = "contract_checks"
_WAIVERS_ENV = "POSTHOG_CONTRACT_WAIVERS"
_PROVENANCE_PACKAGES = ("pytest", "schemathesis", "hypothesis", "jsonschema", "httpx", "requests")
#: set on a report whose violation a waiver accepted (its 1-based index in the file)
WAIVER_ATTRIBUTE = "posthog_contract_waiver"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(*_GROUP)
    group.addoption(
        "--report",
        dest="contract_report",
        metavar="DIR",
        default=None,
        help="write report.json and report.html (matrix, evidence, coverage, drift) into DIR",
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
        "--har",
        dest="contract_har",
        metavar="FILE",
        default=None,
        help="write every request and response of the run to FILE as HAR 1.2, redacted like the report",
    )
    group.addoption(
        "--waivers",
        dest="contract_waivers",
        metavar="FILE",
        default=None,
        help="TOML file of accepted deviations (rule or test, operation, reason, expiry): a failure a waiver "
        f"covers is 'accepted'; an expired or unmatched waiver fails the run [env {_WAIVERS_ENV}]",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "check(*kinds): the report matrix columns the test counts in (status, shape, pagination, parameters, "
        "auth, persistence, negative, generated, drift); default: derived from the test's name",
    )
    collector = ReportCollector(config)
    config.stash[KEY] = collector
    config.pluginmanager.register(collector, "posthog-contract-report")


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(KEY, None)
    if collector is not None and config.pluginmanager.is_registered(collector):
        config.pluginmanager.unregister(collector)


@pytest.fixture(scope="session")
def schema_drift(pytestconfig: pytest.Config, contract: Any) -> drift_module.DriftResult:
    """The host's /api/schema/ compared with the contract, fetched at most once per session."""
    collector = pytestconfig.stash.get(KEY, None)
    if collector is not None:
        collector.drift_test_ran = True
        if collector.drift is None:
            collector.run_drift(contract)
        assert collector.drift is not None
        return collector.drift
    return drift_module.check_host(contract.client)


@dataclass
class _Seen:
    """One recorded exchange of a test in flight: the phase, the operation, the evidence."""

    phase: str
    operation: str | None
    path_operation: str | None  # same path, any method: a 405 probe belongs with its path
    exchange: Any


@dataclass
class _Live:
    kinds: tuple[str, ...] = ()
    seen: list[_Seen] = field(default_factory=list)
    subtests: bool = False
    drift: bool = False  # the test judges the schema_drift fixture


class ReportCollector:
    """The plugin object; one per pytest session (in xdist workers it only annotates reports)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        chosen = _run_settings(config)  # --report, --har, --drift-fail, --waivers: flag > environment > config file
        directory = chosen["report"]
        self.report_dir: Path | None = Path(directory) if directory else None
        self.drift_fail: bool = bool(chosen["drift-fail"])
        self.worker = hasattr(config, "workerinput")
        self.tests: dict[str, model.TestRecord] = {}
        self.live: dict[str, _Live] = {}
        self.stats: dict[str, model.OperationStats] = defaultdict(model.OperationStats)
        self.current: str | None = None
        self.phase = "session"
        self.contract: Any = None
        self.seed: int | None = None
        self.drift: drift_module.DriftResult | None = None
        self.drift_test_ran = False
        self.notes: list[str] = []
        self.report: dict[str, Any] | None = None
        self.written: list[Path] = []
        self.started = datetime.now(UTC)
        self._clock = time.monotonic()
        self._env_redactor = Redactor(os.environ.get(name) for name in _KEY_VARIABLES)
        self._lock = threading.RLock()
        self.today = datetime.now(UTC).date()
        har_path = chosen["har"]
        self.har: har_module.HarArchive | None = None
        if har_path:  # an xdist worker writes its part next to FILE; the controller merges the parts
            worker = getattr(config, "workerinput", {}).get("workerid")
            self.har = har_module.HarArchive(Path(har_path), _version(), part=worker)
        self.waivers: waivers_module.WaiverFile | None = None
        waiver_path = chosen["waivers"]
        if waiver_path:
            try:
                self.waivers = waivers_module.load(waiver_path)
            except waivers_module.WaiverError as exc:
                raise pytest.UsageError(f"posthog-contract: {exc}") from None

    # -- redaction -------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """Every free text that reaches the report: the session's redactor, then the environment's keys."""
        if not text:
            return text
        if self.contract is not None:
            text = self.contract.redactor.text(text)
        return self._env_redactor.text(text)

    def scrub_url(self, url: str | None) -> str | None:
        if url is None:
            return None
        if self.contract is not None:
            url = self.contract.redactor.url(url)
        return self._env_redactor.url(url)

    # -- attaching to the session ----------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Any:
        result = yield
        try:
            if fixturedef.argname == "contract":
                self._attach(result)
            elif fixturedef.argname == "property_schema":
                self._attach_generated(request)
        except Exception as exc:  # noqa: BLE001 - the report must never break a run
            self.notes.append(f"report: could not attach to {fixturedef.argname}: {type(exc).__name__}")
        return result

    def _attach(self, session: Any) -> None:
        if self.contract is session:
            return
        self.contract = session
        client = session.client
        earlier = client.exchanges  # preflight's requests, before any test
        if self.report_dir is not None or self.drift_fail:
            self.run_drift(session)
        for exchange in earlier:
            self.on_exchange(exchange, record=False, label="(preflight)")
        previous = client.on_exchange

        def hook(exchange: Any) -> None:
            try:
                self.on_exchange(exchange)
            except Exception as exc:  # noqa: BLE001 - recording must never fail a request
                self.notes.append(f"report: could not record a request: {type(exc).__name__}")
            if previous is not None:
                previous(exchange)

        client.on_exchange = hook

    def _attach_generated(self, request: Any) -> None:
        run = request.getfixturevalue("property_run")
        self.seed = getattr(run, "seed", None)
        session = getattr(run, "session", None)
        hooks = getattr(session, "hooks", None)
        if isinstance(hooks, dict):
            hooks.setdefault("response", []).append(self._on_requests_response)
        self.notes.append(
            "schemathesis requests are counted for statuses, parameters and fields; their evidence is the "
            "failure message schemathesis gives"
        )

    def run_drift(self, session: Any) -> None:
        """Compare the host's /api/schema/ with the contract (its request stays out of the evidence)."""
        with self._lock:
            if self.drift is not None:
                return
            self.drift = drift_module.check_host(session.client)
            self.drift.detail = self.scrub(self.drift.detail)

    # -- requests --------------------------------------------------------------------------------

    def on_exchange(self, exchange: Any, *, record: bool = True, label: str | None = None) -> None:
        if self.har is not None:
            self.har.add(exchange, label or self.current)
        operation = match.operation_for(exchange.method, exchange.url)
        headers = {str(k).lower(): v for k, v in exchange.response_headers.items()}
        self._observe(
            operation, exchange.url, exchange.status, headers.get("content-type"), exchange.response_body, label
        )
        if not record or self.current is None:
            return
        by_path = operation or match.operation_for(exchange.method, exchange.url, any_method=True)
        with self._lock:
            live = self.live.setdefault(self.current, _Live())
            live.seen.append(
                _Seen(
                    self.phase,
                    operation.operation_id if operation else None,
                    by_path.operation_id if by_path else None,
                    exchange,
                )
            )

    def _on_requests_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        try:
            if self.har is not None and self.contract is not None:
                for hop in getattr(response, "history", None) or ():  # a redirect the session followed (§1.9)
                    self.har.add(har_module.from_requests(hop, self.contract.redactor), self.current)
                self.har.add(har_module.from_requests(response, self.contract.redactor), self.current)
            request = response.request
            operation = match.operation_for(request.method, request.url)
            self._observe(
                operation, request.url, response.status_code, response.headers.get("content-type"), response.content,
                self.current,
            )
        except Exception:  # noqa: BLE001 - observing must never change what schemathesis sees
            pass

    def _observe(
        self,
        operation: ops.Operation | None,
        url: str,
        status: int | None,
        ctype: str | None,
        body: Any,
        label: str | None = None,
    ) -> None:
        if operation is None:
            return
        with self._lock:
            stats = self.stats[operation.operation_id]
            stats.requests += 1
            if status is not None:
                stats.statuses[status] += 1
            stats.parameters.update(name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True))
            shapes = _shapes_for(operation, status)
            if not shapes or not body or "json" not in (ctype or "").lower():
                return
            try:
                instance = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                return  # truncated or not JSON: nothing to inventory
            seen: set[str] = set()
            undocumented: set[str] = set()
            observe(instance, [contract_node(shape) for shape in shapes], "", seen, undocumented)
            if status == operation.success_status:
                stats.fields_seen |= seen
            for path in undocumented:
                entry = stats.undocumented.setdefault((status or 0, path), [0, label or self.current or "(session)"])
                entry[0] += 1

    # -- test phases -----------------------------------------------------------------------------

    def _enter(self, item: pytest.Item, phase: str) -> None:
        self.current, self.phase = item.nodeid, phase
        with self._lock:
            live = self.live.setdefault(item.nodeid, _Live())
            if not live.kinds:
                marked = [str(arg) for mark in item.iter_markers("check") for arg in mark.args]
                live.drift = "schema_drift" in getattr(item, "fixturenames", ())
                live.kinds = ("drift",) if live.drift and not marked else match.check_kinds(item.nodeid, marked)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        self._enter(item, "setup")
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        self._enter(item, "call")
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: Any) -> Any:
        self._enter(item, "teardown")
        return (yield)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        self.current, self.phase = None, "session"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        annotate = self.contract is not None or self.report_dir is not None  # contract runs, not self-tests
        if annotate and call.when == "teardown" and not any(n == _PROPERTY_CHECKS for n, _ in item.user_properties):
            live = self.live.get(item.nodeid)
            record = self.tests.get(item.nodeid) or model.TestRecord(item.nodeid)
            if live is not None and not live.subtests:
                where = self._attribute(record, live)
                item.user_properties.append((_PROPERTY_OPERATIONS, " ".join(where.operations)))
                item.user_properties.append((_PROPERTY_CHECKS, " ".join(where.checks)))
        report = yield
        if report.failed and call.excinfo is not None:  # schemathesis' subtest reports are made here too
            violation = outcome_module.is_violation(call.excinfo.value)
            verdict = outcome_module.VIOLATION if violation else outcome_module.TOOL_ERROR
            setattr(report, outcome_module.VERDICT_ATTRIBUTE, verdict)
            if violation:
                self._plain_message(report, call.excinfo.value)
            if violation and self.waivers is not None and call.when in ("setup", "call"):
                self._waive(report, str(call.excinfo.value))
        return report

    def _plain_message(self, report: Any, exc: BaseException) -> None:
        """A schemathesis failure's headline (JUnit ``message``) in plain words, not a Python repr."""
        crash = getattr(report.longrepr, "reprcrash", None)
        plain = junit.plain_failure(exc)
        if crash is not None and plain is not None:
            with contextlib.suppress(AttributeError, TypeError):
                crash.message = self.scrub(plain)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        finally:
            try:
                junit.add_suite_properties(self.config, self._suite_properties())
            except Exception as exc:  # noqa: BLE001 - the JUnit file must never break a run
                self.notes.append(f"report: no JUnit suite properties: {type(exc).__name__}")

    def _suite_properties(self) -> dict[str, Any]:
        settings = getattr(self.contract, "settings", None)
        baseline = getattr(settings, "baseline", None) or self.config.getoption("posthog_baseline", default=None)
        return {
            "host": self.scrub_url(getattr(settings, "base_url", None)),
            "embedded": None if self.contract is None else str(bool(self.contract.embedded)).lower(),
            "run_id": getattr(settings, "run_id", None),
            "seed": self.seed if self.seed is not None else getattr(settings, "seed", None),
            "suite_version": _version(),
            "profile": getattr(settings, "profile", None),
            "baseline": baseline,
            "waivers": None if self.waivers is None else self.waivers.path,
        }

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        junit.name_the_suite(self.config)

    def _waive(self, report: Any, text: str) -> None:
        """A violation a waiver covers becomes an expected failure (pytest's xfail): exit 0, JUnit skipped."""
        assert self.waivers is not None
        live = self.live.get(self.current or "")
        operations = {s.operation or s.path_operation for s in live.seen} if live else set()
        generated = match.generated_operation(report.nodeid)
        if generated is not None:
            operations.add(generated.operation_id)
        waiver = self.waivers.match(report.nodeid, text, {o for o in operations if o}, self.today)
        if waiver is None:
            return
        report.outcome = "skipped"
        report.wasxfail = f"accepted deviation (waiver #{waiver.index}, until {waiver.expires}): {waiver.reason}"
        setattr(report, WAIVER_ATTRIBUTE, waiver.index)

    # -- outcomes --------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        try:
            self._logreport(report)
        except Exception as exc:  # noqa: BLE001 - a report bug must never end a run
            self.notes.append(f"report: could not record {report.nodeid} ({report.when}): {type(exc).__name__}")

    def _logreport(self, report: pytest.TestReport) -> None:
        if _is_subtest(report):
            self._subtest(report)
            return
        record = self.tests.setdefault(report.nodeid, model.TestRecord(report.nodeid))
        record.duration_s += report.duration
        if self.waivers is not None and report.when == "setup":
            self.waivers.saw(report.nodeid)
        if getattr(report, WAIVER_ATTRIBUTE, None) is not None:
            self._accepted(record, report)
            return
        if report.when == "setup":
            if report.failed:
                self._failed(record, report, _failure_outcome(report))
            elif report.skipped:
                self._skipped(record, report)
        elif report.when == "call":
            if hasattr(report, "wasxfail") and report.skipped:
                record.outcome, record.reason = "xfailed", self.scrub(str(report.wasxfail))
            elif report.failed:
                self._failed(record, report, _failure_outcome(report))
            elif report.skipped:
                self._skipped(record, report)
        else:
            if report.failed and record.outcome == "passed":
                self._failed(record, report, _failure_outcome(report))
            self._finish(record, report)

    def _accepted(self, record: model.TestRecord, report: pytest.TestReport) -> None:
        """A waived violation: the failure is kept (message, evidence), the outcome is ``accepted``."""
        self._failed(record, report, "accepted")
        record.waiver = self.scrub(str(report.wasxfail))
        index = getattr(report, WAIVER_ATTRIBUTE, 0)
        if self.waivers is not None and 0 < index <= len(self.waivers.waivers):  # xdist: matched in a worker
            matched = self.waivers.waivers[index - 1].matched
            if report.nodeid not in matched:
                matched.append(report.nodeid)

    def _skipped(self, record: model.TestRecord, report: pytest.TestReport) -> None:
        reason = ""
        if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if reason.startswith(UNAVAILABLE_PREFIX):
            record.outcome, reason = "unavailable", reason.removeprefix(UNAVAILABLE_PREFIX)
        else:
            record.outcome = "skipped"
        record.reason = self.scrub(reason)

    def _failed(self, record: model.TestRecord, report: pytest.TestReport, outcome: str) -> None:
        record.outcome = outcome
        if not _is_subtest(report):
            record.file, record.line = _failure_location(report)
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        text = str(getattr(crash, "message", "") or report.longreprtext or "")
        text = self.scrub(text)
        record.reason = _headline(text)
        record.message = _clip(text, _MAX_MESSAGE)
        live = self.live.get(report.nodeid)
        if live is not None:
            full = self.scrub(report.longreprtext or "") + "\n" + text
            record.evidence, record.failed_operation = self._evidence(live, full, report.when)

    def _evidence(self, live: _Live, failure_text: str, when: str) -> tuple[list[str], str | None]:
        """The exchanges a failure names (else the phase's last ones), and the operation it failed on."""
        seen = [s for s in live.seen if s.phase in ("setup", "call")]
        named = [s for s in seen if f"{s.exchange.method} {s.exchange.url}" in failure_text]
        chosen = named[-_MAX_EVIDENCE:] if named else [s for s in live.seen if s.phase == when][-2:]
        unique = list({id(s.exchange): s.exchange for s in chosen}.values())  # Exchange holds dicts: unhashable
        failed_on = (named[-1].operation or named[-1].path_operation) if named else None
        return [self.scrub(e.as_text(max_body=_EVIDENCE_BODY)) for e in unique], failed_on

    def _attribute(self, record: model.TestRecord, live: _Live) -> match.Attribution:
        if live.drift:
            return self._drift_attribution(record, live)
        call = [s.operation or s.path_operation for s in live.seen if s.phase == "call"]
        setup = [s.operation or s.path_operation for s in live.seen if s.phase == "setup"]
        return match.attribute(
            record.id,
            live.kinds,
            [o for o in call if o],
            [o for o in setup if o],
            outcome=record.outcome,
            failed_operation=record.failed_operation,
            failure_text=record.message,
        )

    def _drift_attribution(self, record: model.TestRecord, live: _Live) -> match.Attribution:
        """The drift test lands on the operations it compared; when it fails, on those that drifted."""
        result = self.drift
        if result is None or not result.compared:
            documented = tuple(op.operation_id for op in ops.documented_operations())
            return match.Attribution(documented, live.kinds, inferred=True)
        drifted = tuple(dict.fromkeys(o for f in result.significant for o in f.operations))
        failed = record.outcome in ("failed", "error")
        return match.Attribution(drifted if failed and drifted else tuple(result.operations_compared), live.kinds)

    def _finish(self, record: model.TestRecord, report: pytest.TestReport) -> None:
        with self._lock:
            live = self.live.pop(report.nodeid, None)
        if live is not None:
            record.container = live.subtests
            where = self._attribute(record, live)
            record.operations, record.checks = where.operations, where.checks
            record.inferred_operations, record.blocked = where.inferred, where.blocked
            return
        # no local observation (an xdist controller): the worker's annotations travel with the report
        properties = dict(report.user_properties)
        record.checks = tuple(str(properties.get(_PROPERTY_CHECKS, "")).split()) or match.check_kinds(report.nodeid)
        record.operations = tuple(str(properties.get(_PROPERTY_OPERATIONS, "")).split())

    def _subtest(self, report: pytest.TestReport) -> None:
        if self.current is not None:
            self.live.setdefault(self.current, _Live()).subtests = True
        operation = match.generated_operation(report.nodeid)
        record = self.tests.get(report.nodeid)
        if record is None:
            record = self.tests[report.nodeid] = model.TestRecord(report.nodeid, checks=("generated",))
            record.operations = (operation.operation_id,) if operation else ()
        record.duration_s += report.duration
        if self.waivers is not None:
            self.waivers.saw(report.nodeid)
        if getattr(report, WAIVER_ATTRIBUTE, None) is not None:
            self._accepted(record, report)
            record.evidence = []
        elif report.failed:
            self._failed(record, report, _failure_outcome(report))
            record.evidence = []  # schemathesis' message carries the curl line and the answer
        elif report.skipped and record.outcome == "passed":
            self._skipped(record, report)

    # -- the end of the run ----------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.worker:
            if self.har is not None:
                self.har.write()
            return
        drift = self.drift
        if (
            self.drift_fail
            and drift is not None
            and drift.significant
            and not self.drift_test_ran
            and session.exitstatus == pytest.ExitCode.OK
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            self.notes.append("--drift-fail: the host's /api/schema/ drifts significantly from the contract")
        session.exitstatus = self.exit_status(int(session.exitstatus))
        problems = self.waivers.problems(self.today) if self.waivers is not None else []
        self.notes.extend(f"waivers: {problem}" for problem in problems)
        if problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        try:
            self.report = self.build(int(session.exitstatus))
            if self.report_dir is not None:
                self.written = self.write(self.report_dir)

        except Exception as exc:  # noqa: BLE001 - report problems are reported, not raised
            self.notes.append(f"report not written: {type(exc).__name__}: {self.scrub(str(exc))}")
            self.report = None
        if self.har is not None:
            try:
                self.har.write()
            except OSError as exc:
                self.notes.append(f"report not written: the HAR archive {self.har.path}: {exc.strerror or exc}")

    def exit_status(self, status: int) -> int:
        """pytest's status, except that failures which are all tool errors exit EXIT_TOOL_ERROR.

        A violation outranks a tool error: a broken rule is a finding even when another test crashed
        (the summary counts both). Only contract runs are remapped, never the self-tests' own.
        """
        if status != pytest.ExitCode.TESTS_FAILED or (self.contract is None and self.report_dir is None):
            return status
        leaves = [t for t in self.tests.values() if not t.container]
        if any(t.outcome == "failed" for t in leaves) or any(n.startswith("--drift-fail") for n in self.notes):
            return status
        if any(t.outcome == "error" for t in leaves):
            return outcome_module.EXIT_TOOL_ERROR
        return status

    def build(self, exit_status: int) -> dict[str, Any]:
        outcomes = []
        for entry in LOG.entries:
            outcomes.append({
                "kind": entry.kind,
                "test": entry.test,
                "message": self.scrub(entry.message),
                **({"evidence": self.scrub(entry.evidence)} if entry.evidence else {}),
            })
            record = self.tests.get(entry.test)
            if record is not None and entry.kind == "warning":
                record.warnings.append(self.scrub(entry.message))
        finished = datetime.now(UTC)
        run = model.RunInfo(
            started_at=self.started.isoformat(timespec="seconds"),
            finished_at=finished.isoformat(timespec="seconds"),
            duration_s=time.monotonic() - self._clock,
            exit_status=exit_status,
            arguments=[self.scrub(str(arg)) for arg in self.config.invocation_params.args],
            generator=f"posthog-contract {_version()}",
            notes=list(dict.fromkeys(self.notes)),
        )
        self._describe_session(run)
        if self.waivers is not None:
            run.waivers = self.waivers.to_dict(self.today)
        run.provenance = self._provenance(run)
        tests = list(self.tests.values())
        return model.build(run, tests, self.stats, outcomes, self.drift.to_dict() if self.drift else None)

    def _describe_session(self, run: model.RunInfo) -> None:
        session = self.contract
        run.options = {
            "report": str(self.report_dir) if self.report_dir else None,
            "drift_fail": self.drift_fail,
            "reference_args": [self.scrub(str(a)) for a in _run_settings(self.config)["reference-args"]],
        }
        if session is None:
            run.notes.append("no contract session was opened (no test used the host)")
            return
        settings = session.settings
        run.run_id = settings.run_id
        run.seed = self.seed if self.seed is not None else settings.seed
        run.profile = settings.profile
        run.read_only = settings.read_only
        run.host_url = self.scrub_url(settings.base_url)
        run.embedded = bool(session.embedded)
        run.version = session.facts.version
        run.project_id = str(session.facts.project_id)
        run.host_notes = [self.scrub(note) for note in session.facts.notes]
        for name, value in ((f.name, getattr(settings, f.name)) for f in dataclasses.fields(settings)):
            if name.endswith("api_key"):
                run.options[name] = None if value is None else "[set]"
            elif name in ("base_url", "capture_url"):
                run.options[name] = self.scrub_url(value)
            elif isinstance(value, str):
                run.options[name] = self.scrub(value)
            elif value is None or isinstance(value, bool | int | float):
                run.options[name] = value
        run.cost = LEDGER.as_dict()
        waited = getattr(session.client, "slept_on_429", 0.0)
        if waited:
            retries = session.client.retries_on_429
            run.notes.append(f"the client waited {waited:.0f} s on 429 answers ({retries} retries)")

    def _provenance(self, run: model.RunInfo) -> dict[str, Any]:
        """What produced this report, so ``diff`` can refuse to compare unlike runs."""
        settings = getattr(self.contract, "settings", None)
        baseline = getattr(settings, "baseline", None) or self.config.getoption("posthog_baseline", default=None)
        return {
            "suite_version": _version(),
            "python": platform.python_version(),
            "packages": {name: _version(name) for name in _PROVENANCE_PACKAGES},
            "profile": run.profile,
            "seed": run.seed,
            "read_only": run.read_only,
            "embedded": run.embedded,
            "reference_args": list(run.options.get("reference_args") or []),
            "baseline": baseline,  # the release month judged against (--posthog-baseline); None: current
            "waivers": None if self.waivers is None else {"file": self.waivers.path, "sha256": self.waivers.sha256},
        }

    def write(self, directory: Path) -> list[Path]:
        assert self.report is not None
        directory.mkdir(parents=True, exist_ok=True)
        json_path, html_path = directory / "report.json", directory / "report.html"
        model.write_json(self.report, json_path)
        html_path.write_text(render_html.render(self.report), encoding="utf-8")
        return [html_path, json_path]

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.worker or (self.contract is None and self.report_dir is None):
            return
        terminalreporter.section("posthog-contract report")
        if self.report is None:
            for note in self.notes:
                terminalreporter.write_line(note)
            return
        for label, value in summary_rows(self.report, self.written, self.report_dir):
            terminalreporter.write_line(f"{label:20} {value}")
        if self.har is not None:
            terminalreporter.write_line(f"{'traffic archive':20} {self.har.path} ({len(self.har.entries)} exchanges)")
        terminalreporter.write_line(applicable_line(self.report["summary"]["applicable_cells"]))
        for test in self.report["tests"]:
            if test["outcome"] == "accepted":
                terminalreporter.write_line(f"accepted: {test['id']}: {test.get('waiver', '')}")


def _run_settings(config: pytest.Config) -> dict[str, Any]:
    """The report's settings; a config file counts only for runs that select the suite."""
    use_file = locations.selects_suite(config.args, config.invocation_params.dir)
    try:
        return settings_module.run_settings(lambda name: config.getoption(name, default=None), os.environ,
                                            use_file=use_file)
    except settings_module.ConfigError as exc:
        raise pytest.UsageError(f"posthog-contract: {exc}") from None


def summary_rows(report: dict[str, Any], written: list[Path], report_dir: Path | None) -> list[tuple[str, str]]:
    """The end-of-run table: operations covered, checks, tests, drift, where the report is."""
    summary = report["summary"]
    operations, checks, tests = summary["operations"], summary["checks"], summary["tests"]
    rows = [
        (
            "operations covered",
            f"{operations['exercised']} of {operations['total']} "
            f"(documented: {operations['documented_exercised']} of {operations['documented_total']})",
        ),
        (
            "checks",
            f"{checks['pass']} passed, {checks['fail']} failed, {checks['error']} tool errors, "
            f"{checks['accepted']} accepted, {checks['warning']} warned, {checks['unavailable']} unavailable "
            "(operation × check cells)",
        ),
        (
            "tests",
            f"{tests['passed']} passed, {tests['failed']} failed (violations), {tests['error']} tool errors, "
            f"{tests['skipped']} skipped, {tests['unavailable']} unavailable, {summary['warnings']} warnings",
        ),
    ]
    if tests["error"]:
        rows.append(("tool errors", f"{tests['error']}: the tool failed there; the host was not judged"))
    if tests["accepted"] or report.get("waivers"):
        entries = (report.get("waivers") or {}).get("entries", [])
        problems = sum(e["status"] in ("expired", "unmatched") for e in entries)
        rows.append(("accepted", f"{tests['accepted']} failures accepted by {len(entries)} waiver(s)"
                     + (f"; {problems} waiver problem(s), see below" if problems else "")))
    drift = summary.get("drift")
    if drift is not None:
        text = (
            f"{drift['significant']} significant, {drift['info']} info"
            if drift["status"] == "compared"
            else f"not compared ({report['drift'].get('detail') or drift['status']})"
        )
        rows.append(("schema drift", text))
    if summary["undocumented_fields"]:
        rows.append(("undocumented fields", f"{summary['undocumented_fields']} (info, see the report)"))
    if written:
        rows.append(("report", " and ".join(str(p) for p in written)))
    else:
        rows.append(("report", "not written (give --report DIR)" if report_dir is None else "not written"))
    for note in report.get("notes", []):
        if note.startswith(("report not written", "--drift-fail", "waivers:")):
            rows.append(("note", note))
    return rows


def applicable_line(cells: dict[str, int]) -> str:
    """``applicable cells checked: N/M``, with what the unchecked ones were."""
    rest = [f"{cells[k]} {label}" for k, label in
            (("error", "tool errors"), ("unavailable", "unavailable"), ("not_checked", "not checked")) if cells[k]]
    tail = f" ({', '.join(rest)})" if rest else ""
    return f"applicable cells checked: {cells['checked']}/{cells['total']}{tail} (documented operations)"


def _shapes_for(operation: ops.Operation, status: int | None) -> list[str]:
    if status == operation.success_status:
        return [operation.success_shape] if operation.success_shape else []
    if status in operation.error_statuses:
        return [operation.error_shape, *operation.error_alternatives.get(status, ())]
    return []


def _failure_location(report: Any) -> tuple[str | None, int | None]:
    """The test's file (as its id names it) and the 1-based line of the failure: the deepest traceback
    entry in that file (the test's own call of the failing check), else the test's ``def`` line."""
    location = getattr(report, "location", None)
    if not location or not location[0]:
        return None, None
    file = str(location[0]).replace(os.sep, "/")
    line = location[1] + 1 if isinstance(location[1], int) else None
    entries = getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", None) or []
    for entry in reversed(entries):
        where = getattr(entry, "reprfileloc", None)
        if where is not None and str(where.path).replace(os.sep, "/").endswith(file) and where.lineno:
            return file, int(where.lineno)
    return file, line


def _failure_outcome(report: Any) -> str:
    """``error`` when the collector classified the failure as the tool's own, else ``failed``."""
    return "error" if outcome_module.verdict_of(report) == outcome_module.TOOL_ERROR else "failed"


def _is_subtest(report: Any) -> bool:
    return type(report).__name__ == "SubtestReport" or hasattr(report, "_schemathesis_subtest")


def _headline(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if "Contract rule broken:" in line:
            return line.split("Contract rule broken:", 1)[1].strip()
        if line:
            return _clip(line, 300)
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def _version(package: str = "posthog-contract") -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _file_digest(path: Any) -> dict[str, Any] | None:
    """``{"file", "sha256"}`` of a file option (sha256 None when it cannot be read), None when unset."""
    if not path:
        return None
    try:
        digest: str | None = hashlib.sha256(Path(str(path)).read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"file": str(path), "sha256": digest}
