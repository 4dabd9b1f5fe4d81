"""pytest plugin: the evidence of a run, the ``--report DIR`` files and the end-of-run summary.

Registered by ``posthog_contract.plugin`` (``pytest_plugins``), which hands it the run's session
(`ReportCollector.attach`). It watches, never steers: what a failure is (violation, tool error,
accepted) and the exit status are decided in ``posthog_contract.verdicts``, the host's drift is
compared by the session; this module reads both. It watches:

- every request of the run's client and of the schemathesis session (the session's observers),
  already redacted, to learn which operation each test
  hit, the statuses, parameters and fields each operation showed, and fields the contract does
  not document;
- every test report (``pytest_runtest_logreport``, schemathesis' per-operation subtests included),
  for outcomes, skip and unavailable reasons, and the redacted exchanges that prove a failure;
- every test's declarations (its ``operations`` and ``check`` marks, `posthog_contract.marks`): where
  it lands in the matrix, whatever its outcome (a skipped or unavailable test lands there too);
- the verdicts (``posthog_contract.verdicts``) and the drift the run found, at the end of the run.

JUnit XML stays pytest's own ``--junitxml``; each test case gains two properties,
``contract_operations`` and ``contract_checks`` (the declared operation ids and check kinds).
"""

from __future__ import annotations

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
from .. import locations, marks
from .. import operations as ops
from .. import outcomes as outcome_module
from ..outcomes import UNAVAILABLE_PREFIX
from ..redaction import Redactor
from . import deprecations as deprecations_module
from . import drift as drift_module
from . import har as har_module
from . import junit, match, model, render_html
from .shapes import contract_node, observe

__all__ = ["ReportCollector"]

KEY = pytest.StashKey["ReportCollector"]()
_GROUP = ("posthog-contract", "PostHog API contract suite")
_KEY_VARIABLES = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_READONLY_API_KEY", "POSTHOG_PROJECT_API_KEY")
_MAX_MESSAGE = 6000
_MAX_EVIDENCE = 3
_EVIDENCE_BODY = 4000
_PROPERTY_OPERATIONS = "contract_operations"
_PROPERTY_CHECKS = "contract_checks"
_PROVENANCE_PACKAGES = ("pytest", "schemathesis", "hypothesis", "jsonschema", "httpx", "requests")


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
        "--har",
        dest="contract_har",
        metavar="FILE",
        default=None,
        help="write every request and response of the run to FILE as HAR 1.2, redacted like the report",
    )


def pytest_configure(config: pytest.Config) -> None:
    collector = ReportCollector(config)
    config.stash[KEY] = collector
    config.pluginmanager.register(collector, "posthog-contract-report")


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(KEY, None)
    if collector is not None and config.pluginmanager.is_registered(collector):
        config.pluginmanager.unregister(collector)


@dataclass
class _Seen:
    """One recorded exchange of a test in flight: the phase, the operation, the evidence."""

    phase: str
    operation: str | None
    exchange: Any


@dataclass
class _Live:
    declared: marks.Declared = field(default_factory=marks.Declared)
    seen: list[_Seen] = field(default_factory=list)
    subtests: bool = False


class ReportCollector:
    """The plugin object; one per pytest session (a run is one process: lifecycle.refuse_parallel)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        chosen = _run_settings(config)  # --report, --har, --drift-fail, --waivers: flag > environment > config file
        directory = chosen["report"]
        self.report_dir: Path | None = Path(directory) if directory else None
        self.drift_fail: bool = bool(chosen["drift-fail"])  # the report names it; verdicts.py applies it
        self.tests: dict[str, model.TestRecord] = {}
        self.live: dict[str, _Live] = {}
        self.stats: dict[str, model.OperationStats] = defaultdict(model.OperationStats)
        self.current: str | None = None
        self.phase = "session"
        self.session: Any = None  # the run's ContractSession, handed over by the plugin (attach)
        self.notes: list[str] = []
        self.report: dict[str, Any] | None = None
        self.written: list[Path] = []
        self.started = datetime.now(UTC)
        self._clock = time.monotonic()
        self._env_redactor = Redactor(os.environ.get(name) for name in _KEY_VARIABLES)
        self._lock = threading.RLock()
        har_path = chosen["har"]
        self.har: har_module.HarArchive | None = None
        if har_path:
            self.har = har_module.HarArchive(Path(har_path), _version())

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

    def attach(self, session: Any) -> None:
        """Watch ``session``'s traffic: every exchange of its clients, every answer of its requests sessions."""
        self.session = session
        session.exchange_observers.append(self._exchanged)
        session.response_observers.append(self._on_requests_response)

    @property
    def contract(self) -> Any:
        """The run's session once it reached the host (None: no contract test used the host)."""
        return self.session if self.session is not None and self.session.connected else None

    @property
    def seed(self) -> int | None:
        """The property-based part's seed in use, else the configured one."""
        if self.session is None or not self.session.started:
            return None
        return self.session.seed if self.session.seed is not None else self.session.settings.seed

    def _exchanged(self, exchange: Any) -> None:
        try:
            connected = self.session is not None and self.session.connected
            self.on_exchange(exchange, record=connected, label=None if connected else "(preflight)")
        except Exception as exc:  # noqa: BLE001 - recording must never fail a request
            self.notes.append(f"report: could not record a request: {type(exc).__name__}")

    def report_notes(self) -> list[str]:
        """The report's own notes, then the verdicts' (drift-fail, waiver problems), once each."""
        return list(dict.fromkeys([*self.notes, *(self.verdicts.notes if self.verdicts else [])]))

    @property
    def verdicts(self) -> Any:
        """The run's verdicts (``posthog_contract.verdicts``), when the project's plugin decides them."""
        return None if self.session is None else self.session.verdicts

    @property
    def waivers(self) -> Any:
        return None if self.verdicts is None else self.verdicts.waivers

    @property
    def drift(self) -> drift_module.DriftResult | None:
        """The host's drift as the run found it (compared by the session, never fetched here)."""
        return None if self.session is None else self.session.drift

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
        with self._lock:
            live = self.live.setdefault(self.current, _Live())
            live.seen.append(_Seen(self.phase, operation.operation_id if operation else None, exchange))

    def _on_requests_response(self, request: Any, response: Any, note: str = "") -> None:
        """One exchange of the schemathesis session (each attempt: its policy adapter reports them all)."""
        text = ("schemathesis requests are counted for statuses, parameters and fields; their evidence is the "
                "failure message schemathesis gives")
        if text not in self.notes:
            self.notes.append(text)
        try:
            if self.har is not None and self.contract is not None:
                self.har.add(har_module.from_requests(request, response, self.contract.redactor, note), self.current)
            if response is None:
                return
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
        seeded = self._seeded()
        with self._lock:
            stats = self.stats[operation.operation_id]
            stats.requests += 1
            if status is not None:
                stats.statuses[status] += 1
                if not seeded:
                    stats.fixed_statuses.add(status)
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
                if not seeded:
                    stats.fixed_fields |= seen
            for path in undocumented:
                entry = stats.undocumented.setdefault((status or 0, path), [0, label or self.current or "(session)"])
                entry[0] += 1

    def _seeded(self) -> bool:
        """Is the test in flight a generated check (its requests depend on the seed: ``diff`` sets them apart)?"""
        live = self.live.get(self.current) if self.current is not None else None
        return live is not None and "generated" in live.declared.checks

    # -- test phases -----------------------------------------------------------------------------

    def _enter(self, item: pytest.Item, phase: str) -> None:
        self.current, self.phase = item.nodeid, phase
        with self._lock:
            self.live.setdefault(item.nodeid, _Live(marks.declared(item)))

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
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        finally:
            try:
                junit.add_suite_properties(self.config, self._suite_properties())
                junit.add_deprecations(self.config, self._deprecation_sentences())
            except Exception as exc:  # noqa: BLE001 - the JUnit file must never break a run
                self.notes.append(f"report: no JUnit suite properties: {type(exc).__name__}")

    def _suite_properties(self) -> dict[str, Any]:
        settings = getattr(self.contract, "settings", None)
        baseline = getattr(settings, "baseline", None) or self.config.getoption("posthog_baseline", default=None)
        return {
            "host": self.scrub_url(getattr(settings, "base_url", None)),
            "embedded": None if self.contract is None else str(bool(self.contract.embedded)).lower(),
            "run_id": getattr(settings, "run_id", None),
            "seed": self.seed,
            "suite_version": _version(),
            "profile": getattr(settings, "profile", None),
            "baseline": baseline,
            "waivers": None if self.waivers is None else self.waivers.path,
        }

    def _deprecation_records(self) -> list[Any]:
        return self.contract.ledger.deprecations.records if self.contract is not None else []

    def _deprecation_sentences(self) -> list[str]:
        """Each deprecation the host announced, in words (JUnit's suite properties)."""
        return [self.scrub(record.sentence()) for record in self._deprecation_records()]

    def _deprecations(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The run's deprecation finding (report.json's ``deprecations`` and ``summary.deprecations``)."""
        verdicts = self.verdicts
        policy = getattr(verdicts, "deprecations", None) or _run_settings(self.config)["deprecations"]
        accepted = getattr(verdicts, "accepted_deprecations", {}) or {}
        return deprecations_module.build(self._deprecation_records(), scrub=self.scrub,
                                         scrub_url=lambda url: self.scrub_url(url) or "", accepted=accepted,
                                         policy=policy)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        junit.name_the_suite(self.config)

    # -- outcomes --------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        try:
            self._logreport(report)
        except Exception as exc:  # noqa: BLE001 - a report bug must never end a run
            self.notes.append(f"report: could not record {report.nodeid} ({report.when}): {type(exc).__name__}")

    def _logreport(self, report: pytest.TestReport) -> None:
        if outcome_module.is_subtest(report):
            self._subtest(report)
            return
        record = self.tests.setdefault(report.nodeid, model.TestRecord(report.nodeid))
        record.duration_s += report.duration
        if outcome_module.waiver_of(report) is not None:
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
        if not outcome_module.is_subtest(report):
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
        failed_on = named[-1].operation if named else None  # a probe of an undeclared method blocks nothing
        return [self.scrub(e.as_text(max_body=_EVIDENCE_BODY)) for e in unique], failed_on

    def _attribute(self, record: model.TestRecord, live: _Live) -> match.Attribution:
        declared = live.declared
        if "drift" in declared.checks and self.drift is not None and self.drift.compared:
            return self._drift_attribution(record, declared, self.drift)
        return match.attribute(
            declared, outcome=record.outcome, failed_operation=record.failed_operation, failure_text=record.message
        )

    @staticmethod
    def _drift_attribution(
        record: model.TestRecord, declared: marks.Declared, result: drift_module.DriftResult
    ) -> match.Attribution:
        """A drift check lands on the declared operations the host's document described (the others were not
        compared); when it fails, on those that drifted."""
        drifted = tuple(dict.fromkeys(o for f in result.significant for o in f.operations))
        compared = tuple(o for o in declared.operations if o in result.operations_compared)
        failed = record.outcome in ("failed", "error")
        return match.Attribution(drifted if failed and drifted else compared, declared.checks)

    def _finish(self, record: model.TestRecord, report: pytest.TestReport) -> None:
        with self._lock:
            live = self.live.pop(report.nodeid, None)
        if live is not None:
            record.container = live.subtests and record.outcome == "passed"  # counted as its subtests (counting)
            where = self._attribute(record, live)
            record.operations, record.checks, record.blocked = where.operations, where.checks, where.blocked
            record.declared_operations = live.declared.operations
            return
        # never observed (the test never reached its setup): the annotations made at teardown, if any
        properties = dict(report.user_properties)
        record.checks = tuple(str(properties.get(_PROPERTY_CHECKS, "")).split())
        record.operations = tuple(str(properties.get(_PROPERTY_OPERATIONS, "")).split())

    def _subtest(self, report: pytest.TestReport) -> None:
        """One operation of a schemathesis test: it lands on that operation, with its test's declared checks."""
        container = self.live.setdefault(self.current, _Live()) if self.current is not None else _Live()
        container.subtests = True
        operation = match.generated_operation(report.nodeid)
        record = self.tests.get(report.nodeid)
        if record is None:
            record = self.tests[report.nodeid] = model.TestRecord(report.nodeid, checks=container.declared.checks)
            record.operations = (operation.operation_id,) if operation else ()
            record.declared_operations = record.operations
        record.duration_s += report.duration
        if outcome_module.waiver_of(report) is not None:
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

    def build(self, exit_status: int) -> dict[str, Any]:
        outcomes = []
        for entry in self.session.log.entries if self.session is not None else []:
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
            notes=self.report_notes(),
        )
        self._describe_session(run)
        if self.verdicts is not None:
            run.verdict, run.verdict_text = self.verdicts.verdict(exit_status)
            run.min_coverage = self.verdicts.min_coverage
        if self.waivers is not None:
            run.waivers = self.waivers.to_dict(self.verdicts.today)
        run.provenance = self._provenance(run)
        tests = list(self.tests.values())
        with self._lock:
            unfinished = set(self.live)
        for record in tests:  # its call never reported (Ctrl-C, SIGTERM, a stop): not a pass, not judged
            if record.id in unfinished and record.outcome == "passed" and not record.container:
                record.outcome, record.reason = "interrupted", "the run stopped before this test finished"
        drift = self.drift.to_dict() if self.drift else None
        if drift is not None:
            drift["detail"] = self.scrub(drift.get("detail") or "")
        report = model.build(run, tests, self.stats, outcomes, drift)
        report["deprecations"], report["summary"]["deprecations"] = self._deprecations()
        return report

    def coverage(self) -> dict[str, Any] | None:
        """The run's coverage as the report will count it (report.model.coverage); None before the host was reached.
        The verdicts read it to decide --min-coverage before the report is built."""
        if self.contract is None:
            return None
        run = model.RunInfo(read_only=self.contract.settings.read_only)
        minimum = None if self.verdicts is None else self.verdicts.min_coverage
        return model.coverage(model.matrix(run, list(self.tests.values()), self.stats), minimum)

    def _describe_session(self, run: model.RunInfo) -> None:
        session = self.contract
        run.options = {
            "report": str(self.report_dir) if self.report_dir else None,
            "drift_fail": self.drift_fail,
            "reference_args": [self.scrub(str(a)) for a in _run_settings(self.config)["reference-args"]],
        }
        started = self.session is not None and self.session.started
        if started:  # the host and the run, also when preflight refused the host
            settings = self.session.settings
            run.run_id = settings.run_id
            run.seed = self.seed
            run.profile = settings.profile
            run.read_only = settings.read_only
            run.host_url = self.scrub_url(settings.base_url)
            run.embedded = bool(self.session.embedded)
        refusal = getattr(self.session, "refusal", None)
        if refusal:
            run.notes.append(self.scrub(f"preflight refused the host: {refusal}"))
        if session is None:
            if not started:
                run.notes.append("no contract session was opened (no test used the host)")
            return
        settings = session.settings
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
        run.options["seed"] = run.seed  # the seed in use, as the header shows it (the settings' may be unset)
        run.cost = session.ledger.as_dict()
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
        if self.contract is None and self.report_dir is None:
            return
        terminalreporter.section("posthog-contract report")
        if self.report is None:
            for note in self.report_notes():
                terminalreporter.write_line(note)
            return
        for label, value in summary_rows(self.report, self.written, self.report_dir):
            terminalreporter.write_line(f"{label:20} {value}")
        if self.har is not None:
            terminalreporter.write_line(f"{'traffic archive':20} {self.har.path} ({len(self.har.entries)} exchanges)")
        terminalreporter.write_line(applicable_line(self.report["summary"]["applicable_cells"]))
        for line in coverage_lines(self.report["summary"]["coverage"]):
            terminalreporter.write_line(line)
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
            f"{tests['skipped']} skipped, {tests['unavailable']} unavailable, {summary['warnings']} warnings"
            + (f", {tests['interrupted']} interrupted" if tests.get("interrupted") else "")
            + f"; {tests['total']} in all",
        ),
        ("counted as", summary.get("counting") or ""),
    ]
    if tests["error"]:
        rows.append(("tool errors", f"{tests['error']}: the tool failed there; the host was not judged"))
    if tests["accepted"] or report.get("waivers"):
        entries = (report.get("waivers") or {}).get("entries", [])
        problems = sum(e["status"] in ("expired", "unmatched") for e in entries)
        rows.append(("accepted", f"{tests['accepted']} failures accepted by {len(entries)} waiver(s)"
                     + (f"; {problems} waiver problem(s): the run's last line" if problems else "")))
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
    deprecated = deprecations_module.headline(report)
    if deprecated:
        rows.append(("deprecations", deprecated))
    if written:
        rows.append(("report", " and ".join(str(p) for p in written)))
    else:
        rows.append(("report", "not written (give --report DIR)" if report_dir is None else "not written"))
    for note in report.get("notes", []):  # the drift and waiver problems fail the run: its last line says them
        if note.startswith("report not written"):
            rows.append(("note", note))
    return rows


def applicable_line(cells: dict[str, int]) -> str:
    """``applicable cells checked: N/M``, with what the unchecked ones were."""
    rest = [f"{cells[k]} {label}" for k, label in
            (("error", "tool errors"), ("unavailable", "unavailable"), ("not_checked", "not checked")) if cells[k]]
    tail = f" ({', '.join(rest)})" if rest else ""
    return f"applicable cells checked: {cells['checked']}/{cells['total']}{tail} (documented operations)"


#: cells not judged the terminal lists (the report lists them all)
_MAX_NOT_JUDGED = 12


def coverage_lines(coverage: dict[str, Any]) -> list[str]:
    """Coverage as part of the verdict: ``complete``, or ``INCOMPLETE`` with each cell not judged and why."""
    if coverage["status"] == "complete":
        return [f"{'coverage':20} complete: every applicable cell of the documented operations was judged"]
    minimum = "" if coverage["minimum"] is None else (
        f"; --min-coverage {coverage['minimum']:g} % {'met' if coverage['met'] else 'NOT met (exit 6)'}")
    missing = coverage["not_judged"]
    lines = [f"{'coverage':20} INCOMPLETE: {coverage['checked']} of {coverage['total']} applicable cells judged "
             f"({coverage['percent']:g} %){minimum}; not judged:"]
    lines += [f"  {cell['cell']}: {cell['outcome'].replace('_', ' ')}: {_clip('; '.join(cell['reasons']), 240)}"
              for cell in missing[:_MAX_NOT_JUDGED]]
    if len(missing) > _MAX_NOT_JUDGED:
        lines.append(f"  … {len(missing) - _MAX_NOT_JUDGED} more (report.json summary.coverage, report.html)")
    return lines


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
    """``error`` when the verdict is the tool's own failure, else ``failed``."""
    return "error" if outcome_module.verdict_of(report) == outcome_module.TOOL_ERROR else "failed"


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
