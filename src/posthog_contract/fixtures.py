"""Every public fixture of the contract suite, handed the run's session (`session.ContractSession`).

Loaded by the plugin (``pytest_plugins``), as pytest-django imports its fixtures from
``fixtures.py``. Expensive things are session-scoped (the session, its client, seeded events, the
property-based run), cheap isolating ones function-scoped (a fresh dashboard, cleaned up after the
run). A fixture that cannot give what a check needs makes the check *unavailable*, naming the
setting that would enable it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from . import events
from .assertions import expect_shape
from .client import ContractClient
from .config import Settings
from .lifecycle import Misconfigured, close_run, open_run, session_of
from .outcomes import EXIT_MISCONFIGURED, OutcomeLog
from .paths import CURRENT_USER, ORGANIZATION_MEMBERS, ApiPaths
from .report import drift as drift_module
from .resources import RunResources
from .session import ContractSession

# --- the run ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def contract(pytestconfig: pytest.Config) -> Iterator[ContractSession]:
    """The run's session, opened at collection (or now, when a test asks for it dynamically)."""
    try:
        session = open_run(pytestconfig)
    except Misconfigured as exc:
        pytest.exit(f"posthog-contract: {exc}", returncode=EXIT_MISCONFIGURED)
    try:
        yield session
    finally:
        close_run(pytestconfig)


@pytest.fixture(autouse=True)
def _name_current_test(request: pytest.FixtureRequest) -> None:
    """What the run sends and notes from now on belongs to this test (the ledger's and the log's labels)."""
    session = session_of(request.config)
    session.log.current_test = session.ledger.label = request.node.nodeid


@pytest.fixture(scope="session")
def settings(contract: ContractSession) -> Settings:
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
def outcomes(contract: ContractSession) -> OutcomeLog:
    """The run's outcome log: ``outcomes.warn(...)``, ``outcomes.unavailable(reason)``."""
    return contract.log


@pytest.fixture(scope="session")
def schema_drift(contract: ContractSession) -> drift_module.DriftResult:
    """The host's /api/schema/ compared with the contract, fetched at most once per run."""
    return drift_module.of_run(contract)


@pytest.fixture(scope="session")
def anonymous_client(contract: ContractSession) -> ContractClient:
    return contract.client.with_key(None)


@pytest.fixture(scope="session")
def readonly_client(contract: ContractSession) -> ContractClient:
    if not contract.settings.readonly_api_key:
        contract.log.unavailable(
            "no read-only key is configured: set POSTHOG_READONLY_API_KEY to a key with read scopes only"
        )
    return contract.client.with_key(contract.settings.readonly_api_key)


@pytest.fixture
def new_dashboard(client: ContractClient, paths: ApiPaths, resources: RunResources) -> Callable[..., dict[str, Any]]:
    """Create a run-tagged dashboard (registered for cleanup at once), check the answer, return its body."""

    def make(label: str = "dashboard", **fields: Any) -> dict[str, Any]:
        if client.read_only:
            pytest.skip("read-only mode: this check creates or changes resources on the host")
        response = resources.create_dashboard(label, client=client, paths=paths, **fields)
        return expect_shape(response, 201, "dashboard", rule="POST dashboards creates a dashboard (201)")

    return make


# --- the host's users and events -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def current_user_uuid(client: ContractClient, outcomes: OutcomeLog) -> str:
    response = client.get(CURRENT_USER)
    if response.status_code == 403:
        outcomes.unavailable(
            "the key cannot read /api/users/@me/: give it the user:read scope (or set POSTHOG_COLLABORATOR_UUID "
            "for the collaborator checks)",
            client.describe(response),
        )
    return expect_shape(response, 200, "current-user", rule="GET /api/users/@me/ answers the current user")["uuid"]


@pytest.fixture(scope="session")
def collaborator_uuid(
    request: pytest.FixtureRequest, settings: Settings, client: ContractClient, outcomes: OutcomeLog
) -> str:
    """POSTHOG_COLLABORATOR_UUID, else an active plain member other than the key owner (§4.3).

    A configured collaborator needs nothing else from the host: `@me` is read only to discover one.
    """
    if settings.collaborator_uuid:
        return settings.collaborator_uuid
    current_user_uuid = request.getfixturevalue("current_user_uuid")
    response = client.get(ORGANIZATION_MEMBERS)
    if response.status_code != 200:
        outcomes.unavailable(
            f"no collaborator configured and the members list answered {response.status_code}; "
            "set POSTHOG_COLLABORATOR_UUID",
            client.describe(response),
        )
    body = expect_shape(response, 200, "organization-member-list")
    members = body["results"] if isinstance(body, dict) else body
    for member in members:
        if member["user"]["uuid"] != current_user_uuid and member["level"] < 8:
            return member["user"]["uuid"]
    outcomes.unavailable("no collaborator configured and no plain member to discover; set POSTHOG_COLLABORATOR_UUID")
    raise AssertionError("unreachable")


def discovered_collaborator(client: ContractClient) -> str | None:
    """A plain member other than the key owner (§4.3), read leniently: judging these answers is the
    fixtures' job; the generated tests only need someone to add."""
    me, members = client.get(CURRENT_USER), client.get(ORGANIZATION_MEMBERS)
    if me.status_code != 200 or members.status_code != 200:
        return None
    try:
        owner, body = me.json().get("uuid"), members.json()
        listed = body.get("results") if isinstance(body, dict) else body
        for member in listed or []:
            if member["user"]["uuid"] != owner and member["level"] < 8:
                return str(member["user"]["uuid"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def capture_unavailable(settings: Settings, contract: ContractSession) -> str | None:
    """Why the run cannot capture events (naming the setting that would let it), or None."""
    if settings.read_only:
        return "read-only mode captures no events: run without --read-only / POSTHOG_READ_ONLY to seed events"
    if not (settings.project_api_key or contract.facts.project_api_key):
        return "no project API key: set POSTHOG_PROJECT_API_KEY (the host did not reveal one on /api/users/@me/)"
    return None


@pytest.fixture(scope="session")
def seeded_events(
    settings: Settings,
    contract: ContractSession,
    client: ContractClient,
    paths: ApiPaths,
    run_id: str,
    outcomes: OutcomeLog,
) -> events.SeededEvents:
    """The run's events, captured once and waited for until all are listable."""
    reason = capture_unavailable(settings, contract)
    if reason:
        outcomes.unavailable(reason)
    key = settings.project_api_key or contract.facts.project_api_key
    seeded = events.plan(run_id)
    response = events.capture(client, settings.capture_url or settings.base_url, key, seeded)
    expect_shape(response, 200, "capture-response", rule="POST /batch/ accepts the seeded events (§9)")
    events.wait_until_listable(client, paths, seeded, timeout=settings.events_timeout)
    return seeded


# --- the property-based part (schemathesis): tests/test_property_based.py, tests/test_stateful.py ----------


@pytest.fixture(scope="session")
def property_run(
    request: pytest.FixtureRequest,
    contract: ContractSession,
    settings: Settings,
    client: ContractClient,
    paths: ApiPaths,
    resources: RunResources,
) -> Iterator[Any]:
    """The run's schemathesis state: its dashboards, event ids, seed and the 429-aware session.

    Seeded events are used when they exist; read-only runs (or a host that seeds nothing) point
    event ids at the host's own recent events instead.
    """
    from . import property_based

    seeded = None if capture_unavailable(settings, contract) else request.getfixturevalue("seeded_events")
    state = property_based.prepare_data(client, paths, resources, settings, seeded=seeded)
    # the member the hand-written tests add is the one generated collaborator adds aim at (§4.3)
    state["collaborator_uuid"] = settings.collaborator_uuid or discovered_collaborator(client)
    run = property_based.new_run(
        settings,
        base_url=settings.base_url,
        project_id=paths.project_id,
        resources=resources,
        redactor=contract.redactor,
        ledger=contract.ledger,
        log=contract.log,
        **state,
    )
    contract.seed = run.seed
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line(property_based.SEED_MESSAGE.format(seed=run.seed))
    yield run
    if run.session is not None:
        run.session.close()


@pytest.fixture(scope="session")
def property_schema(contract: ContractSession, settings: Settings, property_run: Any) -> Any:
    """The contract's OpenAPI document as a configured schemathesis schema carrying the run
    (see property_based.load_schema); the run's observers see every answer it gets."""
    from . import property_based

    schema = property_based.load_schema(settings, property_run)
    contract.observe(property_run.session)
    return schema
