"""Preflight turns each misconfiguration into one sentence, before any test runs."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from posthog_contract.client import ContractClient
from posthog_contract.config import ConfigError, Settings
from posthog_contract.preflight import HostFacts, preflight
from posthog_contract.redaction import Redactor

CANARY = "phx_CANARY0123456789abcdef"
PROJECT_KEY = "phc_PROJECTKEY0123456789"
HOST = "https://ph.example.com"
ME = {
    "uuid": "0190e4d1-7b5c-7d8e-9f00-1a2b3c4d5e6f",
    "email": "owner@example.com",
    "team": {"id": 42, "project_id": 42, "name": "Main", "api_token": PROJECT_KEY},
}
OK_DASHBOARDS = {"count": 0, "next": None, "previous": None, "results": []}

Route = httpx.Response | Callable[[httpx.Request], httpx.Response]


def envelope(status: int, code: str, detail: str, type_: str = "authentication_error") -> httpx.Response:
    return httpx.Response(status, json={"type": type_, "code": code, "detail": detail, "attr": None})


def host(routes: dict[str, Route]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A scripted host: path -> answer; anything else is PostHog's 404 envelope."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        route = routes.get(request.url.path)
        if route is None:
            return envelope(404, "not_found", "Not found.", "invalid_request")
        return route(request) if callable(route) else route

    return httpx.MockTransport(handler), seen


def run(
    routes: dict[str, Route], *, project_id: str | None = "42", base_url: str = HOST, **settings: Any
) -> tuple[HostFacts, ContractClient, list[httpx.Request]]:
    transport, seen = host(routes)
    config = Settings(base_url=base_url, personal_api_key=CANARY, project_id=project_id, **settings)
    client = ContractClient(base_url, CANARY, redactor=Redactor(config.secrets()), transport=transport)
    return preflight(client, config), client, seen


def fails(routes: dict[str, Route], **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        run(routes, **kwargs)
    message = str(info.value)
    assert CANARY not in message and PROJECT_KEY not in message and "\n" not in message
    return message


def good_routes(**overrides: Route) -> dict[str, Route]:
    routes: dict[str, Route] = {
        "/api/users/@me/": httpx.Response(200, json=ME),
        "/api/projects/42/dashboards/": httpx.Response(200, json=OK_DASHBOARDS),
    }
    routes.update(overrides)
    return routes


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- happy paths ----------------------------------------------------------------------------------


def test_a_healthy_host_yields_the_facts_and_registers_the_discovered_project_key() -> None:
    facts, client, seen = run(good_routes())
    assert facts.project_id == "42" and facts.project_name == "Main"
    assert facts.project_api_key == PROJECT_KEY and facts.user_email == "owner@example.com"
    assert facts.user_uuid == ME["uuid"] and facts.version is None and facts.notes == ()
    assert [r.url.path for r in seen] == ["/api/users/@me/", "/api/projects/42/dashboards/"]
    assert seen[1].url.params["limit"] == "1"
    assert PROJECT_KEY in client.redactor.secrets and PROJECT_KEY not in repr(facts)


def test_preflight_requests_use_a_short_timeout() -> None:
    _, _, seen = run(good_routes(), timeout=30.0)
    assert all(r.extensions["timeout"]["read"] == 5 for r in seen)
    _, _, seen = run(good_routes(), timeout=3.0)
    assert all(r.extensions["timeout"]["read"] == 3 for r in seen)


def test_a_configured_project_key_wins_and_a_foreign_team_key_is_not_used() -> None:
    facts, _, _ = run(good_routes(), project_api_key="phc_CONFIGURED0123456")
    assert facts.project_api_key == "phc_CONFIGURED0123456"
    other = {**ME, "team": {"id": 7, "project_id": 7, "name": "Other", "api_token": PROJECT_KEY}}
    facts, _, _ = run(good_routes(**{"/api/users/@me/": httpx.Response(200, json=other)}))
    assert facts.project_api_key is None and facts.project_name is None
    assert any("POSTHOG_PROJECT_API_KEY" in note for note in facts.notes)


def test_the_version_comes_from_a_posthog_header() -> None:
    me = httpx.Response(200, json=ME, headers={"X-PostHog-Version": "1.2.3"})
    assert run(good_routes(**{"/api/users/@me/": me}))[0].version == "1.2.3"
    me = httpx.Response(200, json=ME, headers={"Server": "nginx"})
    assert run(good_routes(**{"/api/users/@me/": me}))[0].version is None


def test_a_key_without_user_read_is_not_fatal() -> None:
    me = envelope(403, "permission_denied", "API key missing required scope 'user:read'")
    facts, _, _ = run(good_routes(**{"/api/users/@me/": me}))
    assert facts.project_id == "42" and facts.user_uuid is None and facts.project_api_key is None
    assert "missing required scope 'user:read'" in facts.notes[0]


# -- discovery ------------------------------------------------------------------------------------


def projects(*items: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, json={"count": len(items), "next": None, "previous": None, "results": list(items)}
    )


def test_discovery_uses_the_only_project_the_key_sees() -> None:
    listing = projects({"id": 42, "name": "Only", "api_token": PROJECT_KEY})
    facts, _, seen = run(good_routes(**{"/api/projects/": listing}), project_id=None)
    assert facts.project_id == "42" and facts.project_name == "Only" and facts.project_api_key == PROJECT_KEY
    assert [r.url.path for r in seen] == ["/api/users/@me/", "/api/projects/", "/api/projects/42/dashboards/"]


def test_discovery_with_two_projects_asks_for_posthog_project_id() -> None:
    listing = projects({"id": 1, "name": "A"}, {"id": 2, "name": "B"})
    message = fails(good_routes(**{"/api/projects/": listing}), project_id=None)
    assert message == (
        "Several projects are visible to the key: set POSTHOG_PROJECT_ID (the key sees 2 projects: ids 1, 2)."
    )


def test_discovery_with_no_projects() -> None:
    message = fails(good_routes(**{"/api/projects/": projects()}), project_id=None)
    assert message.startswith("The key sees no projects on the host: set POSTHOG_PROJECT_ID")


def test_discovery_without_project_read_falls_back_to_the_current_team() -> None:
    denied = envelope(403, "permission_denied", "API key missing required scope 'project:read'")
    facts, _, _ = run(good_routes(**{"/api/projects/": denied}), project_id=None)
    assert facts.project_id == "42" and "project:read" in facts.notes[0]


# -- one sentence per fault -----------------------------------------------------------------------


def test_connection_refused() -> None:
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    config = Settings(base_url=base, personal_api_key=CANARY, project_id="1")
    client = ContractClient(base, CANARY, redactor=Redactor(config.secrets()))
    with client, pytest.raises(ConfigError) as info:
        preflight(client, config)
    message = str(info.value)
    assert message.startswith(f"Cannot reach POSTHOG_HOST {base}: ")
    assert "connection refused" in message.lower() and message.endswith(". Check POSTHOG_HOST.")
    assert CANARY not in message and "Errno" not in message


def test_a_timeout_is_a_sentence_too() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    message = fails({"/api/users/@me/": slow})
    assert message == f"Cannot reach POSTHOG_HOST {HOST}: no answer within 5 s. Check POSTHOG_HOST."


def test_rejected_key() -> None:
    bad = envelope(
        401, "authentication_failed", "Personal API key found in request Authorization header is invalid."
    )
    assert fails(good_routes(**{"/api/users/@me/": bad})) == (
        "The host rejected POSTHOG_PERSONAL_API_KEY (401 authentication_failed): check the key."
    )


def test_project_not_found() -> None:
    assert (
        fails(good_routes(), project_id="999")
        == "Project 999 not found on the host: check POSTHOG_PROJECT_ID."
    )


def test_project_forbidden() -> None:
    denied = envelope(403, "permission_denied", "You don't have access to the project.")
    assert fails(good_routes(**{"/api/projects/42/dashboards/": denied})) == (
        "The key cannot access project 42 (You don't have access to the project.): check POSTHOG_PROJECT_ID "
        "or the key's scopes."
    )


def test_missing_dashboard_read_scope_names_the_personal_key() -> None:
    denied = envelope(403, "permission_denied", "API key missing required scope 'dashboard:read'")
    message = fails(good_routes(**{"/api/projects/42/dashboards/": denied}))
    assert message.startswith("POSTHOG_PERSONAL_API_KEY lacks the scope 'dashboard:read' the suite needs")


def test_a_redirecting_host() -> None:
    moved = httpx.Response(301, headers={"Location": "https://us.posthog.com/api/users/@me/"})
    message = fails({"/api/users/@me/": moved})
    assert "redirects (301) to https://us.posthog.com/api/users/@me/" in message and "POSTHOG_HOST" in message


def test_a_host_that_is_not_the_posthog_api() -> None:
    html = httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"})
    message = fails({"/api/users/@me/": html})
    assert "answered 200 with text/html, not JSON" in message and "POSTHOG_HOST" in message
    plain_404 = httpx.Response(404, text="<html>nope</html>", headers={"Content-Type": "text/html"})
    message = fails({"/api/users/@me/": plain_404, "/api/projects/42/dashboards/": plain_404})
    assert "without PostHog's JSON error body" in message


def test_a_failing_host() -> None:
    message = fails(good_routes(**{"/api/users/@me/": httpx.Response(502, text="Bad gateway")}))
    assert message.startswith(f"GET /api/users/@me/ on {HOST} failed with 502 (Bad gateway)")


def test_a_host_rate_limiting_preflight() -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": "throttled"})
    transport, _ = host({"/api/users/@me/": throttled})
    config = Settings(base_url=HOST, personal_api_key=CANARY, project_id="42", max_retry_wait=2)
    client = ContractClient(
        HOST, CANARY, redactor=Redactor([CANARY]), transport=transport, max_retry_wait=2, sleep=lambda s: None
    )
    with pytest.raises(ConfigError, match="POSTHOG_MAX_RETRY_WAIT"):
        preflight(client, config)
