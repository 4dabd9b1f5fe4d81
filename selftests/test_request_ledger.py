"""The request ledger of posthog_contract.policy: what it counts, when it refuses, what it reports."""

from __future__ import annotations

import pytest

from posthog_contract.policy import RequestLedger


@pytest.fixture
def ledger() -> RequestLedger:
    return RequestLedger()


def test_it_counts_events_writes_and_429s_per_label(ledger):
    ledger.label = "tests/test_a.py::t"
    ledger.record("GET", "/api/projects/1/events/", 200)
    ledger.record("GET", "/api/environments/1/events/0190b7a1/", 404)
    ledger.record("PATCH", "/api/projects/1/dashboards/5/", 429)
    ledger.label = "tests/test_b.py::t"
    ledger.record("OPTIONS", "/api/projects/1/dashboards/", 403)
    ledger.record("POST", "/batch/", 200)
    ledger.record_wait(1.5)
    assert (ledger.sent, ledger.events, ledger.writes, ledger.throttled) == (5, 2, 2, 1)
    assert ledger.by_label == {"tests/test_a.py::t": 3, "tests/test_b.py::t": 2}
    assert ledger.as_dict()["seconds_waited"] == 1.5
    assert ledger.charged == 4, "a 429 is counted but not charged: PostHog's throttle records only what it lets through"


def test_throttled_requests_do_not_use_up_the_budget(ledger):
    ledger.reset(3)
    for status in (200, 429, 429, 200):
        ledger.record("GET", "/api/projects/1/events/", status)
    assert (ledger.sent, ledger.charged, ledger.remaining()) == (4, 2, 1)
    assert ledger.as_dict()["share_of_events_hourly_limit"] == round(2 / 1200, 4)


def test_routes_that_merely_mention_events_are_not_the_events_class(ledger):
    ledger.record("GET", "/api/projects/1/dashboards/events/", 404)
    ledger.record("GET", "/api/projects/1/event_definitions/", 200)
    assert ledger.events == 0


def test_without_a_budget_everything_is_allowed(ledger):
    for _ in range(10_000):
        ledger.record("GET", "/api/projects/1/dashboards/", 200)
    assert ledger.remaining() is None and ledger.allows(1_000)


def test_the_cleanup_reserve_is_kept_back_from_the_checks(ledger):
    reserve = [3]
    ledger.reset(10, reserve=lambda: reserve[0])
    for _ in range(6):
        ledger.record("GET", "/x", 200)
    assert ledger.remaining() == 1 and ledger.allows(1) and not ledger.allows(2)
    ledger.record("GET", "/x", 200)
    assert not ledger.allows()
    with ledger.unmetered():  # cleanup and preflight are never refused, and still counted
        assert ledger.allows(50)
        ledger.record("PATCH", "/x", 200)
    assert ledger.sent == 8 and not ledger.allows()
    reserve[0] = 0  # nothing left to clean up: the reserve goes back to the checks
    assert ledger.remaining() == 2


def test_reset_starts_a_new_run(ledger):
    ledger.reset(5)
    ledger.label = "t"
    ledger.record("POST", "/x", 429)
    ledger.reset(None)
    assert (ledger.sent, ledger.writes, ledger.throttled, ledger.budget, dict(ledger.by_label)) == (0, 0, 0, None, {})


def test_the_cost_lines_give_the_share_of_posthog_clouds_hourly_limits(ledger):
    ledger.reset(600)
    for _ in range(480):
        ledger.record("GET", "/api/projects/1/dashboards/", 200)
    for _ in range(120):
        ledger.record("GET", "/api/projects/1/events/", 200)
    lines = ledger.cost_lines()
    assert lines[0] == "requests sent: 600 (120 to the events endpoints, 0 writes; 600 of a budget of 600)"
    assert "12 % of 4,800 requests, 10 % of 1,200 on events" in lines[2]
    assert "--request-budget" in ledger.spent_reason() and "POSTHOG_REQUEST_BUDGET" in ledger.spent_reason()
