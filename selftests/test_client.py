"""The suite's one HTTP client: auth header rules, 429 budget, and evidence that never leaks a key."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable

import httpx
import pytest

from posthog_contract.client import (
    BODY_LIMIT,
    USER_AGENT,
    ContractClient,
    Exchange,
    RateLimitExhausted,
    describe,
)
from posthog_contract.redaction import REDACTED, Redactor

CANARY = "phx_CANARY0123456789abcdef"
OTHER_KEY = "phx_OTHERKEY0123456789"
BASE = "https://ph.example.com/prefix"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    """Records the sleeps instead of taking them."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(handler: Handler, **kwargs: object) -> ContractClient:
    kwargs.setdefault("sleep", FakeSleep())
    return ContractClient(
        BASE,
        CANARY,
        redactor=Redactor([CANARY]),
        transport=httpx.MockTransport(handler),
        **kwargs,  # type: ignore[arg-type]
    )


def echo(request: httpx.Request) -> httpx.Response:
    """Answers with what it received, key included, as a careless host might."""
    return httpx.Response(
        200,
        json={
            "url": str(request.url),
            "authorization": request.headers.get("authorization"),
            "user_agent": request.headers.get("user-agent"),
            "body": request.content.decode(),
            "content_type": request.headers.get("content-type"),
        },
    )


def scripted(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler, seen


def everything_recorded(client: ContractClient) -> str:
    return "\n".join(repr(e) + e.as_text() for e in client.exchanges) + "\n".join(client.warnings)


# -- auth and URLs --------------------------------------------------------------------------------


def test_the_key_goes_in_a_bearer_header_with_the_suite_user_agent() -> None:
    client = make_client(echo)
    body = client.get("/api/users/@me/").json()
    assert body["authorization"] == f"Bearer {CANARY}"
    assert body["user_agent"] == USER_AGENT and USER_AGENT.startswith("posthog-contract/")


def test_relative_urls_keep_the_base_path_and_absolute_urls_to_a_configured_origin_pass_through() -> None:
    client = make_client(echo, origins=["https://capture.example"])
    assert client.get("/api/projects/", params={"limit": 1}).json()["url"] == BASE + "/api/projects/?limit=1"
    assert client.get("https://capture.example/batch/").json()["url"] == "https://capture.example/batch/"


def test_api_key_none_sends_no_authorization_header() -> None:
    assert make_client(echo).get("/x", api_key=None).json()["authorization"] is None


def test_api_key_string_overrides_and_is_redacted_too() -> None:
    client = make_client(echo)
    assert client.get("/x", api_key=OTHER_KEY).json()["authorization"] == f"Bearer {OTHER_KEY}"
    assert OTHER_KEY not in everything_recorded(client)


def test_an_explicit_authorization_header_wins() -> None:
    client = make_client(echo)
    assert client.get("/x", headers={"authorization": "Basic dXNlcjpwYXNz"}).json()["authorization"] == (
        "Basic dXNlcjpwYXNz"
    )
    assert client.last is not None and client.last.request_headers["authorization"] == f"Basic {REDACTED}"


def test_with_key_shares_the_recorder_and_registers_the_key() -> None:
    client = make_client(echo)
    sibling = client.with_key(OTHER_KEY)
    assert sibling.get("/x").json()["authorization"] == f"Bearer {OTHER_KEY}"
    client.get("/y")
    assert [e.url for e in client.exchanges] == [BASE + "/x", BASE + "/y"]
    assert sibling.exchanges == client.exchanges and OTHER_KEY in client.redactor.secrets
    assert OTHER_KEY not in everything_recorded(client)


def test_json_sentinel_distinguishes_no_body_from_null() -> None:
    client = make_client(echo)
    assert client.post("/x").json()["content_type"] is None
    assert client.post("/x", json=None).json()["body"] == "null"
    assert client.post("/x", data={"a": "1"}).json()["body"] == "a=1"
    assert client.post("/x", content=b"raw").json()["body"] == "raw"


def test_redirects_are_not_followed() -> None:
    handler, seen = scripted(httpx.Response(302, headers={"Location": "https://elsewhere.example/"}))
    assert make_client(handler).get("/x").status_code == 302 and len(seen) == 1


# -- evidence -------------------------------------------------------------------------------------


def test_exchanges_are_redacted_everywhere_the_key_travels() -> None:
    client = make_client(echo)
    client.post(
        f"/api/events/?personal_api_key={CANARY}&note={CANARY}",
        json={"name": "d", "description": CANARY, "nested": {"innocuous": [CANARY]}, "token": "t0ken"},
    )
    client.post("/form", data={"personal_api_key": CANARY, "name": "n"})
    text = everything_recorded(client)
    assert CANARY not in text and "t0ken" not in text
    exchange = client.exchanges[0]
    assert exchange.request_headers["authorization"] == f"Bearer {REDACTED}"
    assert exchange.status == 200 and exchange.elapsed_ms >= 0
    assert json.loads(exchange.request_body or "")["nested"] == {"innocuous": [REDACTED]}


def test_as_text_reads_like_curl() -> None:
    client = make_client(
        lambda r: httpx.Response(404, json={"type": "invalid_request", "detail": "Not found."})
    )
    client.get("/api/projects/1/dashboards/9/")
    text = client.last.as_text() if client.last else ""
    lines = text.splitlines()
    assert lines[0] == f"GET {BASE}/api/projects/1/dashboards/9/"
    assert f"> authorization: Bearer {REDACTED}" in lines
    assert "< 404 Not Found" in text and "< content-type: application/json" in lines and "Not found." in text
    assert CANARY not in text


def test_describe_is_one_redacted_paragraph() -> None:
    client = make_client(echo)
    response = client.post("/x", json={"secret": CANARY})
    text = describe(response, client.redactor)
    assert CANARY not in text and "\n" not in text
    assert text.startswith(f"POST {BASE}/x (auth: Bearer {REDACTED}; sent: ")
    assert "answered 200 OK [application/json] with body:" in text
    assert client.describe(response) == text


def test_describe_an_empty_body() -> None:
    client = make_client(lambda r: httpx.Response(405))
    text = describe(client.delete("/d/1/", api_key=None), client.redactor)
    expected = "answered 405 Method Not Allowed [no content-type] with an empty body"
    assert text == f"DELETE {BASE}/d/1/ (auth: none) {expected}"


def test_bodies_are_truncated_after_redaction() -> None:
    payload = "x" * (BODY_LIMIT - 5) + CANARY + "y" * 100
    client = make_client(lambda r: httpx.Response(200, text=payload))
    client.get("/big")
    body = client.last.response_body if client.last else ""
    assert body is not None and body.startswith("x" * 100) and "truncated" in body
    assert CANARY[:8] not in body


def test_on_exchange_hook_sees_every_exchange_and_history_is_bounded() -> None:
    seen: list[Exchange] = []
    client = make_client(echo, on_exchange=seen.append, history=3)
    for i in range(5):
        client.get(f"/n/{i}")
    assert [e.url.rsplit("/", 1)[1] for e in seen] == ["0", "1", "2", "3", "4"]
    assert [e.url.rsplit("/", 1)[1] for e in client.exchanges] == ["2", "3", "4"]


def test_network_errors_propagate_and_are_recorded() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = make_client(refuse)
    with pytest.raises(httpx.ConnectError, match="Connection refused"):
        client.get("/x")
    assert client.last is not None and client.last.status is None and "ConnectError" in client.last.note
    assert "no answer" in client.last.as_text()


def test_a_secret_in_a_network_error_message_is_redacted() -> None:
    def leak(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out talking about {CANARY}", request=request)

    with pytest.raises(httpx.ReadTimeout) as info:
        make_client(leak).get("/x")
    assert CANARY not in str(info.value) and REDACTED in str(info.value)


def test_per_request_timeout_overrides_the_default() -> None:
    handler, seen = scripted(httpx.Response(200))
    client = make_client(handler, timeout=30)
    client.get("/a")
    client.get("/b", timeout=2.5)
    assert seen[0].extensions["timeout"]["read"] == 30 and seen[1].extensions["timeout"]["read"] == 2.5


# -- 429 ------------------------------------------------------------------------------------------


def throttled(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(
        429,
        headers=headers,
        json={
            "type": "throttled_error",
            "code": "throttled",
            "detail": "Request was throttled.",
            "attr": None,
        },
    )


def test_retry_after_is_honoured_and_each_429_is_a_warning() -> None:
    handler, seen = scripted(throttled("2"), throttled("1"), httpx.Response(200, json={}))
    sleep = FakeSleep()
    client = make_client(handler, sleep=sleep)
    assert client.get("/api/projects/1/events/").status_code == 200
    assert sleep.calls == [2.0, 1.0] and len(seen) == 3
    assert client.retries_on_429 == 2 and client.slept_on_429 == 3.0
    assert len(client.warnings) == 2 and client.warnings[0].startswith("429 on GET ")
    assert "Retry-After 2 s" in client.warnings[0] and "waited 2 s" in client.warnings[0]
    assert [e.status for e in client.exchanges] == [429, 429, 200]


def test_missing_retry_after_backs_off_exponentially() -> None:
    handler, _ = scripted(throttled(), throttled(), throttled(), httpx.Response(200))
    sleep = FakeSleep()
    make_client(handler, sleep=sleep).get("/x")
    assert sleep.calls == [1.0, 2.0, 4.0]


def test_an_http_date_retry_after_is_understood() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    handler, _ = scripted(throttled(when), httpx.Response(200))
    sleep = FakeSleep()
    make_client(handler, sleep=sleep).get("/x")
    assert len(sleep.calls) == 1 and 28 <= sleep.calls[0] <= 31


def test_a_past_http_date_means_retry_now() -> None:
    handler, _ = scripted(throttled("Wed, 21 Oct 2015 07:28:00 GMT"), httpx.Response(200))
    sleep = FakeSleep()
    make_client(handler, sleep=sleep).get("/x")
    assert sleep.calls == [0.0]


def test_the_wait_budget_is_bounded_and_exhaustion_says_which_setting_to_raise() -> None:
    """Budget 5 s, Retry-After 3 s: the first wait fits, the second (3 s > the 2 s left) is not started."""
    handler, seen = scripted(throttled("3"))
    sleep = FakeSleep()
    client = make_client(handler, sleep=sleep, max_retry_wait=5)
    with pytest.raises(RateLimitExhausted) as info:
        client.get(f"/x?token={CANARY}")
    assert sleep.calls == [3.0] and len(seen) == 2
    message = str(info.value)
    assert message.startswith("host kept answering 429 for 3 s")
    assert "POSTHOG_MAX_RETRY_WAIT" in message and CANARY not in message
    assert "last Retry-After asked for 3 s" in message
    assert info.value.waited == 3 and info.value.attempts == 2 and info.value.retry_after == 3
    assert info.value.exchange is not None and info.value.exchange.status == 429


def test_a_retry_after_beyond_the_budget_is_not_waited_and_spends_the_rate_limit() -> None:
    """Issue 24: PostHog answered `Retry-After: 2199` once the hourly limit was spent; nothing is waited,
    the ledger says when the limit resets, and the next check's request is refused unsent."""
    handler, seen = scripted(throttled("2199"), httpx.Response(200))
    sleep = FakeSleep()
    client = make_client(handler, sleep=sleep, max_retry_wait=120)
    with pytest.raises(RateLimitExhausted):
        client.get("/api/projects/1/dashboards/")
    assert sleep.calls == [] and len(seen) == 1
    spent = client.ledger.rate_limit_spent
    assert spent is not None and spent.startswith("the key's rate limit is spent") and client.ledger.stops_the_run
    assert "resets in 2,199 s, at " in spent and "UTC" in spent and "POSTHOG_MAX_RETRY_WAIT=120 s" in spent
    with pytest.raises(RateLimitExhausted, match="rate limit is spent"):
        client.get("/api/projects/1/dashboards/")
    assert len(seen) == 1, "a check's request after the limit was spent must not be sent"
    with client.ledger.unmetered():  # cleanup still tries
        assert client.get("/api/projects/1/dashboards/").status_code == 200
    assert len(seen) == 2


def test_a_rate_limit_spent_only_by_cleanup_does_not_stop_the_run() -> None:
    handler, _ = scripted(throttled("2199"))
    client = make_client(handler)
    with client.ledger.unmetered(), pytest.raises(RateLimitExhausted):
        client.patch("/api/projects/1/dashboards/1/", json={"deleted": True})
    assert client.ledger.rate_limit_spent is not None and not client.ledger.stops_the_run


def test_attempts_are_bounded_even_when_the_host_says_retry_now() -> None:
    handler, seen = scripted(throttled("0"))
    client = make_client(handler, max_attempts=3)
    with pytest.raises(RateLimitExhausted):
        client.get("/x")
    assert len(seen) == 3 and client.retries_on_429 == 2


def test_a_zero_budget_fails_on_the_first_429_without_sleeping() -> None:
    handler, seen = scripted(throttled("1"))
    sleep = FakeSleep()
    with pytest.raises(RateLimitExhausted, match="for 0 s"):
        make_client(handler, sleep=sleep, max_retry_wait=0).get("/x")
    assert sleep.calls == [] and len(seen) == 1


def test_a_429_retry_resends_the_same_body() -> None:
    handler, seen = scripted(throttled("1"), httpx.Response(201))
    make_client(handler).post("/x", json={"name": "n"})
    assert [r.content for r in seen] == [b'{"name":"n"}'] * 2


def test_a_large_json_body_is_redacted_by_value_and_by_key_before_the_cut() -> None:
    events = [{"n": i, "properties": {"echo": CANARY, "token": "t0ken"}} for i in range(3000)]
    client = make_client(lambda r: httpx.Response(200, json={"results": events}))
    client.get("/api/projects/1/events/")
    body = client.last.response_body if client.last else None
    assert body is not None and len(body) < BODY_LIMIT + 100 and "truncated" in body
    assert CANARY not in body and "t0ken" not in body and body.count(REDACTED) > 100
