"""Read-only mode: only GET (and the other safe methods, HEAD/OPTIONS) reach the host; checks that write
are skipped with the reason shown; and the client itself refuses to send anything else.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from safety_support import LEAN, NO_THROTTLE, run_suite, suite_environment

from posthog_contract.client import SAFE_METHODS, ContractClient, ReadOnlyViolation
from posthog_contract.redaction import Redactor

READ_ONLY_REASON = "read-only mode: this check creates or changes resources on the host"


def logged_methods(log: Path) -> list[str]:
    return [line.split(" ", 1)[0] for line in log.read_text().splitlines() if line.strip()]


def test_read_only_run_sends_only_safe_methods_and_skips_writes_with_the_reason(tmp_path):
    """The whole suite, schemathesis included, on the embedded server (its request log is the witness)."""
    log = tmp_path / "requests.log"
    run = run_suite(
        "tests", "--read-only", "-rs", "-q", f"--reference-arg=--request-log={log}",
        *(f"--reference-arg={arg}" for arg in NO_THROTTLE),
        env=suite_environment(), timeout=300,
    )
    assert run.returncode == 0, run.output[-4000:]
    methods = logged_methods(log)
    assert methods.count("GET") >= 50, f"the read-only run should still read a lot; it sent {len(methods)} requests"
    unsafe = sorted({m for m in methods if m not in SAFE_METHODS})
    assert not unsafe, f"read-only run sent {unsafe} ({len([m for m in methods if m in unsafe])} requests)"
    assert READ_ONLY_REASON in run.output, run.output[-3000:]
    assert " skipped" in run.output and " passed" in run.output


def test_read_only_from_the_environment_variable(servers, tmp_path):
    log = tmp_path / "requests.log"
    server = servers("--request-log", str(log))
    log.write_text("")
    run = run_suite(
        "tests/test_dashboards.py", "tests/test_auth.py", "tests/test_capture.py", *LEAN, "-rs", "-q",
        env=server.suite_env(POSTHOG_READ_ONLY="1"), timeout=120,
    )
    assert run.returncode == 0, run.output[-3000:]
    methods = logged_methods(log)
    assert "GET" in methods and set(methods) <= SAFE_METHODS, sorted(set(methods))
    assert READ_ONLY_REASON in run.output


UNMARKED_WRITER = '''
import pytest


@pytest.mark.operations("dashboards_create")
@pytest.mark.check("status")
def test_forgets_the_writes_marker(client, paths, resources):
    client.post(paths.dashboards(), json={"name": resources.name("should never be sent")})
'''


def test_an_unmarked_writing_check_is_refused_not_sent(servers, tmp_path):
    """The client is the last line of defence: a write that escaped the marker fails loudly, unsent,
    as a tool error (exit 3): the suite broke its own rule, the host did nothing wrong."""
    log = tmp_path / "requests.log"
    server = servers("--request-log", str(log))
    (tmp_path / "test_unmarked.py").write_text(UNMARKED_WRITER)
    log.write_text("")
    run = run_suite(
        "-p", "posthog_contract.plugin", "test_unmarked.py", *LEAN, "--read-only", "-q",
        env=server.suite_env(), cwd=tmp_path, timeout=120,
    )
    assert run.returncode == 3, run.output[-3000:]
    assert "ReadOnlyViolation" in run.output and "refused to send POST" in run.output, run.output[-3000:]
    assert set(logged_methods(log)) <= SAFE_METHODS


# --- the client guard, in-process ---------------------------------------------------------------------


def recording_client(read_only: bool) -> tuple[ContractClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    key = "phx_readonlyguard0123456789"
    client = ContractClient(
        "https://ph.example.com", key, redactor=Redactor([key]), transport=httpx.MockTransport(handler),
        read_only=read_only,
    )
    return client, seen


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE", "post", "TRACE"])
def test_the_read_only_client_refuses_unsafe_methods_and_sends_nothing(method):
    client, seen = recording_client(read_only=True)
    sibling = client.with_key("phx_anotherkey0123456789")
    for who in (client, sibling):
        with pytest.raises(ReadOnlyViolation, match=f"refused to send {method.upper()}"):
            who.request(method, "/api/projects/1/dashboards/", json={"name": "x"})
    assert seen == []


@pytest.mark.parametrize("method", sorted(SAFE_METHODS))
def test_the_read_only_client_sends_safe_methods(method):
    client, seen = recording_client(read_only=True)
    assert client.request(method, "/api/projects/1/dashboards/").status_code == 200
    assert [r.method for r in seen] == [method]


def test_read_only_is_shared_with_siblings_both_ways():
    client, seen = recording_client(read_only=False)
    sibling = client.with_key(None)
    client.read_only = True
    with pytest.raises(ReadOnlyViolation):
        sibling.post("/api/projects/1/dashboards/", json={})
    assert sibling.read_only and seen == []
