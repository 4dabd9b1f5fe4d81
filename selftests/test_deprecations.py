"""The host's deprecation notices become structured records, one per operation and prefix (issue 22)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from posthog_contract.deprecations import (
    DeprecationLog,
    is_http_date,
    notice_problems,
    parse_deprecation,
    parse_sunset,
    successor_link,
)
from posthog_contract.outcomes import EXIT_PASSED, EXIT_VIOLATIONS
from posthog_contract.report import waivers
from posthog_contract.verdicts import Verdicts

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
        "template": "/api/environments/{project_id}/dashboards/",
        "successor_template": "/api/projects/{project_id}/dashboards/",
        "documented": False,
        "redirected": False,
    }
    assert record.sentence() == (
        "GET /api/environments/{project_id}/dashboards/ (dashboards_list) is deprecated; sunset 2026-07-31 (passed); "
        "use /api/projects/{project_id}/dashboards/"
    )


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


# --- the notice's form: what tests/test_deprecation.py judges ------------------------------------------------------

REQUEST = "http://h:8000/api/environments/1/events/?limit=1"


def test_posthogs_own_notice_has_no_problem_and_an_http_date_is_strict() -> None:
    headers = {"Deprecation": "true", "Link": '</api/projects/1/events/?limit=1>; rel="successor-version"',
               "Sunset": "Fri, 31 Jul 2026 00:00:00 GMT"}
    assert notice_problems(REQUEST, headers, required=True) == []
    assert notice_problems(REQUEST, {**headers, "Link": '<http://h:8000/api/projects/1/events?limit=1>; '
                                                        'rel="successor-version"'}, required=True) == []
    assert is_http_date("Fri, 31 Jul 2026 00:00:00 GMT") and is_http_date("Friday, 31-Jul-26 00:00:00 GMT")
    assert is_http_date("Fri Jul 31 00:00:00 2026")
    for wrong in ("2026-07-31", "Fri, 31 Jul 2026", "Fri, 31 Feb 2026 00:00:00 GMT", "31 Jul 2026 00:00:00 GMT", ""):
        assert not is_http_date(wrong), wrong


def test_absent_headers_are_required_only_of_the_current_release() -> None:
    problems = notice_problems(REQUEST, {}, required=True)
    assert len(problems) == 2 and "no Deprecation header" in problems[0] and "successor-version" in problems[1]
    assert notice_problems(REQUEST, {}, required=False) == []
    assert notice_problems("http://h:8000/api/projects/1/events/", {}, required=True) == []  # not the old prefix


@pytest.mark.parametrize(("link", "wrong"), [
    ('</api/projects/2/events/?limit=1>; rel="successor-version"', "not the same project's"),
    ('</api/projects/1/dashboards/?limit=1>; rel="successor-version"', "not the same project's"),
    ('</api/projects/1/events/>; rel="successor-version"', "does not keep the query"),
    ('<http://elsewhere:8000/api/projects/1/events/?limit=1>; rel="successor-version"', "another origin"),
])
def test_a_successor_link_elsewhere_is_wrong_in_any_release(link: str, wrong: str) -> None:
    problems = notice_problems(REQUEST, {"Deprecation": "true", "Link": link}, required=False)
    assert len(problems) == 1 and wrong in problems[0], problems


def test_a_sunset_that_is_no_http_date_is_wrong_in_any_release() -> None:
    problems = notice_problems(REQUEST, {"Sunset": "2026-07-31"}, required=False)
    assert len(problems) == 1 and "not an HTTP-date" in problems[0]


# --- waivers and --deprecations: the verdicts -------------------------------------------------------------------------


def _records() -> list:
    log = DeprecationLog()
    log.observe("GET", "/api/environments/1/events/", POSTHOG, now=AFTER_SUNSET)
    log.observe("GET", "/api/environments/1/dashboards/5/", POSTHOG, now=AFTER_SUNSET)
    return log.records


def _waivers(tmp_path, text: str) -> waivers.WaiverFile:
    path = tmp_path / "waivers.toml"
    path.write_text(text, encoding="utf-8")
    return waivers.load(path)


def test_by_default_a_deprecation_never_fails_the_run() -> None:
    policy = Verdicts(deprecations="warn")
    policy.deprecation_records = _records
    assert policy.exit_status(EXIT_PASSED) == EXIT_PASSED and policy.notes == []


def test_deprecations_fail_exits_1_naming_what_no_waiver_accepts() -> None:
    policy = Verdicts(deprecations="fail")
    policy.deprecation_records = _records
    assert policy.exit_status(EXIT_PASSED) == EXIT_VIOLATIONS
    (note,) = policy.notes
    assert note.startswith("--deprecations fail: the host announced 2 deprecated operation(s) no waiver accepts")
    assert "GET /api/environments/{project_id}/events/ (events_list) is deprecated" in note


def test_a_waiver_accepts_a_deprecation_and_an_unmatched_one_fails(tmp_path) -> None:
    accepting = _waivers(tmp_path, '[[waiver]]\ndeprecation = "/api/environments/*"\nreason = "moving in Q3"\n'
                                   "expires = 2099-12-31\n")
    policy = Verdicts(accepting, deprecations="fail")
    policy.deprecation_records = _records
    assert policy.exit_status(EXIT_PASSED) == EXIT_PASSED
    assert set(policy.accepted_deprecations) == {r.key for r in _records()}
    assert accepting.waivers[0].status(policy.today) == "matched"
    narrow = _waivers(tmp_path, '[[waiver]]\ndeprecation = "events_*"\nreason = "r"\nexpires = 2099-12-31\n'
                                '[[waiver]]\ndeprecation = "/api/projects/*"\nreason = "r"\nexpires = 2099-12-31\n')
    policy = Verdicts(narrow, deprecations="fail")
    policy.deprecation_records = _records
    assert policy.exit_status(EXIT_PASSED) == EXIT_VIOLATIONS  # the dashboard's deprecation is not accepted
    assert [w.status(policy.today) for w in narrow.waivers] == ["matched", "unmatched"]
    assert any(n.startswith("waivers: waiver #2") and "matched no deprecation finding" in n for n in policy.notes)


def test_a_deprecation_waiver_accepts_no_test_failure_and_is_not_exercised_without_findings(tmp_path) -> None:
    file = _waivers(tmp_path, '[[waiver]]\ndeprecation = "*"\nreason = "r"\nexpires = 2099-12-31\n')
    assert file.match("tests/test_x.py::test_y", "deprecated", (), datetime(2026, 1, 1).date()) is None
    policy = Verdicts(file)
    assert policy.exit_status(EXIT_PASSED) == EXIT_PASSED and file.waivers[0].status(policy.today) == "not_exercised"
    for text, said in (('deprecation = ""', "non-empty pattern"), ('deprecation = "*"\ntest = "t"', "not both")):
        with pytest.raises(waivers.WaiverError, match=said):
            _waivers(tmp_path, f'[[waiver]]\n{text}\nreason = "r"\nexpires = 2099-12-31\n')
