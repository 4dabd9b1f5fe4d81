"""Fixtures of the contract suite that need the host: the current user, a collaborator, seeded events."""

from __future__ import annotations

import contextlib

import pytest

from posthog_contract import events
from posthog_contract.assertions import expect_shape
from posthog_contract.paths import CURRENT_USER, ORGANIZATION_MEMBERS


@pytest.fixture(scope="session")
def current_user_uuid(client, outcomes) -> str:
    response = client.get(CURRENT_USER)
    if response.status_code == 403:
        outcomes.unavailable(
            "the key cannot read /api/users/@me/: give it the user:read scope (or set POSTHOG_COLLABORATOR_UUID "
            "for the collaborator checks)",
            client.describe(response),
        )
    return expect_shape(response, 200, "current-user", rule="GET /api/users/@me/ answers the current user")["uuid"]


@pytest.fixture(scope="session")
def collaborator_uuid(request, settings, client, outcomes) -> str:
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


def discovered_collaborator(client) -> str | None:
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


def capture_unavailable(settings, contract) -> str | None:
    """Why the run cannot capture events (naming the setting that would let it), or None."""
    if settings.read_only:
        return "read-only mode captures no events: run without --read-only / POSTHOG_READ_ONLY to seed events"
    if not (settings.project_api_key or contract.facts.project_api_key):
        return "no project API key: set POSTHOG_PROJECT_API_KEY (the host did not reveal one on /api/users/@me/)"
    return None


@pytest.fixture(scope="session")
def seeded_events(settings, contract, client, paths, run_id, outcomes) -> events.SeededEvents:
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


# --- property-based part (schemathesis): tests/test_property_based.py, tests/test_stateful.py -------------


@pytest.fixture(scope="session")
def property_run(request, contract, settings, client, paths, resources):
    """The run's schemathesis state: its dashboards, event ids, seed and the 429-aware session.

    Seeded events are used when they exist; read-only runs (or a host that seeds nothing) point
    event ids at the host's own recent events instead.
    """
    from posthog_contract import property_based

    seeded = None if capture_unavailable(settings, contract) else request.getfixturevalue("seeded_events")
    state = property_based.prepare_data(client, paths, resources, settings, seeded=seeded)
    # the member the hand-written tests add is the one generated collaborator adds aim at (§4.3)
    state["collaborator_uuid"] = settings.collaborator_uuid or discovered_collaborator(client)
    run = property_based.new_run(settings, base_url=settings.base_url, project_id=paths.project_id,
                            resources=resources, redactor=contract.redactor, **state)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line(property_based.SEED_MESSAGE.format(seed=run.seed))
    yield run
    property_based.activate(None)
    if run.session is not None:
        run.session.close()


@pytest.fixture(scope="session")
def property_schema(settings, property_run):
    """The contract's OpenAPI document as a configured schemathesis schema (see property_based.load_schema)."""
    from posthog_contract import property_based

    return property_based.load_schema(settings, property_run)
