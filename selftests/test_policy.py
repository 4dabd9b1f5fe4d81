"""The rules both transports share (posthog_contract.policy), one at a time: origin, redirect, bounds, 429."""

from __future__ import annotations

import time

import pytest

from posthog_contract.policy import (
    DeadlinePassed,
    ExchangeBounds,
    HostViolation,
    Origins,
    RetryBudget,
    io_timeout,
    origin_of,
    redirect_decision,
    successor_path,
)


def test_an_origin_is_scheme_host_and_port() -> None:
    assert origin_of("https://US.PostHog.com/api/") == ("https", "us.posthog.com", 443)
    assert origin_of("http://h:8010/x") == ("http", "h", 8010)
    assert origin_of("/api/projects/") is None and origin_of("ftp://h/") is None and origin_of("http://h:x/") is None


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://us.posthog.com/api/projects/1/dashboards/?offset=2", True),
        ("https://us.posthog.com:443/x", True),
        ("https://us.i.posthog.com/batch/", True),  # the capture host
        ("http://us.posthog.com/x", False),  # another scheme: the key in clear text
        ("https://us.posthog.com:8443/x", False),  # another port
        ("https://us.posthog.com.evil.example/x", False),
        ("https://evil.example/?h=us.posthog.com", False),
        ("//evil.example/x", False),
        ("/relative", False),  # the client resolves relative URLs first; a bare path names no origin
    ],
)
def test_only_the_configured_origins_are_allowed(url: str, allowed: bool) -> None:
    origins = Origins.of("https://us.posthog.com", "https://us.i.posthog.com", None)
    assert origins.allows(url) is allowed


def test_a_refusal_is_a_host_violation_naming_the_configured_hosts() -> None:
    with pytest.raises(HostViolation) as info:
        Origins.of("https://h").refuse_foreign("get", "https://e/x", "https://e/x")
    assert isinstance(info.value, AssertionError)  # a judgement about the host: a violation, not a tool error
    assert str(info.value).startswith("host violation: refused to send GET https://e/x")
    assert "configured host (https://h:443)" in str(info.value)
    with pytest.raises(HostViolation, match="no host is configured"):
        Origins().refuse_foreign("GET", "https://e/x", "https://e/x")


def test_the_successor_path_is_the_same_project_and_resource() -> None:
    assert successor_path("/api/environments/1/dashboards/5/") == "/api/projects/1/dashboards/5/"
    assert successor_path("/api/environments/@current/") == "/api/projects/@current/"
    assert successor_path("/api/projects/1/dashboards/") is None
    assert successor_path("/api/environments/") is None
    assert successor_path("/api/environments_lookalike/") is None


REQUEST = "https://h/api/environments/1/events/?limit=5&after=2026-01-01"


@pytest.mark.parametrize(
    ("status", "location", "followed"),
    [
        (307, "/api/projects/1/events/?limit=5&after=2026-01-01", True),  # PostHog's relative Location
        (308, "https://h/api/projects/1/events/?after=2026-01-01&limit=5", True),  # absolute; order of the query
        (307, "/api/projects/1/events?limit=5&after=2026-01-01", True),  # the trailing slash is optional (§1.1)
        (307, "https://h:8443/api/projects/1/events/?limit=5&after=2026-01-01", False),
        (307, "http://h/api/projects/1/events/?limit=5&after=2026-01-01", False),
        (307, "https://e/api/projects/1/events/?limit=5&after=2026-01-01", False),
        (307, "/api/projects/2/events/?limit=5&after=2026-01-01", False),
        (307, "/api/projects/1/dashboards/?limit=5&after=2026-01-01", False),
        (307, "/api/projects/1/events/?limit=5", False),
        (307, "/api/projects/1/events/", False),
        (307, None, False),
        (301, "/api/projects/1/events/?limit=5&after=2026-01-01", False),
        (302, "/api/projects/1/events/?limit=5&after=2026-01-01", False),
        (303, "/api/projects/1/events/?limit=5&after=2026-01-01", False),
    ],
)
def test_the_redirect_rule(status: int, location: str | None, followed: bool) -> None:
    decision = redirect_decision(REQUEST, status, location)
    assert (decision.target is not None) is followed, decision.reason
    if followed:
        assert decision.target is not None and decision.target.startswith("https://h/api/projects/1/events")
    else:
        assert decision.reason


def test_only_environments_requests_are_redirected() -> None:
    decision = redirect_decision("https://h/api/projects/1/events/", 307, "/api/projects/1/events/")
    assert decision.target is None and "only /api/environments/" in decision.reason


def test_the_meter_refuses_a_declared_length_past_the_cap_and_counts_what_arrives() -> None:
    meter = ExchangeBounds(deadline=10, max_bytes=1000).meter("get", "https://h/x")
    meter.declared("1000")
    meter.declared(None)
    meter.declared("junk")
    with pytest.raises(HostViolation, match="declares Content-Length 1,001 bytes, above the response size cap"):
        meter.declared("1001")
    meter.add(600)
    with pytest.raises(HostViolation, match="exceeded 1,200 bytes"):
        meter.add(600)


def test_the_deadline_bounds_every_socket_operation_of_the_active_exchange() -> None:
    assert io_timeout(30) == 30  # no exchange active: the configured timeout
    meter = ExchangeBounds(deadline=0.2, max_bytes=10).meter("GET", "https://h/x")
    with meter.active():
        assert 0 < io_timeout(30) <= 0.2  # type: ignore[operator]
        assert io_timeout(0.05) == 0.05
        time.sleep(0.25)
        with pytest.raises(DeadlinePassed):
            io_timeout(30)
        with pytest.raises(HostViolation, match="not complete within the request deadline of 0.2 s"):
            meter.add(1)
    assert io_timeout(30) == 30


def test_a_wait_the_budget_cannot_cover_is_not_started() -> None:
    budget = RetryBudget(max_wait=120, max_attempts=6)
    assert budget.pause("60", attempt=1, throttled=1, waited=0) == 60
    assert budget.pause("61", attempt=2, throttled=2, waited=60) is None  # 60 s left
    assert budget.pause("2199", attempt=1, throttled=1, waited=0) is None  # PostHog's spent hourly limit
    assert budget.pause(None, attempt=3, throttled=3, waited=0) == 4  # no Retry-After: doubling from 1 s
    assert budget.pause("0", attempt=6, throttled=6, waited=0) is None  # attempts are bounded too
