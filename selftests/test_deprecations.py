"""The host's deprecation notices become structured records, one per operation and prefix (issue 22)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from posthog_contract.deprecations import (
    DeprecationLog,
    parse_deprecation,
    parse_sunset,
    successor_link,
)

#: what PostHog's EnvironmentsRewriteMiddleware sends (its tests: TestRewriteMechanism, TestSunsetHeader)
POSTHOG = {
    "Deprecation": "true",
    "Link": '</api/projects/@current/dashboards/?limit=5>; rel="successor-version"',
    "Sunset": "Fri, 31 Jul 2026 00:00:00 GMT",
}
BEFORE_SUNSET = datetime(2026, 1, 1, tzinfo=UTC)
AFTER_SUNSET = datetime(2026, 12, 7, tzinfo=UTC)


def test_deprecation_header_forms() -> None:
    assert parse_deprecation("true") == (True, None)
    assert parse_deprecation("@1688169599") == (True, datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC))  # RFC 9745
    dated = parse_deprecation("Sun, 11 Nov 2018 23:59:59 GMT")  # the draft before the structured field
    assert dated == (True, datetime(2018, 11, 11, 23, 59, 59, tzinfo=UTC))
    assert parse_deprecation(None) == (False, None) and parse_deprecation("false") == (False, None)


def test_sunset_and_successor_link() -> None:
    assert parse_sunset(POSTHOG["Sunset"]) == datetime(2026, 7, 31, tzinfo=UTC)
    assert parse_sunset("not a date") is None and parse_sunset(None) is None
    assert successor_link(POSTHOG["Link"]) == "/api/projects/@current/dashboards/?limit=5"
    several = '<https://x/a>; rel="prev", <https://x/b?c=1,2>; rel="successor-version alternate"'
    assert successor_link(several) == "https://x/b?c=1,2"
    assert successor_link('<https://x/a>; rel="next"') is None and successor_link(None) is None


def test_an_answer_with_posthogs_headers_is_one_record_with_everything_parsed() -> None:
    log = DeprecationLog()
    record = log.observe("get", "http://h/api/environments/1/dashboards/?limit=5", httpx.Headers(POSTHOG),
                         now=AFTER_SUNSET)
    assert record is not None
    assert record.as_dict() == {
        "method": "GET",
        "path": "/api/environments/1/dashboards/",
        "operation_id": "dashboards_list",
        "prefix": "environments",
        "deprecation": "true",
        "sunset": "Fri, 31 Jul 2026 00:00:00 GMT",
        "link": POSTHOG["Link"],
        "successor": "/api/projects/@current/dashboards/?limit=5",
        "deprecated_since": None,
        "sunset_at": "2026-07-31T00:00:00+00:00",
        "sunset_passed": True,
        "redirect_status": None,
        "seen_at": "2026-12-07T00:00:00+00:00",
        "count": 1,
    }


def test_the_sunset_is_judged_on_the_runs_own_clock() -> None:
    log = DeprecationLog()
    record = log.observe("GET", "/api/environments/1/events/", POSTHOG, now=BEFORE_SUNSET)
    assert record is not None and record.sunset_passed is False and record.operation_id == "events_list"


def test_records_are_kept_once_per_operation_and_prefix() -> None:
    log = DeprecationLog()
    for dashboard in (1, 2, 3):
        log.observe("GET", f"/api/environments/1/dashboards/{dashboard}/", POSTHOG)
    log.observe("PATCH", "/api/environments/1/dashboards/1/", POSTHOG)
    log.observe("GET", "/api/projects/1/dashboards/1/", {"Deprecation": "@1700000000"})
    keys = sorted((r.operation_id, r.prefix, r.count) for r in log.records)
    assert keys == [
        ("dashboards_partial_update", "environments", 1),
        ("dashboards_retrieve", "environments", 3),
        ("dashboards_retrieve", "projects", 1),
    ]


def test_an_answer_without_a_notice_is_no_record_and_an_unknown_path_keeps_its_method_and_path() -> None:
    log = DeprecationLog()
    assert log.observe("GET", "/api/projects/1/dashboards/", {"Content-Type": "application/json"}) is None
    record = log.observe("GET", "/api/environments/1/no_such_thing/", {"Deprecation": "true"})
    assert record is not None and record.operation_id is None
    assert record.key == ("GET /api/environments/1/no_such_thing/", "environments")
    assert len(log) == 1


def test_a_followed_redirect_is_a_record_and_later_headers_fill_it() -> None:
    log = DeprecationLog()
    log.observe("POST", "/api/environments/1/dashboards/", {}, redirect_status=307,
                successor="/api/projects/1/dashboards/")
    (record,) = log.records
    assert record.redirect_status == 307 and record.successor == "/api/projects/1/dashboards/"
    assert record.sunset is None and record.operation_id == "dashboards_create"
    log.observe("POST", "/api/environments/1/dashboards/", POSTHOG, now=BEFORE_SUNSET)
    assert record.count == 2 and record.sunset_at == datetime(2026, 7, 31, tzinfo=UTC) and record.sunset_passed is False
    assert record.successor == "/api/projects/1/dashboards/"  # the redirect's target stays first


def test_the_summary_is_one_line() -> None:
    log = DeprecationLog()
    assert log.summary() is None
    log.observe("GET", "/api/environments/1/dashboards/", POSTHOG, now=AFTER_SUNSET)
    line = log.summary()
    assert line is not None and "\n" not in line
    assert line.startswith("the host announced 1 deprecated operation(s), 1 past their sunset (contract §1.9)")
    assert "GET /api/environments/1/dashboards/ (dashboards_list), successor /api/projects/@current/dashboards/" in line
