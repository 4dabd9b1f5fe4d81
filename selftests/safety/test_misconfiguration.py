"""Misconfiguration ends the run before any test, within 10 s, with one sentence naming the problem and
the variable to fix, a non-zero exit code (4), and no traceback or pytest ``Exit`` noise.

Every scenario is one ``python -m pytest`` run; they start together (two at a time, this is a 2-core
budget) in a module fixture, and each test judges its own run.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from safety_support import LEAN, Server, SuiteRun, run_suite, start_server, suite_environment

WRONG_KEY = "phx_posthogcontract0wrong0key0000000000000000"
MAX_SECONDS = 10.0


def assert_one_clean_sentence(run: Any, *, names: str, says: str, secrets: tuple[str, ...] = ()) -> str:
    """Exit 4, fast, exactly one ``ERROR: posthog-contract: ...`` line that names ``names`` and says ``says``."""
    output = run.output
    assert run.returncode == 4, f"exit code {run.returncode}:\n{output[-3000:]}"
    # pytest's own clock (session start to exit: collection, preflight, embedded server) is the suite's
    # part; the wall clock adds interpreter and plugin start-up, which a loaded 2-core box stretches
    session = re.search(r"no tests ran in ([\d.]+)s", output)
    assert session and float(session.group(1)) < MAX_SECONDS, f"session took too long:\n{output[-3000:]}"
    assert run.seconds < 3 * MAX_SECONDS, f"took {run.seconds:.1f} s:\n{output[-3000:]}"
    for noise in ("Traceback", "_pytest.outcomes.Exit", "!!!", "INTERNALERROR"):
        assert noise not in output, f"{noise!r} in:\n{output}"
    assert not re.search(r"\d+ (passed|failed|error)", output), f"tests ran:\n{output}"
    lines = [line for line in output.splitlines() if "posthog-contract:" in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR: posthog-contract: "), output
    sentence = lines[0].removeprefix("ERROR: posthog-contract: ")
    assert names in sentence and says in sentence, sentence
    for secret in secrets:
        assert secret not in output
    return sentence


# --- fake hosts --------------------------------------------------------------------------------------------


class _Scripted(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        status, ctype, body = self.routes.get(self.path.split("?")[0], (404, "text/html", b"<h1>Not Found</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve(routes: dict[str, tuple[int, str, bytes]]) -> Iterator[str]:
    handler = type("Handler", (_Scripted,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _json(status: int, body: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode()


@pytest.fixture(scope="module")
def scopeless_host() -> Iterator[str]:
    """A PostHog-like host whose key may read the user but not dashboards."""
    me = {"uuid": "0190b7a1-0000-7000-8000-0000000000a1", "email": "a@example.com",
          "team": {"id": 1, "project_id": 1, "name": "Main"}}
    denied = {"type": "authentication_error", "code": "permission_denied",
              "detail": "API key missing required scope 'dashboard:read'", "attr": None}
    yield from _serve({"/api/users/@me/": _json(200, me), "/api/projects/1/dashboards/": _json(403, denied)})


@pytest.fixture(scope="module")
def not_posthog() -> Iterator[str]:
    """A web server that is not PostHog's API (an HTML 404 for everything)."""
    yield from _serve({})


@pytest.fixture(scope="module")
def silent_host() -> Iterator[str]:
    """Accepts TCP connections (the kernel's backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture(scope="module")
def closed_port() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def reference() -> Iterator[Server]:
    """One reference server for every scenario: misconfigured runs create nothing on it."""
    server = start_server()
    yield server
    server.stop()


#: what a scenario runs: the whole suite with every plugin, as a user would (FULL), or one scenario file
#: without the plugins it does not need (LEAN: a third of the start-up time; the plugin under test is
#: the same, and the FULL scenarios prove the output stays clean with everything loaded)
FULL = ("tests",)
LEAN_DASHBOARDS = ("tests/test_dashboards.py", *LEAN)


def _against(host: str, *args: str, **env: str) -> Callable[[], SuiteRun]:
    settings = {"POSTHOG_HOST": host, "POSTHOG_PERSONAL_API_KEY": WRONG_KEY, **env}
    return lambda: run_suite(*(args or LEAN_DASHBOARDS), "-q", env=suite_environment(**settings), timeout=60)


def _with(env: dict[str, str], *args: str) -> Callable[[], SuiteRun]:
    return lambda: run_suite(*(args or LEAN_DASHBOARDS), "-q", env=env, timeout=120)


@pytest.fixture(scope="module")
def runs(reference, closed_port, silent_host, not_posthog, scopeless_host) -> dict[str, SuiteRun]:
    creds = reference.credentials
    no_query = reference.suite_env(POSTHOG_PERSONAL_API_KEY=creds["no_query_api_key"])
    scenarios: dict[str, Callable[[], SuiteRun]] = {
        "dead host": _against(closed_port, *FULL),
        "silent host": _against(silent_host),
        "not posthog": _against(not_posthog, POSTHOG_PROJECT_ID="1"),
        "refused key": _against(reference.base_url, *FULL, POSTHOG_PROJECT_ID="1"),
        "unknown project": _with(reference.suite_env(POSTHOG_PROJECT_ID="987654")),
        "other organisation": _with(
            reference.suite_env(POSTHOG_PROJECT_ID=str(creds["other_project_id"]), POSTHOG_OTHER_PROJECT_ID=None)
        ),
        "key for another project": _with(reference.suite_env(POSTHOG_PERSONAL_API_KEY=creds["other_project_api_key"])),
        "no dashboard:read": _against(scopeless_host, POSTHOG_PROJECT_ID="1"),
        "no query:read, events selected": _with(no_query, "tests/test_events.py", *LEAN_DASHBOARDS),
        "no query:read, dashboards only": _with(no_query),
        "host without a key": _with(suite_environment(POSTHOG_HOST="https://ph.example.com")),
        "selftests only": _with(
            suite_environment(POSTHOG_HOST=closed_port, POSTHOG_PERSONAL_API_KEY=WRONG_KEY),
            "selftests/test_config.py", *LEAN,
        ),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run) for name, run in scenarios.items()}
        return {name: future.result() for name, future in futures.items()}


# --- the host ----------------------------------------------------------------------------------------------


def test_dead_host(runs):
    assert_one_clean_sentence(runs["dead host"], names="POSTHOG_HOST", says="connection refused", secrets=(WRONG_KEY,))


def test_silent_host(runs):
    assert_one_clean_sentence(
        runs["silent host"], names="POSTHOG_HOST", says="no answer within 5 s", secrets=(WRONG_KEY,)
    )


def test_a_host_that_is_not_posthog(runs):
    assert_one_clean_sentence(
        runs["not posthog"], names="POSTHOG_HOST", says="is the PostHog API host", secrets=(WRONG_KEY,)
    )


# --- the key and the project, on the reference server ---------------------------------------------------------


def test_refused_key(runs, reference):
    assert_one_clean_sentence(
        runs["refused key"], names="POSTHOG_PERSONAL_API_KEY", says="rejected",
        secrets=(WRONG_KEY, *reference.secrets()),
    )


def test_unknown_project(runs, reference):
    assert_one_clean_sentence(
        runs["unknown project"], names="POSTHOG_PROJECT_ID", says="Project 987654 not found",
        secrets=tuple(reference.secrets()),
    )


def test_project_of_another_organisation(runs, reference):
    assert_one_clean_sentence(
        runs["other organisation"], names="POSTHOG_PROJECT_ID", says="cannot access project",
        secrets=tuple(reference.secrets()),
    )


def test_key_restricted_to_another_project(runs):
    assert_one_clean_sentence(
        runs["key for another project"], names="POSTHOG_PROJECT_ID", says="cannot access project 1"
    )


def test_key_lacking_the_dashboard_read_scope(runs):
    assert_one_clean_sentence(
        runs["no dashboard:read"], names="POSTHOG_PERSONAL_API_KEY", says="lacks the scope 'dashboard:read'",
        secrets=(WRONG_KEY,),
    )


def test_key_lacking_the_scope_the_selected_event_tests_need(runs):
    assert_one_clean_sentence(
        runs["no query:read, events selected"], names="POSTHOG_PERSONAL_API_KEY", says="lacks the scope 'query:read'"
    )
    # the same key is fine for checks that do not read events
    fine = runs["no query:read, dashboards only"]
    assert fine.returncode == 0, fine.output[-3000:]


# --- the settings themselves --------------------------------------------------------------------------------


def test_host_without_a_key(runs):
    assert_one_clean_sentence(runs["host without a key"], names="POSTHOG_PERSONAL_API_KEY", says="is set but")


def test_runs_without_contract_tests_skip_settings_and_preflight(runs):
    """Runs that collect no contract test never start the embedded server nor run preflight."""
    run = runs["selftests only"]
    assert run.returncode == 0, run.output[-3000:]
    assert "posthog-contract:" not in run.output
