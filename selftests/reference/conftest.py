"""Fixtures for the reference server's own behaviour tests: one server per session, over HTTP only.

The server runs as a subprocess (``python -m posthog_contract.reference --port 0 --exit-with-stdin``)
and announces one JSON credentials line; closing its stdin stops it, so it cannot outlive pytest.
``reference_server(*mutants)`` starts (and caches) extra servers with mutants switched on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

#: generous limits: the behaviour tests must never meet a 429 by accident
NO_THROTTLE = ("--rate-limit", "1000000/min")
READY_TIMEOUT_S = 30.0


@dataclass
class RunningServer:
    process: subprocess.Popen[bytes]
    credentials: dict[str, Any]
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return str(self.credentials["base_url"])

    def client(self, key: str | None = "personal_api_key") -> httpx.Client:
        """An ``httpx.Client`` on the server; ``key`` names a credentials field (None: no header)."""
        headers = {} if key is None else {"Authorization": f"Bearer {self.credentials[key]}"}
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=10.0)
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            try:
                if self.process.stdin:
                    self.process.stdin.close()
                self.process.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(*extra: str) -> RunningServer:
    command = [sys.executable, "-m", "posthog_contract.reference", "--port", "0", "--exit-with-stdin", *NO_THROTTLE]
    process = subprocess.Popen(command + list(extra), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not line or not line[0].strip():
        process.kill()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"reference server {extra} did not announce itself: {stderr[-2000:]}")
    # drain stderr so a chatty server can never block on a full pipe
    threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
    return RunningServer(process, json.loads(line[0]))


@pytest.fixture(scope="session")
def _reference_servers() -> Iterator[dict[tuple[str, ...], RunningServer]]:
    servers: dict[tuple[str, ...], RunningServer] = {}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture(scope="session")
def reference_server(_reference_servers: dict[tuple[str, ...], RunningServer]) -> Callable[..., RunningServer]:
    """``reference_server()`` is the shared healthy server; ``reference_server("m1", "m2")`` one with mutants."""

    def get(*mutants: str) -> RunningServer:
        key = tuple(sorted(mutants))
        if key not in _reference_servers:
            args = [arg for name in key for arg in ("--mutant", name)]
            _reference_servers[key] = start_server(*args)
        return _reference_servers[key]

    return get


@pytest.fixture(scope="session")
def server_with(_reference_servers: dict[tuple[str, ...], RunningServer]) -> Callable[..., RunningServer]:
    """``server_with("--release", "2024-01")``: a (cached) server started with these arguments."""

    def get(*args: str) -> RunningServer:
        key = ("args", *args)
        if key not in _reference_servers:
            _reference_servers[key] = start_server(*args)
        return _reference_servers[key]

    return get


@pytest.fixture(scope="session")
def reference(reference_server: Callable[..., RunningServer]) -> dict[str, Any]:
    """The healthy server's credentials line (``base_url``, ``project_id``, every key)."""
    return dict(reference_server().credentials)


@pytest.fixture(scope="session")
def api(reference_server: Callable[..., RunningServer]) -> httpx.Client:
    """A client with the full-access personal key (``*`` scopes, organisation admin)."""
    return reference_server().client()


@pytest.fixture(scope="session")
def client_for(reference_server: Callable[..., RunningServer]) -> Callable[[str | None], httpx.Client]:
    """``client_for("readonly_api_key")``: a client on the healthy server with another key (None: none)."""
    cache: dict[str | None, httpx.Client] = {}

    def get(key: str | None) -> httpx.Client:
        if key not in cache:
            cache[key] = reference_server().client(key)
        return cache[key]

    return get


# --- mutants -----------------------------------------------------------------------------------------------

#: mutants that do not disturb one another's observable symptom share a server (few servers, fast runs)
MUTANT_GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "dashboard_delete_has_body",
        "patch_not_stored",
        "deleted_listed",
        "list_includes_tiles",
        "dashboard_missing_team_id",
        "dashboard_created_by_string",
        "dashboard_restriction_level_string",
        "unknown_dashboard_500",
        "invalid_restriction_level_accepted",
        "creation_mode_writable",
        "error_envelope_missing_attr",
        "dashboard_wrong_content_type",
        "is_shared_not_updated",
    ),
    (
        "dashboard_delete_returns_204",
        "soft_delete_ignored",
        "undelete_refused",
        "tags_not_stored",
        "sharing_enable_not_stored",
    ),
    (
        "sharing_array",
        "sharing_token_not_rotated",
        "sharing_of_deleted_dashboard_served",
        "collaborator_list_paginated",
        "collaborator_delete_returns_200_body",
        "collaborator_level21_accepted",
        "collaborator_duplicate_accepted",
        "collaborator_owner_accepted",
        "collaborator_patch_allowed",
        "tile_not_moved",
        "move_tile_unknown_tile_200",
        "move_tile_missing_field_500",
        "template_returns_201",
        "template_missing_name_accepted",
        "template_empty_tiles_accepted",
    ),
)


@pytest.fixture(scope="session")
def mutant_groups() -> tuple[tuple[str, ...], ...]:
    return MUTANT_GROUPS


@pytest.fixture(scope="session")
def mutant_server(reference_server: Callable[..., RunningServer]) -> Callable[[str], RunningServer]:
    """``mutant_server("tile_not_moved")``: a server with that mutant on (and its group's others)."""

    def get(name: str) -> RunningServer:
        for group in MUTANT_GROUPS:
            if name in group:
                return reference_server(*group)
        raise KeyError(f"mutant {name!r} is in no MUTANT_GROUPS entry")

    return get


# --- shared request helpers ---------------------------------------------------------------------------------

MISSING = object()


def check_error(
    response: httpx.Response, status: int, code: str, detail: str | None = None, attr: Any = MISSING
) -> dict[str, Any]:
    """The response is exactly PostHog's envelope with this status and code (and detail/attr if given)."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"type", "code", "detail", "attr"}, body
    assert body["code"] == code, body
    expected_type = {400: "validation_error", 401: "authentication_error", 403: "authentication_error",
                     429: "throttled_error", 500: "server_error"}.get(status, "invalid_request")
    if code == "parse_error":
        expected_type = "invalid_request"
    assert body["type"] == expected_type, body
    if detail is not None:
        assert body["detail"] == detail, body
    if attr is not MISSING:
        assert body["attr"] == attr, body
    return body


@pytest.fixture(scope="session")
def expect_error() -> Callable[..., dict[str, Any]]:
    return check_error


@pytest.fixture(scope="session")
def base(reference: dict[str, Any]) -> str:
    """The project path under the documented ``/api/projects`` prefix."""
    return f"/api/projects/{reference['project_id']}"


@pytest.fixture(scope="session")
def env_base(reference: dict[str, Any]) -> str:
    """The same project under the ``/api/environments`` prefix (§1.1)."""
    return f"/api/environments/{reference['project_id']}"


def _make_dashboard(client: httpx.Client, base_path: str, fields: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{base_path}/dashboards/", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def _add_text_tile(client: httpx.Client, base_path: str, dashboard_id: int, body: str) -> dict[str, Any]:
    response = client.patch(f"{base_path}/dashboards/{dashboard_id}/", json={"tiles": [{"text": {"body": body}}]})
    assert response.status_code == 200, response.text
    return next(t for t in response.json()["tiles"] if t["text"] and t["text"]["body"] == body)


@pytest.fixture(scope="session")
def make_dashboard(api: httpx.Client, base: str) -> Callable[..., dict[str, Any]]:
    """``make_dashboard(name="x", client=other, base_path=...)``: POST a dashboard, assert 201, return it."""

    def make(client: httpx.Client | None = None, base_path: str | None = None, **fields: Any) -> dict[str, Any]:
        return _make_dashboard(client or api, base_path or base, fields)

    return make


@pytest.fixture(scope="session")
def add_text_tile(api: httpx.Client, base: str) -> Callable[..., dict[str, Any]]:
    """``add_text_tile(dashboard_id, "body")``: create a text tile through a PATCH tile payload (§2.6)."""

    def add(dashboard_id: int, body: str, client: httpx.Client | None = None, base_path: str | None = None
            ) -> dict[str, Any]:
        return _add_text_tile(client or api, base_path or base, dashboard_id, body)

    return add


@pytest.fixture(scope="session")
def soft_delete(api: httpx.Client, base: str) -> Callable[[int], dict[str, Any]]:
    def delete(dashboard_id: int) -> dict[str, Any]:
        response = api.patch(f"{base}/dashboards/{dashboard_id}/", json={"deleted": True})
        assert response.status_code == 200, response.text
        return response.json()

    return delete
