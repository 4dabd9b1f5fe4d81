"""pytest glue only: options, session fixtures, markers, session start and finish.

Expensive things are session-scoped (settings, client, the embedded server); misconfiguration
ends the run early with one sentence (``pytest.exit``), never a wall of errors.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import assertions, embedded
from . import config as settings_module
from .client import ContractClient
from .outcomes import LOG, UNAVAILABLE_PREFIX
from .paths import ApiPaths
from .preflight import HostFacts, preflight
from .redaction import Redactor
from .resources import RunResources

EXIT_MISCONFIGURED = 4


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


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("posthog-contract", "PostHog API contract suite")
    settings_module.add_options(group)
    group.addoption(
        "--reference-arg",
        action="append",
        default=[],
        dest="reference_args",
        help="extra argument for the embedded reference server, e.g. --reference-arg=--latency-ms=150",
    )


def pytest_configure(config: pytest.Config) -> None:
    LOG.entries.clear()
    # SIGTERM takes the same path as Ctrl-C: pytest finishes the session, fixtures clean up
    if hasattr(signal, "SIGTERM") and signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    read_only = settings_module.is_read_only(config.getoption, os.environ)
    if not read_only:
        return
    skip = pytest.mark.skip(reason="read-only mode: this check creates or changes resources on the host")
    for item in items:
        if item.get_closest_marker("writes"):
            item.add_marker(skip)


def _exit(message: str) -> None:
    pytest.exit(f"posthog-contract: {message}", returncode=EXIT_MISCONFIGURED)


def _open_session(pytestconfig: pytest.Config) -> ContractSession:
    try:
        settings = settings_module.settings_from(lambda name: pytestconfig.getoption(name, default=None), os.environ)
    except settings_module.ConfigError as exc:
        _exit(str(exc))
    server = None
    credentials: dict[str, Any] = {}
    if settings.base_url is None:
        try:
            server = embedded.start(pytestconfig.getoption("reference_args") or [])
        except embedded.EmbeddedServerError as exc:
            _exit(str(exc))
        credentials = server.credentials
        settings = settings.with_embedded(
            base_url=credentials["base_url"],
            personal_api_key=credentials["personal_api_key"],
            project_id=str(credentials["project_id"]),
            project_api_key=credentials["project_api_key"],
            readonly_api_key=credentials["readonly_api_key"],
            collaborator_uuid=credentials["collaborator_uuid"],
            other_project_id=str(credentials["other_project_id"]),
        )
        if "POSTHOG_EVENTS_TIMEOUT" not in os.environ:
            # the reference lists captured events at once; a short wait keeps failing runs short
            settings = dataclasses.replace(settings, events_timeout=15.0)
    redactor = Redactor(settings.secrets())
    assertions.configure(redactor)
    client = ContractClient(
        settings.base_url,
        settings.personal_api_key,
        timeout=settings.timeout,
        max_retry_wait=settings.max_retry_wait,
        redactor=redactor,
    )
    try:
        facts = preflight(client, settings)
    except settings_module.ConfigError as exc:
        client.close()
        if server is not None:
            server.stop()
        _exit(str(exc))
    paths = ApiPaths(facts.project_id)
    resources = RunResources(client, paths, settings.run_id)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        where = "the embedded reference server" if server else "an external host"
        reporter.write_line(
            f"posthog-contract: testing {redactor.url(settings.base_url)} ({where}), project {facts.project_id},"
            f" run id {settings.run_id}"
        )
    return ContractSession(settings, facts, redactor, client, paths, resources, server, credentials)


def _close_session() -> None:
    global _SESSION
    session, _SESSION = _SESSION, None
    if session is None:
        return
    problems = session.resources.cleanup()
    for problem in problems:
        LOG.warn(f"cleanup: {problem}")
    session.client.close()
    if session.server is not None:
        session.server.stop()


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Iterator[ContractSession]:
    global _SESSION
    _SESSION = _open_session(pytestconfig)
    try:
        yield _SESSION
    finally:
        _close_session()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _close_session()  # also after Ctrl-C / SIGTERM, if fixture teardown did not get there


@pytest.fixture(autouse=True)
def _name_current_test(request: pytest.FixtureRequest) -> None:
    LOG.current_test = request.node.nodeid


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
        pytest.skip("POSTHOG_READONLY_API_KEY is not configured (a key with read scopes only)")
    return contract.client.with_key(contract.settings.readonly_api_key)


@pytest.fixture
def new_dashboard(client: ContractClient, paths: ApiPaths, resources: RunResources) -> Callable[..., dict[str, Any]]:
    """Create a run-tagged dashboard (registered for cleanup at once) and return its body."""

    def make(label: str = "dashboard", **fields: Any) -> dict[str, Any]:
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
        return "skipped", "u", "UNAVAILABLE"
    return None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not LOG.entries:
        return
    terminalreporter.section("posthog-contract warnings and unavailable checks")
    for entry in LOG.entries:
        terminalreporter.write_line(f"{entry.kind.upper():12} {entry.test}: {entry.message}")
