"""pytest glue only: options, session fixtures, markers, session start and finish.

Expensive things are session-scoped (settings, client, the embedded server). They are set up once
collection shows that contract tests will run (``pytest_collection_finish``), so a misconfiguration
ends the run before any test with one sentence and exit code 4 (never a traceback), and runs that
collect no contract test (the self-tests) start no server.

Safety on a real host: everything the run creates is undone at session end, after failures, on
Ctrl-C and on SIGTERM (a second signal during that cleanup abandons it at once, a first one after
a short grace period); in read-only mode the client refuses anything but GET/HEAD/OPTIONS; every
report, log record and traceback the run produces is scrubbed of the configured keys; once the
host refuses past the 429 wait budget, the run stops (the key's rate limit is spent).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import pytest

from . import assertions, embedded
from . import config as settings_module
from . import contract as contract_schemas
from .client import ContractClient
from .outcomes import (
    EXIT_MISCONFIGURED,
    EXIT_TOOL_ERROR,
    LOG,
    TOOL_ERROR,
    UNAVAILABLE_PREFIX,
    VIOLATION,
    verdict_of,
)
from .paths import ApiPaths
from .policy import LEDGER
from .preflight import HostFacts, preflight
from .redaction import Redactor
from .resources import RunResources

pytest_plugins = ["posthog_contract.report.collect"]  # evidence, --report DIR, schema drift


@dataclass
class ContractSession:
    """Everything a contract test may use: settings, the one client, paths, the run's resources."""

    settings: settings_module.Settings
    facts: HostFacts
    redactor: Redactor
    client: ContractClient
    paths: ApiPaths
    resources: RunResources
    server: embedded.EmbeddedServer | None = None
    embedded_credentials: dict[str, Any] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.server is not None


_SESSION: ContractSession | None = None

#: scrubs every report, log record and summary line of the run; the session's client shares it, so
#: keys it learns later (the embedded server's, a discovered project key) are scrubbed too
_REDACTOR = Redactor()
_KEY_VARIABLES = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_READONLY_API_KEY", "POSTHOG_PROJECT_API_KEY")
_CONFIG: pytest.Config | None = None
#: option names another plugin already owned (config.add_options); printed once at session start
_OPTION_CLASHES: list[str] = []
_RUN_STARTED = False  # preflight passed: the run's cost is worth printing
_RUN_NOTES: list[str] = []  # run-wide facts for the terminal summary (429 waits), kept past the session
#: fixtures whose tests list events, so they need the key's query:read scope (preflight probes it)
_EVENT_FIXTURES = frozenset({"seeded_events", "property_run"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("posthog-contract", "PostHog API contract suite")
    _OPTION_CLASHES[:] = settings_module.add_options(group)
    group.addoption(
        "--reference-arg",
        action="append",
        default=[],
        dest="reference_args",
        metavar="ARG",
        help="extra argument for the embedded reference server, e.g. --reference-arg=--latency-ms=150",
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
        return _print_settings(config)
    return None


def _print_settings(config: pytest.Config) -> int:
    """``--contract-env``: each setting with its value and source; a misconfiguration as its one sentence (exit 4)."""
    get = lambda name: config.getoption(name, default=None)  # noqa: E731
    try:
        for line in settings_module.describe(get, os.environ):
            print(line)
        settings_module.settings_from(get, os.environ)
    except settings_module.ConfigError as exc:
        print(f"ERROR: posthog-contract: {exc}")
        return EXIT_MISCONFIGURED
    return 0


#: the suite's markers, registered here so that an installed wheel (no pyproject.toml) knows them too
MARKERS = (
    "writes: the test creates or changes resources on the host (deselected by --read-only)",
    "slow: takes more than a few seconds",
    "needs_collaborator: needs a second organisation member to add as a dashboard collaborator",
    "reference_only: checks a value only the reference server pins (e.g. exact limits)",
    "operations(*operation_ids): the catalogue operations (posthog_contract.operations) the test judges",
    "property_based: property-based (schemathesis, Hypothesis): runs after the hand-written checks, so the"
    " request budget cuts it first",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    LOG.entries.clear()
    _RUN_NOTES.clear()
    global _CONFIG, _RUN_STARTED
    _RUN_STARTED = False
    _CONFIG = config
    _REDACTOR.add(*(os.environ.get(name, "").strip() for name in _KEY_VARIABLES))
    # SIGTERM takes the same path as Ctrl-C: pytest finishes the session, fixtures clean up
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_sessionstart(session: pytest.Session) -> None:
    _install_log_redaction(session.config)  # the logging plugin's handlers exist from now on
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for clash in _OPTION_CLASHES:
        if reporter is not None:
            reporter.write_line(f"posthog-contract: {clash}", yellow=True)


def is_contract_item(item: pytest.Item) -> bool:
    """A contract test: it uses the ``contract`` fixture (every host-facing fixture depends on it)."""
    return "contract" in getattr(item, "fixturenames", ())


def pytest_collection_finish(session: pytest.Session) -> None:
    """Settings, embedded server and preflight, once, before the first contract test."""
    global _SESSION
    config = session.config
    items = [item for item in session.items if is_contract_item(item)]
    if _SESSION is not None or not items or config.option.collectonly:
        return
    needs_events = any(_EVENT_FIXTURES.intersection(item.fixturenames) for item in items)
    try:
        _SESSION = _open_session(config, needs_events=needs_events)
    except _Misconfigured as exc:
        # pytest prints a UsageError as one "ERROR: ..." line and exits 4, without a traceback
        raise pytest.UsageError(f"posthog-contract: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any(is_contract_item(item) for item in items):  # before -k / --contract-operation deselect any
        _check_settings(config)
    _deselect_unchosen_property_based(config, items)
    # hand-written checks keep priority on the request budget: the property-based part runs last
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("property_based") is not None)
    read_only = settings_module.is_read_only(config.getoption, os.environ)
    if not read_only:
        return
    skip = pytest.mark.skip(reason="read-only mode: this check creates or changes resources on the host")
    for item in items:
        if item.get_closest_marker("writes"):
            item.add_marker(skip)


#: property-based test function -> does it run for the chosen operations (their methods, their ids)?
_GENERATED_FUNCTIONS: dict[str, Callable[[set[str], set[str]], bool]] = {
    "test_read_operations_conform": lambda methods, ids: "GET" in methods,
    "test_write_operations_conform": lambda methods, ids: bool(methods - {"GET"}),
    "test_events_csv_export_conforms": lambda methods, ids: bool(ids & {"events_list", "events_list_env"}),
}


def _deselect_unchosen_property_based(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--contract-operation``: the property-based tests none of the chosen operations reach are deselected
    (the settings check the names later and end the run on an unknown one)."""
    value = settings_module.raw_value("operation", lambda name: config.getoption(name, default=None), os.environ)
    wanted = {part.strip() for part in str(value or "").split(",") if part.strip()}
    if not wanted:
        return
    from . import contract

    ids = set(contract.operation_ids(wanted))
    methods = {
        method.upper()
        for item in contract.openapi_document()["paths"].values()
        for method, operation in item.items()
        if isinstance(operation, dict) and operation.get("operationId") in ids
    }
    keep, drop = [], []
    for item in items:
        runs = _GENERATED_FUNCTIONS.get(getattr(item, "originalname", item.name))
        (drop if runs is not None and not runs(methods, ids) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class _Misconfigured(Exception):
    """The run cannot start; the message is one sentence naming what to fix."""


def _check_settings(config: pytest.Config) -> None:
    """Every misconfiguration ends a run of the suite early, whatever the selection leaves to run."""
    try:
        settings_module.settings_from(lambda name: config.getoption(name, default=None), os.environ)
    except settings_module.ConfigError as exc:
        raise pytest.UsageError(f"posthog-contract: {exc}") from None


def _open_session(pytestconfig: pytest.Config, *, needs_events: bool = False) -> ContractSession:
    try:
        settings = settings_module.settings_from(lambda name: pytestconfig.getoption(name, default=None), os.environ)
    except settings_module.ConfigError as exc:
        raise _Misconfigured(str(exc)) from None
    LEDGER.reset(request_budget(settings))
    server = None
    credentials: dict[str, Any] = {}
    if settings.base_url is None:
        try:
            server = embedded.start(
                settings_module.reference_args(lambda name: pytestconfig.getoption(name, default=None), os.environ)
            )
        except embedded.EmbeddedServerError as exc:
            raise _Misconfigured(str(exc)) from None
        credentials = server.credentials
        # every key of the reference world is a secret like any other (tests may use them all)
        _REDACTOR.add(*(str(v) for k, v in credentials.items() if k.endswith("_key") and isinstance(v, str)))
        settings = settings.with_embedded(
            base_url=credentials["base_url"],
            personal_api_key=credentials["personal_api_key"],
            project_id=str(credentials["project_id"]),
            project_api_key=credentials["project_api_key"],
            readonly_api_key=credentials["readonly_api_key"],
            collaborator_uuid=credentials["collaborator_uuid"],
            other_project_id=str(credentials["other_project_id"]),
        )
        option = lambda name: pytestconfig.getoption(name, default=None)  # noqa: E731
        if settings_module.raw_value("events_timeout", option, os.environ) is None:
            # the reference lists captured events at once; a short wait keeps failing runs short
            settings = dataclasses.replace(settings, events_timeout=15.0)
    contract_schemas.set_baseline(settings.baseline)  # issue 13: the release baseline (contract §11)
    redactor = _REDACTOR
    redactor.add(*settings.secrets())
    assertions.configure(redactor)
    client = ContractClient(
        settings.base_url,
        settings.personal_api_key,
        timeout=settings.timeout,
        max_retry_wait=settings.max_retry_wait,
        redactor=redactor,
        read_only=settings.read_only,
        origins=(settings.capture_url,),
        bounds=settings.bounds(),
    )
    try:
        with LEDGER.unmetered():
            facts = preflight(client, settings, needs_events=needs_events)
    except settings_module.ConfigError as exc:
        client.close()
        if server is not None:
            server.stop()
        raise _Misconfigured(str(exc)) from None
    paths = ApiPaths(facts.project_id)
    resources = RunResources(client, paths, settings.run_id)
    LEDGER.reserve = resources.cleanup_cost
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        where = "the embedded reference server" if server else "an external host"
        reporter.write_line(
            f"posthog-contract: testing {redactor.url(settings.base_url)} ({where}), project {facts.project_id},"
            f" run id {settings.run_id}"
        )
    global _RUN_STARTED
    _RUN_STARTED = True
    return ContractSession(settings, facts, redactor, client, paths, resources, server, credentials)


def request_budget(settings: settings_module.Settings) -> int | None:
    """The run's request cap: ``--request-budget`` if given, else the profile's; None for no cap (0)."""
    budget = settings.request_budget
    if budget is None:
        from .property_based.profiles import PROFILES  # schemathesis loads only when the suite runs

        budget = PROFILES[settings.profile].request_budget
    return budget or None


def _close_session() -> None:
    """Undo what the run created (tracked resources, then any run-tagged dashboard left), stop the server."""
    global _SESSION
    session, _SESSION = _SESSION, None
    if session is None:
        return
    try:
        with _signals_deferred(session.settings.run_id), LEDGER.unmetered():
            problems = session.resources.cleanup(sweep=not session.settings.read_only)
        for problem in problems:
            LOG.warn(f"cleanup: {problem}")
        if session.resources.untracked:
            LOG.warn(
                f"cleanup: {len(session.resources.untracked)} dashboard(s) of this run were never registered for "
                f"cleanup (ids {session.resources.untracked[:20]}); the final sweep soft-deleted them"
            )
        if session.resources.rate_limited:
            LOG.warn(
                "cleanup stopped: the host's rate limit for this key is spent; once it resets run: python -m "
                f"posthog_contract cleanup --run-id {session.settings.run_id} (posthog-contract cleanup from a wheel; "
                "with POSTHOG_HOST / POSTHOG_PROJECT_ID set)"
            )
        elif problems:
            LOG.warn(
                "cleanup left something behind; once the host is healthy run: python -m posthog_contract cleanup "
                f"--run-id {session.settings.run_id} (with POSTHOG_HOST / POSTHOG_PROJECT_ID set)"
            )
    finally:
        if session.client.retries_on_429:
            _RUN_NOTES.append(
                f"the host answered 429 (rate limited) {session.client.retries_on_429} time(s); the client honoured "
                f"Retry-After and waited {session.client.slept_on_429:.1f} s in total "
                f"(budget per request: POSTHOG_MAX_RETRY_WAIT={session.settings.max_retry_wait:g} s)"
            )
        session.client.close()
        if session.server is not None:
            session.server.stop()


#: seconds cleanup goes on after a first Ctrl-C / SIGTERM before it is abandoned (a second: at once)
CLEANUP_GRACE_S: Final = 3.0


def _say(text: str) -> None:
    """Write to the terminal now, past pytest's output capture (cleanup may run in a test's teardown);
    outside a contract run (a self-test calling the cleanup helpers) the capture keeps it."""
    capture = _CONFIG.pluginmanager.get_plugin("capturemanager") if _CONFIG is not None and _RUN_STARTED else None
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        sys.stderr.write(text)
        sys.stderr.flush()


@contextlib.contextmanager
def _signals_deferred(run_id: str, grace: float = CLEANUP_GRACE_S) -> Iterator[None]:
    """During cleanup a second Ctrl-C / SIGTERM abandons it at once; a first one lets it go on for
    ``grace`` seconds, then abandons it (issue 20): a cleanup waiting on a throttled or silent host
    never holds the process. The delayed abandon is a signal sent to the main thread itself, so it
    also ends a blocking wait (a 429 pause, a socket read)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    armed = [True]
    main = threading.main_thread().ident
    command = f"python -m posthog_contract cleanup --run-id {run_id}"

    def abandon_later(signum: int) -> None:
        if armed[0] and main is not None:
            signal.pthread_kill(main, signum)

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            LOG.warn(f"cleanup abandoned after a signal; finish it with: {command}")
            _say(f"\nposthog-contract: cleanup abandoned; finish it with: {command}\n")
            raise KeyboardInterrupt(f"signal {signum} during cleanup")
        _say(
            f"\nposthog-contract: cleaning up the run's resources for at most {grace:g} s more; send the signal "
            f"again to abandon now (then: {command})\n"
        )
        timer = threading.Timer(grace, abandon_later, (signum,))
        timer.daemon = True
        timer.start()

    names = [name for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), handler) for name in names}
    try:
        yield
    finally:
        armed[0] = False  # a grace timer still running must not interrupt whatever comes next
        for name, old in previous.items():
            signal.signal(getattr(signal, name), old)


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Iterator[ContractSession]:
    global _SESSION
    if _SESSION is None:  # not opened at collection (e.g. requested dynamically): open it now
        try:
            _SESSION = _open_session(pytestconfig)
        except _Misconfigured as exc:
            pytest.exit(f"posthog-contract: {exc}", returncode=EXIT_MISCONFIGURED)
    try:
        yield _SESSION
    finally:
        _close_session()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _close_session()  # also after Ctrl-C / SIGTERM, if fixture teardown did not get there


@pytest.fixture(autouse=True)
def _name_current_test(request: pytest.FixtureRequest) -> None:
    LOG.current_test = LEDGER.label = request.node.nodeid


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    """Issue 24: once the host refused past the 429 wait budget, no further test starts. The run ends
    with the one sentence saying when the limit resets; the test that met it is a tool error, so the
    run exits 3 (1 if a violation was found before); cleanup still runs and, if it is throttled too,
    prints the ``cleanup`` command."""
    result = yield
    if _RUN_STARTED and LEDGER.stops_the_run and LEDGER.rate_limit_spent is not None:
        # a failed test (the one that met the limit) lets the collector tell a tool error (3) from a violation (1)
        code = pytest.ExitCode.TESTS_FAILED if item.session.testsfailed else EXIT_TOOL_ERROR
        pytest.exit(f"posthog-contract: {LEDGER.rate_limit_spent}", returncode=code)
    return result


@pytest.fixture(scope="session")
def settings(contract: ContractSession) -> settings_module.Settings:
    return contract.settings


@pytest.fixture(scope="session")
def client(contract: ContractSession) -> ContractClient:
    return contract.client


@pytest.fixture(scope="session")
def paths(contract: ContractSession) -> ApiPaths:
    return contract.paths


@pytest.fixture(scope="session")
def resources(contract: ContractSession) -> RunResources:
    return contract.resources


@pytest.fixture(scope="session")
def run_id(contract: ContractSession) -> str:
    return contract.settings.run_id


@pytest.fixture(scope="session")
def outcomes() -> Any:
    return LOG


@pytest.fixture(scope="session")
def anonymous_client(contract: ContractSession) -> ContractClient:
    return contract.client.with_key(None)


@pytest.fixture(scope="session")
def readonly_client(contract: ContractSession) -> ContractClient:
    if not contract.settings.readonly_api_key:
        LOG.unavailable("no read-only key is configured: set POSTHOG_READONLY_API_KEY to a key with read scopes only")
    return contract.client.with_key(contract.settings.readonly_api_key)


@pytest.fixture
def new_dashboard(client: ContractClient, paths: ApiPaths, resources: RunResources) -> Callable[..., dict[str, Any]]:
    """Create a run-tagged dashboard (registered for cleanup at once) and return its body."""

    def make(label: str = "dashboard", **fields: Any) -> dict[str, Any]:
        if client.read_only:
            pytest.skip("read-only mode: this check creates or changes resources on the host")
        body = {"name": resources.name(label), "description": resources.description(), **fields}
        response = client.post(paths.dashboards(), json=body)
        if response.status_code == 201 and isinstance(response.json(), dict) and "id" in response.json():
            resources.track_dashboard(response.json()["id"])
        assertions.expect_shape(response, 201, "dashboard", rule="POST dashboards creates a dashboard (201)")
        return response.json()

    return make


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if (
        report.skipped
        and isinstance(report.longrepr, tuple)
        and str(report.longrepr[2]).startswith("Skipped: " + UNAVAILABLE_PREFIX)
    ):
        return "skipped", "U", "UNAVAILABLE"
    # pytest's words follow the suite's: "error" is the tool's failure, "failed" a judgement about the host
    verdict = verdict_of(report) if report.failed else None
    if verdict == TOOL_ERROR and report.when == "call":
        return "error", "E", "ERROR"
    if verdict == VIOLATION and report.when in ("setup", "teardown"):
        return "failed", "F", "FAILED"
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for note in _RUN_NOTES:
        terminalreporter.write_line(f"posthog-contract: {note}")
    if _RUN_STARTED:  # a run refused at preflight ends with its one sentence, nothing more
        for line in LEDGER.cost_lines():
            terminalreporter.write_line(f"posthog-contract: {line}")
        deprecated = LEDGER.deprecations.summary()
        if deprecated:  # the host's own words (header values): redacted like everything it says
            terminalreporter.write_line(f"posthog-contract: {_REDACTOR.text(deprecated)}", yellow=True)
    if not LOG.entries:
        return
    terminalreporter.section("posthog-contract warnings and unavailable checks")
    for entry in LOG.entries:
        terminalreporter.write_line(_REDACTOR.text(f"{entry.kind.upper():12} {entry.test}: {entry.message}"))


# --- secrets never reach an artifact ------------------------------------------------------------------
# Failure messages are redacted where they are made (assertions.py, client.describe); these hooks are
# the net under them: pytest's own renderings (assertion introspection, --showlocals, fixture
# arguments, captured output and logs, skip reasons) pass through the redactor before any reporter,
# JUnit XML or report writer sees them.


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    _redact_report(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[Any]:
    report = yield
    _redact_report(report)
    return report


@pytest.hookimpl(trylast=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    reporter = _terminal_reporter()
    memo = getattr(reporter, "_keyboardinterrupt_memo", None)
    if memo is not None:
        _redact_in_place(memo, _REDACTOR)


def _terminal_reporter() -> Any:
    return None if _CONFIG is None else _CONFIG.pluginmanager.get_plugin("terminalreporter")


def _redact_report(report: Any) -> None:
    if not _REDACTOR.secrets:
        return
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        report.longrepr = _REDACTOR.text(longrepr)
    elif isinstance(longrepr, tuple):
        report.longrepr = tuple(_REDACTOR.text(x) if isinstance(x, str) else x for x in longrepr)
    elif longrepr is not None:
        _redact_in_place(longrepr, _REDACTOR)
    report.sections = [(title, _REDACTOR.text(content)) for title, content in report.sections]


def _redact_in_place(obj: Any, redactor: Redactor, _seen: set[int] | None = None) -> Any:
    """Scrub every string inside pytest's failure representation (dataclasses, lists, tuples, dicts)."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, str):
        return redactor.text(obj)
    if id(obj) in seen or obj is None or isinstance(obj, int | float | bool | bytes):
        return obj
    seen.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [_redact_in_place(x, redactor, seen) for x in obj]
        return obj
    if isinstance(obj, tuple):
        return tuple(_redact_in_place(x, redactor, seen) for x in obj)
    if isinstance(obj, dict):
        for key in list(obj):
            obj[key] = _redact_in_place(obj[key], redactor, seen)
        return obj
    if dataclasses.is_dataclass(obj):
        attributes = [f.name for f in dataclasses.fields(obj)]
    else:
        attributes = list(getattr(obj, "__dict__", {}))
    for name in attributes:
        value = getattr(obj, name, None)
        new = _redact_in_place(value, redactor, seen)
        if new is not value:
            with contextlib.suppress(AttributeError, dataclasses.FrozenInstanceError, TypeError):
                object.__setattr__(obj, name, new)
    return obj


class _RedactingFilter(logging.Filter):
    """Rewrites each log record's message through the run's redactor (live logs, --log-file, captured logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _REDACTOR.secrets:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken record is logging's business, not ours
                return True
            cleaned = _REDACTOR.text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_text:
                record.exc_text = _REDACTOR.text(record.exc_text)
        return True


def _install_log_redaction(config: pytest.Config) -> None:
    logging_plugin = config.pluginmanager.get_plugin("logging-plugin")
    handlers = [
        getattr(logging_plugin, name, None)
        for name in ("caplog_handler", "report_handler", "log_file_handler", "log_cli_handler")
    ]
    for handler in handlers:
        if isinstance(handler, logging.Handler) and not any(isinstance(f, _RedactingFilter) for f in handler.filters):
            handler.addFilter(_RedactingFilter())
