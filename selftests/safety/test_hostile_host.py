"""A hostile host gets nothing (issue 20), and the one redirect PostHog serves is followed safely (issue 22).

Both transports (the suite's httpx client and the ``requests`` session schemathesis sends through)
are driven against a hostile stand-in (selftests/safety/hostile.py, a small local server, not the
reference server): a ``next`` or a redirect naming another port, a 50 MB answer, an answer dripped a
byte at a time. A second listener on another port is the foreign origin: it must receive nothing,
ever. The end-to-end tests run the suite, the ``cleanup`` command and ``drift`` as a user does,
against a proxy in front of a reference server that adds the mischief.
"""

from __future__ import annotations

import gzip
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hostile import (
    DASHBOARD_LIST,
    Answer,
    Forward,
    Seen,
    StandIn,
    answer_instead,
    drip,
    foreign_next,
    huge,
    json_answer,
)
from safety_support import LEAN, ROOT, run_dashboards, run_suite, suite_environment, wait_for

from posthog_contract import lifecycle, pagination
from posthog_contract.client import ContractClient
from posthog_contract.config import Settings
from posthog_contract.outcomes import OutcomeLog
from posthog_contract.paths import ApiPaths
from posthog_contract.policy import ExchangeBounds, HostViolation, RateLimitExhausted, RequestLedger
from posthog_contract.property_based import http_session
from posthog_contract.redaction import Redactor
from posthog_contract.resources import RunResources, dashboard_name, find_leftovers

KEY = "phx_HOSTILECANARY0123456789abcdefghijkl"
RUN_ID = "pcrhostile001"


def httpx_client(host: StandIn, **kwargs: Any) -> ContractClient:
    kwargs.setdefault("redactor", Redactor([KEY]))
    return ContractClient(host.url, KEY, **kwargs)


def settings_for(host: StandIn, **fields: Any) -> Settings:
    return Settings(base_url=host.url, personal_api_key=KEY, project_id="1", capture_url=host.url, **fields)


class Transport:
    """One of the two transports, sending ``method url`` and answering (status, body, history statuses)."""

    def __init__(self, name: str, host: StandIn, **settings: Any) -> None:
        self.name = name
        self.settings = settings_for(host, **settings)
        self.ledger = RequestLedger()  # the run's ledger, as a ContractSession hands it to both transports
        if name == "httpx":
            self.client = httpx_client(
                host, bounds=self.settings.bounds(), max_retry_wait=self.settings.max_retry_wait, ledger=self.ledger
            )
        else:
            self.session = http_session(self.settings, redactor=Redactor([KEY]), ledger=self.ledger)

    def send(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes, list[int]]:
        if self.name == "httpx":
            response = self.client.request(method, url, content=body)
            return response.status_code, response.content, [r.status_code for r in response.history]
        absolute = url if url.startswith("http") else self.settings.base_url + url  # type: ignore[operator]
        answer = self.session.request(
            method, absolute, data=body, headers={"Authorization": f"Bearer {KEY}"}, allow_redirects=False
        )
        return answer.status_code, answer.content, [r.status_code for r in answer.history]


TRANSPORTS = ("httpx", "requests")


# --- one origin rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_neither_transport_sends_anything_to_another_origin(stand_in, listener, transport):
    host = stand_in(lambda seen: json_answer(200, {}))
    sender = Transport(transport, host)
    with pytest.raises(HostViolation) as info:
        sender.send("GET", f"{listener.url}/api/projects/1/dashboards/?personal_api_key={KEY}")
    message = str(info.value)
    assert message.startswith("host violation: refused to send GET http://127.0.0.1:")
    assert str(listener.port) in message and KEY not in message
    assert host.requests == [] and listener.requests == []


def test_the_capture_host_is_a_configured_origin_too(stand_in):
    api = stand_in(lambda seen: json_answer(200, {"api": True}))
    capture = stand_in(lambda seen: json_answer(200, {"status": 1}))
    client = httpx_client(api, origins=(capture.url,))
    assert client.post(f"{capture.url}/batch/", json={}, api_key=None).json() == {"status": 1}
    assert len(capture.requests) == 1


def _dashboards_with_foreign_next(listener: StandIn) -> Callable[[Seen], Answer]:
    def respond(seen: Seen) -> Answer:
        if seen.method == "GET" and DASHBOARD_LIST.match(seen.path):
            item = {"id": 7, "name": dashboard_name(RUN_ID, "left"), "created_at": "2020-01-01T00:00:00Z"}
            return json_answer(200, {"count": 2, "next": f"{listener.url}{seen.path}", "previous": None,
                                     "results": [item]})
        return json_answer(200, {"id": 7, "deleted": True})

    return respond


def test_the_cleanup_sweep_refuses_a_foreign_next_and_says_so(stand_in, listener):
    host = stand_in(_dashboards_with_foreign_next(listener))
    with httpx_client(host) as client:
        resources = RunResources(client, ApiPaths("1"), RUN_ID)
        problems = resources.cleanup(sweep=True)
    assert listener.requests == [], "the key reached the foreign port"
    assert len(problems) == 1 and "final sweep: host violation: refused to send GET http://127.0.0.1:" in problems[0]
    assert str(listener.port) in problems[0] and KEY not in problems[0]
    assert [seen.path for seen in host.requests] == ["/api/projects/1/dashboards/?limit=200"]


def test_the_leftovers_walk_of_the_cleanup_command_refuses_a_foreign_next(stand_in, listener):
    host = stand_in(_dashboards_with_foreign_next(listener))
    with httpx_client(host) as client, pytest.raises(HostViolation, match="refused to send GET"):
        find_leftovers(client, ApiPaths("1"), run_id=RUN_ID)
    assert listener.requests == []


def test_the_tests_walker_refuses_a_foreign_next(stand_in, listener):
    host = stand_in(lambda seen: json_answer(200, {"count": 0, "next": f"{listener.url}{seen.path}", "previous": None,
                                                   "results": []}))
    with httpx_client(host) as client, pytest.raises(AssertionError, match="configured host and port"):
        pagination.walk(client, "/api/projects/1/dashboards/", {"limit": "1"}, shape="dashboard-list-page", limit=1)
    assert listener.requests == []


# --- redirects: the /api/environments/ successor only (contract §1.9) ----------------------------------

ENV = "/api/environments/1/dashboards/"


Respond = Callable[[Seen], Answer]


def _redirecting(location: Callable[[StandIn], str], status: int = 307) -> Callable[[StandIn], Respond]:
    """A host answering ``status`` + ``location`` on the environments path, and its answer elsewhere."""

    def make(listener: StandIn) -> Callable[[Seen], Answer]:
        def respond(seen: Seen) -> Answer:
            if seen.path.startswith("/api/environments/"):
                return Answer(status, {"Location": location(listener), "Deprecation": "true",
                                       "Link": '</api/projects/1/dashboards/?a=1>; rel="successor-version"'})
            return json_answer(200, {"method": seen.method, "path": seen.path, "body": seen.body.decode()})

        return respond

    return make


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("method", ["GET", "POST", "PATCH"])
def test_the_successor_redirect_is_followed_once_with_the_same_method_and_body(
    stand_in, listener, transport, status, method
):
    host = stand_in(_redirecting(lambda _: "/api/projects/1/dashboards/?a=1", status)(listener))
    body = b'{"name": "x"}' if method != "GET" else None
    sender = Transport(transport, host)
    answered, content, history = sender.send(method, ENV + "?a=1", body)
    assert answered == 200 and history == [status]
    assert json.loads(content) == {"method": method, "path": "/api/projects/1/dashboards/?a=1",
                                   "body": (body or b"").decode()}
    assert [seen.path for seen in host.requests] == [ENV + "?a=1", "/api/projects/1/dashboards/?a=1"]
    assert host.requests[1].headers.get("Authorization") == f"Bearer {KEY}"  # same origin: the key may go
    (record,) = sender.ledger.deprecations.records
    assert record.redirect_status == status and record.prefix == "environments" and record.path == ENV
    assert record.operation_id == {"GET": "dashboards_list", "POST": "dashboards_create", "PATCH": None}[method]
    assert record.successor == "/api/projects/1/dashboards/?a=1" and record.deprecation == "true"
    assert listener.requests == []


REFUSED = {
    "another origin": (307, lambda listener: f"{listener.url}/api/projects/1/dashboards/?a=1"),
    "another project": (307, lambda listener: "/api/projects/2/dashboards/?a=1"),
    "another resource": (307, lambda listener: "/api/projects/1/events/?a=1"),
    "the query changed": (307, lambda listener: "/api/projects/1/dashboards/?a=2"),
    "a 301": (301, lambda listener: "/api/projects/1/dashboards/?a=1"),
    "a 302": (302, lambda listener: "/api/projects/1/dashboards/?a=1"),
    "a 303": (303, lambda listener: "/api/projects/1/dashboards/?a=1"),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_any_other_redirect_is_the_hosts_answer(stand_in, listener, transport, case):
    status, location = REFUSED[case]
    host = stand_in(_redirecting(location, status)(listener))
    answered, _, history = Transport(transport, host).send("POST", ENV + "?a=1", b"{}")
    assert answered == status and history == []
    assert len(host.requests) == 1 and listener.requests == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_second_hop_is_not_followed(stand_in, listener, transport):
    def respond(seen: Seen) -> Answer:
        if seen.path.startswith("/api/environments/"):
            return Answer(307, {"Location": "/api/projects/1/dashboards/"})
        return Answer(307, {"Location": f"{listener.url}/api/projects/1/dashboards/"})

    host = stand_in(respond)
    answered, _, history = Transport(transport, host).send("GET", ENV)
    assert answered == 307 and len(host.requests) == 2 and listener.requests == []
    # requests' Session empties the history of an answer that is itself a redirect (resolve_redirects)
    assert history == ([307] if transport == "httpx" else [])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_redirect_of_a_projects_path_is_not_followed(stand_in, listener, transport):
    host = stand_in(lambda seen: Answer(307, {"Location": "/api/projects/1/events/"}))
    answered, _, history = Transport(transport, host).send("GET", "/api/projects/1/dashboards/")
    assert answered == 307 and len(host.requests) == 1


# --- bounds: the deadline over the whole exchange, the size cap ------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_answer_ends_at_the_deadline_as_a_host_violation(stand_in, transport, where):
    """A byte every 0.3 s never trips the 30 s per-read timeout; the 1.5 s deadline ends it."""
    if where == "body":
        host = stand_in(lambda seen: drip(1000, 0.3))
    else:
        host = stand_in(lambda seen: Answer(200, {"Content-Type": "application/json"}, b"{}", head_delay=0.3))
    sender = Transport(transport, host, deadline=1.5, timeout=30.0)
    started = time.monotonic()
    with pytest.raises(HostViolation) as info:
        sender.send("GET", "/api/projects/1/dashboards/")
    took = time.monotonic() - started
    assert took < 1.5 + 1.0, f"the deadline of 1.5 s held the request for {took:.1f} s"
    message = str(info.value)
    assert "was not complete within the request deadline of 1.5 s" in message
    assert "POSTHOG_REQUEST_DEADLINE" in message


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
def test_a_huge_answer_ends_at_the_size_cap_as_a_host_violation(stand_in, transport, declare):
    host = stand_in(lambda seen: huge(50_000_000, declare=declare))
    sender = Transport(transport, host, max_response_mb=1.0)
    started = time.monotonic()
    with pytest.raises(HostViolation) as info:
        sender.send("GET", "/api/projects/1/events/")
    message = str(info.value)
    assert "above the response size cap of 1,000,000 bytes" in message and "POSTHOG_MAX_RESPONSE_MB" in message
    assert ("declares Content-Length 50,000,000 bytes" in message) == declare
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_size_cap_counts_a_compressed_answer_at_its_real_size(stand_in, transport):
    bomb = gzip.compress(b"[" + b"0," * 5_000_000 + b"0]")  # 10 MB of JSON in about 10 KB
    host = stand_in(lambda seen: Answer(200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, bomb))
    with pytest.raises(HostViolation, match="above the response size cap of 1,000,000 bytes"):
        Transport(transport, host, max_response_mb=1.0).send("GET", "/api/projects/1/events/")


def test_a_bounds_violation_keeps_its_evidence_redacted(stand_in):
    host = stand_in(lambda seen: huge(5_000_000, declare=False))
    client = httpx_client(host, bounds=ExchangeBounds(deadline=10, max_bytes=100_000))
    with pytest.raises(HostViolation) as info:
        client.get(f"/api/projects/1/events/?token={KEY}")
    exchange = info.value.exchange
    assert exchange is not None and exchange.status == 200 and "above the response size cap" in exchange.note
    assert KEY not in exchange.as_text() and exchange.response_body and exchange.response_body.startswith('{"results"')


def test_answers_within_the_bounds_pass_untouched(stand_in):
    payload = {"results": [{"n": i, "text": "y" * 200} for i in range(2000)], "next": None}  # about 450 kB
    host = stand_in(lambda seen: json_answer(200, payload))
    client = httpx_client(host, bounds=ExchangeBounds(deadline=10, max_bytes=1_000_000))
    assert client.get("/api/projects/1/events/").json() == payload
    session = http_session(settings_for(host, max_response_mb=1.0))
    assert session.get(f"{host.url}/api/projects/1/events/").json() == payload


# --- a spent rate limit, cleanup's signals --------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_retry_after_past_the_budget_spends_the_rate_limit_in_both_transports(stand_in, transport):
    host = stand_in(lambda seen: json_answer(429, {"detail": "throttled"}, **{"Retry-After": "2199"}))
    sender = Transport(transport, host, max_retry_wait=120.0)
    started = time.monotonic()
    with pytest.raises(RateLimitExhausted):
        sender.send("GET", "/api/projects/1/dashboards/")
    assert time.monotonic() - started < 2, "a Retry-After beyond the budget is not waited on"
    spent = sender.ledger.rate_limit_spent
    assert spent is not None and "resets in 2,199 s" in spent
    with pytest.raises(RateLimitExhausted):
        sender.send("GET", "/api/projects/1/dashboards/")
    assert len(host.requests) == 1, "nothing more is sent once the rate limit is spent"


def _interrupt_main_after(seconds: float, signum: int) -> None:
    main = threading.main_thread().ident
    assert main is not None
    threading.Timer(seconds, signal.pthread_kill, (main, signum)).start()


def test_a_first_signal_during_a_throttled_cleanup_abandons_it_after_the_grace_period(stand_in):
    """The cleanup waits a 30 s Retry-After (within the budget); one SIGTERM ends it 1 s (the grace) later."""
    host = stand_in(lambda seen: json_answer(429, {"detail": "throttled"}, **{"Retry-After": "30"}))
    with httpx_client(host, max_retry_wait=120) as client:
        resources = RunResources(client, ApiPaths("1"), RUN_ID)
        resources.track_dashboard(1)
        resources.track_dashboard(2)
        _interrupt_main_after(0.5, signal.SIGTERM)
        started = time.monotonic()
        log = OutcomeLog()
        with pytest.raises(KeyboardInterrupt), lifecycle.signals_deferred(RUN_ID, grace=1.0, log=log):
            resources.cleanup(sweep=True)
        took = time.monotonic() - started
    assert 1.4 <= took < 3.5, f"abandoned after {took:.1f} s; expected the signal (0.5 s) plus the grace (1 s)"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert log.entries[-1].message.startswith("cleanup abandoned after a signal; finish it with: python -m")


def test_a_grace_period_ends_with_the_cleanup_when_cleanup_finishes_first():
    with lifecycle.signals_deferred(RUN_ID, grace=0.3):
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # type: ignore[arg-type]
        time.sleep(0.05)  # noted, cleanup goes on
    time.sleep(0.6)  # the grace timer must not interrupt what comes after the cleanup


# --- end to end: the suite, the cleanup command and drift, as a user runs them ----------------------------


def _command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "posthog_contract", *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_no_walk_sends_anything_to_a_foreign_next(server, stand_in, listener):
    """Every dashboards list page names a `next` on the listener's port: the run's pagination checks
    fail (a violation), its final sweep refuses the link and says so, the `cleanup` command refuses it
    (exit 1), and the listener receives nothing. The run's tracked dashboards are still removed."""
    proxy = stand_in(Forward(server.base_url, foreign_next(listener)))
    run = run_suite_against(proxy, server, "tests/test_pagination.py")
    assert run.returncode == 1, run.output[-3000:]
    refused = f"host violation: refused to send GET http://127.0.0.1:{listener.port}/api/projects/"
    assert "final sweep: " + refused in run.output, run.output[-3000:]
    assert listener.requests == [], f"the foreign port received {[(s.method, s.path) for s in listener.requests]}"
    api = server.client()
    assert run_dashboards(api, server.project_path) == [], "the tracked dashboards were soft-deleted all the same"
    api.post(f"{server.project_path}/dashboards/", json={"name": dashboard_name("pcrleftover01", "x")})

    env = suite_environment(POSTHOG_PERSONAL_API_KEY=server.credentials["personal_api_key"])
    cleanup = _command("cleanup", "--host", proxy.url, "--project-id", str(server.credentials["project_id"]),
                       "--older-than", "0s", env=env)
    assert cleanup.returncode == 1, cleanup.stdout + cleanup.stderr
    assert refused in cleanup.stderr and "leftover dashboard(s) found" not in cleanup.stdout
    assert listener.requests == []
    assert server.credentials["personal_api_key"] not in cleanup.stdout + cleanup.stderr


def test_drift_does_not_follow_the_schema_to_another_port(server, stand_in, listener):
    moved = answer_instead(re.compile(r"^/api/schema/"),
                           lambda seen: Answer(307, {"Location": f"{listener.url}/api/schema/"}))
    proxy = stand_in(Forward(server.base_url, instead=[moved]))
    env = suite_environment(POSTHOG_PERSONAL_API_KEY=server.credentials["personal_api_key"])
    drift = _command("drift", "--host", proxy.url, env=env)
    assert "answered 307" in drift.stdout + drift.stderr, drift.stdout + drift.stderr
    assert [seen.path for seen in proxy.requests] == ["/api/schema/"] and listener.requests == []


def run_suite_against(proxy: StandIn, server: Any, *args: str, **env: str) -> Any:
    return run_suite(*args, *LEAN, "-q", env=server.suite_env(POSTHOG_HOST=proxy.url, **env), timeout=300)


def test_a_spent_rate_limit_ends_the_run_fast_however_many_tests_remain():
    """Issue 24: 30 requests an hour; the host then answers Retry-After ~3600 s. No test waits for it:
    the run stops at once with one sentence, exits 3, and leaves cleanup (throttled too) to the
    `cleanup` command, printed with the run id."""
    modules = ("tests/test_dashboards.py", "tests/test_sharing.py", "tests/test_collaborators.py", "tests/test_auth.py")
    run = run_suite(*modules, *LEAN, "-rA", "--reference-arg=--rate-limit=30/hour",
                    env=suite_environment(POSTHOG_MAX_RETRY_WAIT="5"), timeout=300)
    assert run.returncode == 3, run.output[-4000:]
    sentence = "the key's rate limit is spent: the host refused with 429 past POSTHOG_MAX_RETRY_WAIT=5 s"
    assert f"posthog-contract: {sentence}" in run.output, run.output[-4000:]
    assert re.search(r"resets in 3,\d{3} s, at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", run.output), run.output[-3000:]
    assert re.search(r"cleanup stopped: the host's rate limit for this key is spent; once it resets run: "
                     r"python -m posthog_contract cleanup --run-id pcr[a-z0-9]{10}", run.output), run.output[-3000:]
    collected = int(re.search(r"collected (\d+) items", run.output).group(1))  # type: ignore[union-attr]
    ran = len(re.findall(r"^(?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|UNAVAILABLE) tests/", run.output, re.MULTILINE))
    assert 0 < ran < collected / 2, f"{ran} of {collected} tests ran: the run did not stop"
    assert "Traceback" not in run.output.split("short test summary")[0][-2000:]
    assert run.seconds < 5 + 40, f"took {run.seconds:.0f} s"


def test_sigterm_during_a_throttled_cleanup_ends_the_process_within_seconds(server, stand_in, spawn_suite):
    """Cleanup's soft-deletes are answered 429 with Retry-After 50 (within the 120 s budget), so cleanup
    waits; one SIGTERM then ends the process after the grace period (3 s), saying how to finish."""
    def throttled_soft_delete(seen: Seen) -> Answer | None:
        if seen.method == "PATCH" and re.search(rb'"deleted":\s*true', seen.body):
            return json_answer(429, {"type": "throttled_error", "code": "throttled", "detail": "Slow down.",
                                     "attr": None}, **{"Retry-After": "50"})
        return None

    proxy = stand_in(Forward(server.base_url, instead=[throttled_soft_delete]))
    suite = spawn_suite("tests/test_dashboards.py", *LEAN, "-q", env=server.suite_env(POSTHOG_HOST=proxy.url))
    wait_for(lambda: any(throttled_soft_delete(seen) for seen in proxy.requests), timeout=120, what="cleanup")
    time.sleep(0.5)  # it is waiting on the 429 now
    started = time.monotonic()
    suite.process.send_signal(signal.SIGTERM)
    code = suite.finish(timeout=60)
    took = time.monotonic() - started
    assert took < 3 + 4, f"the process took {took:.1f} s after SIGTERM"
    assert code == 2, f"an interrupted run exits 2, got {code}:\n{suite.output[-3000:]}"
    assert "cleanup abandoned; finish it with: python -m posthog_contract cleanup --run-id pcr" in suite.output, (
        suite.output[-3000:]
    )
