"""The reference server's events list and retrieve (contract §7, §8), through HTTP only.

Events are seeded through capture (``POST /batch/``) with a run-unique distinct id or event name, so
tests share one server without seeing one another's events. Timestamps are distinct unless a test
is about ties.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit

import httpx
import pytest

EVENT_FIELDS = {"id", "distinct_id", "properties", "event", "timestamp", "person", "elements", "elements_chain"}
#: PostHog's PERSON_UUIDV5_NAMESPACE: a person's uuid derives from (project id, distinct id)
PERSON_NAMESPACE = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")
UNPARSABLE = {
    "type": "validation_error",
    "code": "invalid_input",
    "detail": "Properties are unparsable!",
    "attr": None,
}
EVENTS_MUTANTS = (
    "events_filter_event_ignored",
    "events_next_relative",
    "event_properties_string",
    "event_retrieve_bad_uuid_404",
    "events_csv_as_json",
)
ALL_EVENTS_MUTANTS = {
    "events_filter_event_ignored", "events_filter_distinct_id_ignored", "events_filter_after_ignored",
    "events_filter_before_ignored", "events_filter_properties_ignored", "events_filter_person_ignored",
    "events_limit_ignored", "events_limit_not_capped", "events_order_ascending", "events_next_missing",
    "events_next_relative", "events_next_wrong_host", "events_next_drops_filters", "events_next_repeats_page",
    "events_next_duplicates_boundary", "events_next_when_exact", "event_properties_string",
    "event_timestamp_naive", "event_person_always_null", "event_retrieve_wrong_event",
    "event_retrieve_unknown_200", "event_retrieve_bad_uuid_404", "events_unparsable_properties_500",
    "events_csv_as_json", "events_content_type_text", "capture_drops_events", "capture_accepts_missing_token",
    "capture_unknown_token_200", "capture_status_wrong",
    "events_non_integer_limit_read", "events_non_integer_action_id_ignored", "events_unparsable_date_ignored",
    "events_unparsable_date_500", "events_unreadable_filter_matches_nothing",
}  # fmt: skip


# --- helpers ------------------------------------------------------------------------------------------------


def run_id(label: str = "ev") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def capture(base_url: str, events: list[dict[str, Any]], token: str) -> None:
    response = httpx.post(f"{base_url}/batch/", json={"api_key": token, "batch": events}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "Ok"}


@pytest.fixture(scope="session")
def seed(reference: dict[str, Any]) -> Callable[..., list[dict[str, Any]]]:
    """``seed(events)``: capture them into project 1 (each gets a uuid unless given); returns them."""

    def do(events: list[dict[str, Any]], token: str | None = None) -> list[dict[str, Any]]:
        for event in events:
            event.setdefault("uuid", str(uuid.uuid4()))
            if isinstance(event.get("timestamp"), datetime):
                event["timestamp"] = iso(event["timestamp"])
        capture(reference["base_url"], events, token or reference["project_api_key"])
        return events

    return do


@pytest.fixture(scope="session")
def listing(api: httpx.Client, base: str) -> Callable[..., dict[str, Any]]:
    """``listing(distinct_id=..., ...)``: GET events with these parameters, asserting 200 JSON."""

    def get(path: str | None = None, **params: Any) -> dict[str, Any]:
        response = api.get(path or f"{base}/events/", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    return get


def series(distinct_id: str, count: int, start: datetime, step_ms: float = 1000, **fields: Any) -> list[dict]:
    """``count`` events, the first at ``start`` and each later one ``step_ms`` after it."""
    return [
        {"event": fields.get("event", "tick"), "distinct_id": distinct_id, "properties": {"i": i},
         "timestamp": start + timedelta(milliseconds=step_ms * i)}
        for i in range(count)
    ]  # fmt: skip


def ids(body: dict[str, Any]) -> list[str]:
    return [event["id"] for event in body["results"]]


def labels(body: dict[str, Any]) -> set[str]:
    return {event["properties"]["label"] for event in body["results"]}


def check_next(next_url: str, reference: dict[str, Any], path: str, sent: list[tuple[str, str]],
               key: str, last_timestamp: str) -> None:
    """§7.4: absolute on this host and path, every sent parameter kept in order, ``key`` set in place."""
    parts = urlsplit(next_url)
    host = urlsplit(reference["base_url"])
    assert (parts.scheme, parts.netloc, parts.path) == (host.scheme, host.netloc, path), next_url
    expected = dict(sent)
    expected[key] = last_timestamp
    got = parse_qsl(parts.query, keep_blank_values=True)
    assert [k for k, _ in got] == list(expected), next_url
    assert {k: v for k, v in got if k != key} == {k: v for k, v in expected.items() if k != key}
    assert instant(dict(got)[key]) == instant(last_timestamp)
    assert dict(got)[key].endswith("+00:00")


# --- shape (§7.3) -------------------------------------------------------------------------------------------


def test_list_body_is_next_and_results_only(listing, seed):
    run = run_id()
    seed(series(run, 2, ago(minutes=10)))
    body = listing(distinct_id=run, after=iso(ago(hours=1)))
    assert set(body) == {"next", "results"}
    assert body["next"] is None and len(body["results"]) == 2


def test_event_object_is_exactly_the_clickhouse_event(listing, seed):
    run = run_id()
    sent_uuid = str(uuid.uuid4()).upper()
    moment = ago(minutes=5).replace(microsecond=0)
    seed([{"event": "shape", "distinct_id": run, "uuid": sent_uuid, "timestamp": moment,
           "properties": {"nested": {"a": [1, 2]}, "$browser": "Safari"}}])  # fmt: skip
    event = listing(distinct_id=run, after=iso(ago(hours=1)))["results"][0]
    assert set(event) == EVENT_FIELDS
    assert event["id"] == sent_uuid.lower()
    assert event["distinct_id"] == run and event["event"] == "shape"
    assert event["properties"] == {"nested": {"a": [1, 2]}, "$browser": "Safari"}
    assert event["timestamp"] == moment.isoformat() and event["timestamp"].endswith("+00:00")
    assert "." not in event["timestamp"]  # no fraction when zero
    assert event["person"] is None
    assert event["elements"] == [] and event["elements_chain"] == ""


def test_timestamp_keeps_microseconds(listing, seed):
    run = run_id()
    moment = ago(minutes=5).replace(microsecond=154000)
    seed([{"event": "micro", "distinct_id": run, "timestamp": moment}])
    event = listing(distinct_id=run, after=iso(ago(hours=1)))["results"][0]
    assert event["timestamp"] == moment.isoformat()
    assert event["timestamp"].endswith(".154000+00:00")


def test_elements_chain_is_parsed_into_elements(listing, seed):
    run = run_id()
    chain = 'a.btn.primary:attr__href="/signup"href="/signup"nth-child="2"nth-of-type="1"text="Sign up"'
    chain += ';div:nth-child="1"'
    seed([{"event": "$autocapture", "distinct_id": run, "properties": {"$elements_chain": chain}}])
    event = listing(distinct_id=run, after=iso(ago(hours=1)))["results"][0]
    assert event["elements_chain"] == chain
    first, second = event["elements"]
    assert first["tag_name"] == "a" and first["attr_class"] == ["btn", "primary"]
    assert first["href"] == "/signup" and first["text"] == "Sign up"
    assert first["nth_child"] == 2 and first["nth_of_type"] == 1 and first["order"] == 0
    assert second["tag_name"] == "div" and second["order"] == 1


def test_newest_first_with_insertion_order_breaking_ties(listing, seed):
    run = run_id()
    moment = ago(minutes=3)
    events = seed(series(run, 3, ago(minutes=10)) + [
        {"event": "tie", "distinct_id": run, "timestamp": moment},
        {"event": "tie", "distinct_id": run, "timestamp": moment},
    ])  # fmt: skip
    got = ids(listing(distinct_id=run, after=iso(ago(hours=1))))
    assert got == [events[4]["uuid"], events[3]["uuid"], events[2]["uuid"], events[1]["uuid"], events[0]["uuid"]]


# --- filters (§7.1) -----------------------------------------------------------------------------------------


def test_filter_by_event_name(listing, seed):
    run = run_id()
    seed([{"event": "signup", "distinct_id": run, "timestamp": ago(minutes=2)},
          {"event": "login", "distinct_id": run, "timestamp": ago(minutes=1)}])  # fmt: skip
    body = listing(distinct_id=run, event="signup", after=iso(ago(hours=1)))
    assert [e["event"] for e in body["results"]] == ["signup"]
    only_event = run_id("name")
    seed([{"event": only_event, "distinct_id": run_id(), "timestamp": ago(minutes=1)}])
    assert [e["event"] for e in listing(event=only_event)["results"]] == [only_event]


def test_filter_by_distinct_id_is_a_string(listing, seed):
    run = run_id()
    seed([{"event": "a", "distinct_id": run, "timestamp": ago(minutes=2)},
          {"event": "a", "distinct_id": run + "-other", "timestamp": ago(minutes=1)}])  # fmt: skip
    assert [e["distinct_id"] for e in listing(distinct_id=run)["results"]] == [run]
    number = str(10**12 + int(uuid.uuid4().int % 10**9))
    seed([{"event": "numeric", "distinct_id": int(number), "timestamp": ago(minutes=1)}])
    assert [e["distinct_id"] for e in listing(distinct_id=number)["results"]] == [number]


def test_after_and_before_are_exclusive(listing, seed):
    run = run_id()
    moment = ago(minutes=30).replace(microsecond=123456)
    seed([{"event": "edge", "distinct_id": run, "timestamp": moment}])
    micro = timedelta(microseconds=1)
    assert listing(distinct_id=run, after=iso(moment))["results"] == []
    assert len(listing(distinct_id=run, after=iso(moment - micro))["results"]) == 1
    assert listing(distinct_id=run, after=iso(ago(hours=1)), before=iso(moment))["results"] == []
    assert len(listing(distinct_id=run, after=iso(ago(hours=1)), before=iso(moment + micro))["results"]) == 1


def test_before_defaults_to_now_plus_five_seconds(listing, seed):
    run = run_id()
    soon, later = datetime.now(UTC) + timedelta(seconds=2), datetime.now(UTC) + timedelta(minutes=2)
    seed([{"event": "soon", "distinct_id": run, "timestamp": soon},
          {"event": "later", "distinct_id": run, "timestamp": later}])  # fmt: skip
    assert [e["event"] for e in listing(distinct_id=run)["results"]] == ["soon"]
    everything = listing(distinct_id=run, before=iso(later + timedelta(seconds=1)))
    assert [e["event"] for e in everything["results"]] == ["later", "soon"]


def test_without_after_a_personal_key_sees_the_last_24_hours(listing, seed):
    run = run_id()
    seed([{"event": "old", "distinct_id": run, "timestamp": ago(hours=25)},
          {"event": "recent", "distinct_id": run, "timestamp": ago(hours=23)}])  # fmt: skip
    assert [e["event"] for e in listing(distinct_id=run)["results"]] == ["recent"]
    assert [e["event"] for e in listing(distinct_id=run, after=iso(ago(hours=26)))["results"]] == ["recent", "old"]


def test_filter_by_person_uuid(listing, seed, reference):
    run, other = run_id(), run_id()
    event = run_id("person-event")
    seed([{"event": event, "distinct_id": run, "timestamp": ago(minutes=2)},
          {"event": event, "distinct_id": other, "timestamp": ago(minutes=1)}])  # fmt: skip
    person = uuid.uuid5(PERSON_NAMESPACE, f"{reference['project_id']}_{run}")
    assert [e["distinct_id"] for e in listing(event=event, person_id=str(person))["results"]] == [run]
    assert [e["distinct_id"] for e in listing(event=event, person_id=person.hex.upper())["results"]] == [run]


@pytest.mark.parametrize("person_id", ["999999999", str(uuid.uuid4()), "99999999999999999999999", "not-a-person"])
def test_unknown_person_is_200_with_no_events(listing, seed, person_id):
    seed([{"event": "anything", "distinct_id": run_id(), "timestamp": ago(minutes=1)}])
    assert listing(person_id=person_id) == {"next": None, "results": []}


def test_action_id_matches_nothing_and_select_where_are_ignored(listing, seed):
    run = run_id()
    seed(series(run, 2, ago(minutes=5)))
    assert listing(distinct_id=run, action_id="1") == {"next": None, "results": []}
    assert len(listing(distinct_id=run, action_id="")["results"]) == 2  # `if action_id:` an empty one is none
    assert len(listing(distinct_id=run, select='["event"]', where='["1 = 0"]')["results"]) == 2


@pytest.mark.parametrize(
    "sent", [[("action_id", "abc")], [("action_id", "1"), ("action_id", "x1")], [("action_id", "1.0")]]
)
def test_non_integer_action_id_is_400_judged_on_the_last_value(api, base, expect_error, sent):
    """LegacyEventsListQuery.run_page: int(action_id) of the last value raises (PostHog: 500; §1.7)."""
    expect_error(api.get(f"{base}/events/", params=sent), 400, "invalid_input", attr="action_id")
    assert api.get(f"{base}/events/", params=[*sent, ("action_id", "5")]).json() == {"next": None, "results": []}


# --- dates (§7.1) -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dated(seed) -> dict[str, Any]:
    """One event 30 minutes ago (fraction .123456) and one 2 hours ago, for date-format tests."""
    run = run_id("dates")
    recent = ago(minutes=30).replace(microsecond=123456)
    seed([{"event": "recent", "distinct_id": run, "timestamp": recent},
          {"event": "older", "distinct_id": run, "timestamp": ago(hours=2)}])  # fmt: skip
    return {"run": run, "recent": recent}


def names(api: httpx.Client, url: str) -> list[str]:
    response = api.get(url)
    assert response.status_code == 200, response.text
    return [e["event"] for e in response.json()["results"]]


@pytest.mark.parametrize(
    ("form", "hours"),
    [("%Y-%m-%dT%H:%M:%S.%fZ", 0), ("%Y-%m-%dT%H:%M:%S.%f+00:00", 0), ("%Y-%m-%dT%H:%M:%S.%f+0000", 0),
     ("%Y-%m-%dT%H:%M:%S.%f", 0), ("%Y-%m-%d %H:%M:%S.%f", 0), ("%Y-%m-%dT%H:%M:%S.%f%z", -1),
     ("%Y-%m-%dT%H:%M:%S.%f%z", 2)],
)  # fmt: skip
def test_iso_forms_of_after(api, base, dated, form, hours):
    """``Z``, ``+00:00``, ``+0000``, naive (= UTC), a space separator and non-UTC offsets."""
    zone = timezone(timedelta(hours=hours))
    just_before = (dated["recent"] - timedelta(microseconds=1)).astimezone(zone)
    for moment, expected in ((just_before, ["recent"]), (dated["recent"].astimezone(zone), [])):
        text = quote_plus(moment.strftime(form))
        assert names(api, f"{base}/events/?distinct_id={dated['run']}&after={text}") == expected, text


@pytest.mark.parametrize("digits", [0, 1, 3, 6])
def test_after_with_zero_to_six_fraction_digits(api, base, dated, digits):
    whole = dated["recent"].replace(microsecond=0)
    fraction = f".{'0' * digits}" if digits else ""
    text = whole.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "+00:00"
    assert names(api, f"{base}/events/?distinct_id={dated['run']}&after={quote_plus(text)}") == ["recent"]


def test_plus_offset_as_percent_2b_and_as_a_raw_plus(api, base, dated):
    """Airbyte sends ``+0000``; a raw ``+`` in a query string decodes to a space (§7.1)."""
    text = (dated["recent"] - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    for offset in ("+0000", "+00:00"):
        encoded = f"{base}/events/?distinct_id={dated['run']}&after={text}{offset.replace('+', '%2B')}"
        raw = f"{base}/events/?distinct_id={dated['run']}&after={text}{offset}"
        assert names(api, encoded) == ["recent"]
        assert names(api, raw) == ["recent"]


def test_date_only_is_midnight(api, base, dated):
    day = dated["recent"].date().isoformat()
    assert "recent" in names(api, f"{base}/events/?distinct_id={dated['run']}&after={day}")
    assert "recent" not in names(api, f"{base}/events/?distinct_id={dated['run']}&after=-2d&before={day}")


@pytest.mark.parametrize(
    ("after", "expected"),
    [("-1h", ["recent"]), ("1h", ["recent"]), ("-3h", ["recent", "older"]), ("-1d", ["recent", "older"]),
     ("-1w", ["recent", "older"]), ("-1m", ["recent", "older"]), ("-1y", ["recent", "older"]),
     ("-4d", ["recent", "older"])],
)  # fmt: skip
def test_relative_after(api, base, dated, after, expected):
    assert names(api, f"{base}/events/?distinct_id={dated['run']}&after={after}") == expected


def test_relative_before(api, base, dated):
    assert names(api, f"{base}/events/?distinct_id={dated['run']}&after=-1d&before=-1h") == ["older"]


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "-4x", "12:00", "2024-01-01T25:00:00Z", "soon"])
def test_unparsable_dates_read_as_now_never_400(api, base, dated, value):
    """posthog/utils.py, relative_date_parse: a value it cannot parse is now (§7.1)."""
    run = dated["run"]
    assert names(api, f"{base}/events/?distinct_id={run}&after={value}") == []
    assert names(api, f"{base}/events/?distinct_id={run}&after=-1d&before={value}") == ["recent", "older"]


@pytest.mark.parametrize(
    ("after", "expected"),
    [("-45M", ["recent"]), ("-3000s", ["recent"]), ("about 1h ago", ["recent"]), ("-1q", ["recent", "older"])],
)
def test_relative_dates_read_as_posthog_reads_them(api, base, dated, after, expected):
    """Minutes (M), seconds (s), quarters (q), and a relative part found anywhere in the text (§7.1)."""
    assert names(api, f"{base}/events/?distinct_id={dated['run']}&after={quote_plus(after)}") == expected


@pytest.mark.parametrize("name", ["after", "before"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+09:22", "9999-12-31T23:00:00-05:00", "-99999999999d"])
def test_dates_beyond_the_representable_range_are_400(api, base, expect_error, name, value):
    """PostHog answers these 500 (the overflow escapes relative_date_parse); the contract's 400 (§1.7)."""
    expect_error(api.get(f"{base}/events/", params={name: value}), 400, "invalid_input", attr=name)


def test_before_whose_default_window_underflows_is_400(api, base, expect_error):
    """Without `after` PostHog computes before - 24 h, which leaves datetime's range (§1.7, §7.1)."""
    expect_error(api.get(f"{base}/events/", params={"before": "0001-01-01T03:00:00Z"}), 400, "invalid_input",
                 attr="before")  # fmt: skip
    assert api.get(f"{base}/events/", params={"before": "0001-01-01T03:00:00Z", "after": "0001-01-01"}).json() == {
        "next": None, "results": []}  # fmt: skip


# --- properties (§7.2) --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def props(seed) -> dict[str, Any]:
    """Four events of one run-unique event name, with varied properties, and two persons."""
    event = run_id("props")
    run_a, run_b = run_id("pa"), run_id("pb")
    start = ago(minutes=20)
    seed([
        {"event": event, "distinct_id": run_a, "timestamp": start,
         "properties": {"label": "e1", "$browser": "Safari", "n": 5, "s": "5", "flag": True,
                        "url": "https://Example.com/a", "d": "2024-03-01T10:00:00Z", "ratio": 0.5,
                        "$set": {"email": "a@example.com", "plan": "pro"}}},
        {"event": event, "distinct_id": run_a, "timestamp": start + timedelta(seconds=1),
         "properties": {"label": "e2", "$browser": "Chrome", "n": 10, "flag": False,
                        "url": "https://other.org/b", "d": "2024-01-15T00:00:00Z", "ratio": 1.5}},
        {"event": event, "distinct_id": run_b, "timestamp": start + timedelta(seconds=2),
         "properties": {"label": "e3", "$browser": "Firefox", "n": "20", "url": None,
                        "$set": {"email": "b@example.com", "plan": "free"}}},
        {"event": event, "distinct_id": run_b, "timestamp": start + timedelta(seconds=3),
         "properties": {"label": "e4", "weird key.with \"quote\"": "yes"}},
    ])  # fmt: skip
    return {"event": event}


PROPERTY_CASES = [
    ([{"key": "$browser", "value": "Safari"}], {"e1"}),
    ([{"key": "$browser", "value": "Safari", "operator": "exact", "type": "event"}], {"e1"}),
    ([{"key": "$browser", "value": ["Safari", "Chrome"]}], {"e1", "e2"}),
    ([{"key": "$browser", "value": "Safari", "operator": "is_not"}], {"e2", "e3", "e4"}),
    ([{"key": "$browser", "value": ["Safari", "Chrome"], "operator": "is_not"}], {"e3", "e4"}),
    ([{"key": "url", "value": "example", "operator": "icontains"}], {"e1"}),
    ([{"key": "url", "value": "EXAMPLE.COM", "operator": "icontains"}], {"e1"}),
    ([{"key": "url", "value": "example", "operator": "not_icontains"}], {"e2", "e3", "e4"}),
    ([{"key": "url", "value": "^https://other", "operator": "regex"}], {"e2"}),
    ([{"key": "url", "value": "^https://other", "operator": "not_regex"}], {"e1", "e3", "e4"}),
    ([{"key": "n", "value": 5, "operator": "gt"}], {"e2", "e3"}),
    ([{"key": "n", "value": "5", "operator": "gte"}], {"e1", "e2", "e3"}),
    ([{"key": "n", "value": 10, "operator": "lt"}], {"e1"}),
    ([{"key": "n", "value": 10, "operator": "lte"}], {"e1", "e2"}),
    ([{"key": "ratio", "value": 1, "operator": "gt"}], {"e2"}),
    ([{"key": "flag", "operator": "is_set"}], {"e1", "e2"}),
    ([{"key": "flag", "operator": "is_not_set"}], {"e3", "e4"}),
    ([{"key": "url", "operator": "is_set"}], {"e1", "e2"}),
    ([{"key": "flag", "value": True}], {"e1"}),
    ([{"key": "flag", "value": "false"}], {"e2"}),
    ([{"key": "flag", "value": ["true"]}], {"e1"}),
    ([{"key": "n", "value": 5}], {"e1"}),
    ([{"key": "n", "value": "10"}], {"e2"}),
    ([{"key": "n", "value": 20}], {"e3"}),
    ([{"key": "s", "value": 5}], {"e1"}),
    ([{"key": "ratio", "value": 0.5}], {"e1"}),
    ([{"key": "weird key.with \"quote\"", "value": "yes"}], {"e4"}),
    ([{"key": "d", "value": "2024-02-01", "operator": "is_date_before"}], {"e2"}),
    ([{"key": "d", "value": "2024-02-01", "operator": "is_date_after"}], {"e1"}),
    ([{"key": "d", "value": "2024-03-01", "operator": "is_date_exact"}], {"e1"}),
    ([{"key": "$browser", "value": "Safari"}, {"key": "n", "value": 10}], set()),
    ({"type": "OR", "values": [{"key": "$browser", "value": "Safari"}, {"key": "n", "value": 10}]}, {"e1", "e2"}),
    ({"type": "AND", "values": [
        {"type": "OR", "values": [{"key": "$browser", "value": "Safari"}, {"key": "$browser", "value": "Firefox"}]},
        {"type": "OR", "values": [{"key": "n", "value": "20"}, {"key": "flag", "operator": "is_set"}]},
    ]}, {"e1", "e3"}),
    ({"type": "AND", "values": []}, {"e1", "e2", "e3", "e4"}),
    ([], {"e1", "e2", "e3", "e4"}),
    ([{"key": "email", "value": "a@example.com", "operator": "exact", "type": "person"}], {"e1", "e2"}),
    ([{"key": "plan", "value": "pro", "operator": "is_not", "type": "person"}], {"e3", "e4"}),
    ([{"key": "email", "value": "b@", "operator": "icontains", "type": "person"},
      {"key": "label", "value": "e4"}], {"e4"}),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "expected"), PROPERTY_CASES, ids=[json.dumps(c[0])[:60] for c in PROPERTY_CASES])
def test_properties_filter(listing, props, filters, expected):
    body = listing(event=props["event"], properties=json.dumps(filters))
    assert labels(body) == expected


@pytest.mark.parametrize("raw", ["not json", "{", '{"key": "$browser", "value": "x"}', "5", '"text"', "[5]",
                                 '[["nested list", 1]]', '{"type": "OR", "values": 5}', "[NaN"])  # fmt: skip
def test_unparsable_properties_are_400(api, base, raw):
    response = api.get(f"{base}/events/", params={"properties": raw})
    assert response.status_code == 400
    assert response.json() == UNPARSABLE


@pytest.mark.parametrize(
    "filters",
    [[{"key": "x", "value": 1, "type": "cohort"}], [{"key": "x", "value": "1", "type": "group"}],
     [{"key": "x", "type": "hogql"}], [{"key": "x", "value": "a", "operator": "between"}],
     [{"key": "x", "value": "(", "operator": "regex"}], [{"key": "x", "value": "a", "operator": "gt"}],
     [{"key": "x", "value": "not a date", "operator": "is_date_before"}], [{"value": "no key"}],
     [{"key": 5, "value": 1}]],
)  # fmt: skip
def test_unsupported_property_filters_are_400_on_properties(api, base, expect_error, filters):
    response = api.get(f"{base}/events/", params={"properties": json.dumps(filters)})
    expect_error(response, 400, "invalid_input", attr="properties")


# --- limit, offset, orderBy (§7.1, §7.4) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(seed) -> dict[str, Any]:
    """1100 events of one distinct id, 1 ms apart, seeded in one batch."""
    run = run_id("many")
    seed(series(run, 1100, ago(minutes=40), step_ms=1))
    return {"run": run, "after": iso(ago(hours=1))}


def test_limit_defaults_to_100(listing, many):
    body = listing(distinct_id=many["run"], after=many["after"])
    assert len(body["results"]) == 100 and body["next"] is not None


@pytest.mark.reference_only
def test_limit_is_capped_at_1000(listing, many):
    body = listing(distinct_id=many["run"], after=many["after"], limit=5000)
    assert len(body["results"]) == 1000 and body["next"] is not None
    assert len(listing(distinct_id=many["run"], after=many["after"], limit=1000)["results"]) == 1000


def test_limit_is_honoured(listing, many):
    assert len(listing(distinct_id=many["run"], after=many["after"], limit=7)["results"]) == 7


@pytest.mark.parametrize("limit", ["abc", "1.5", "1e3", "5 rows"])
def test_non_integer_limit_is_400(api, base, expect_error, limit):
    """posthog/api/event.py: int(limit) raises (PostHog: 500); the contract's 400 (§1.7, §7.4)."""
    expect_error(api.get(f"{base}/events/", params={"limit": limit}), 400, "invalid_input", attr="limit")


@pytest.mark.parametrize("limit", ["0", "-1", "-1000", ""])
def test_limit_of_zero_or_less_or_empty_is_the_default_page(listing, many, limit):
    """HogQLHasMorePaginator: a limit <= 0 reads as the default 100; an empty one is absent (§7.1)."""
    body = listing(distinct_id=many["run"], after=many["after"], limit=limit)
    assert len(body["results"]) == 100 and body["next"] is not None
    assert dict(parse_qsl(urlsplit(body["next"]).query, keep_blank_values=True))["limit"] == limit


@pytest.mark.parametrize("limit", [" 7", "+7", "7_0", "\u0667"])
def test_limit_is_read_by_python_int(listing, many, limit):
    """int() takes whitespace, a sign, underscores and other scripts' digits, as PostHog's int(limit) does."""
    expected = {"7_0": 70}.get(limit, 7)
    assert len(listing(distinct_id=many["run"], after=many["after"], limit=limit)["results"]) == expected


def test_offset_skips_rows_and_is_capped(api, base, listing, many, expect_error):
    first = listing(distinct_id=many["run"], after=many["after"], limit=3)
    shifted = listing(distinct_id=many["run"], after=many["after"], limit=2, offset=1)
    assert ids(shifted) == ids(first)[1:]
    assert len(listing(distinct_id=many["run"], after=many["after"], limit=1, offset=50000)["results"]) == 0
    body = expect_error(api.get(f"{base}/events/", params={"offset": 50001}), 400, "invalid_input", attr="offset")
    assert body["detail"] == "Offset is deprecated. Max supported offset value is 50000"


@pytest.mark.parametrize("offset", ["x", "-3", "1.5", ""])
def test_unreadable_or_negative_offset_reads_as_zero(listing, many, offset):
    """posthog/api/event.py: `except ValueError: offset = 0`; the paginator reads offset <= 0 as 0."""
    first = listing(distinct_id=many["run"], after=many["after"], limit=3)
    assert ids(listing(distinct_id=many["run"], after=many["after"], limit=3, offset=offset)) == ids(first)


def test_order_by_timestamp_ascending_pages_with_after(api, base, reference, seed):
    run = run_id()
    events = seed(series(run, 3, ago(minutes=10)))
    path = f"{base}/events/"
    sent = [("distinct_id", run), ("after", iso(ago(hours=1))), ("orderBy", '["timestamp"]'), ("limit", "2")]
    page = api.get(path, params=sent).json()
    assert ids(page) == [events[0]["uuid"], events[1]["uuid"]]
    check_next(page["next"], reference, path, sent, "after", page["results"][-1]["timestamp"])
    last = api.get(page["next"]).json()
    assert ids(last) == [events[2]["uuid"]] and last["next"] is None


@pytest.mark.parametrize("order", ['"-timestamp"', '["event"]', '["-timestamp", "event"]', "[", "[]", "timestamp"])
def test_bad_order_by_is_400(api, base, expect_error, order):
    expect_error(api.get(f"{base}/events/", params={"orderBy": order}), 400, "invalid_input", attr="orderBy")


def test_explicit_descending_order(listing, seed):
    run = run_id()
    events = seed(series(run, 3, ago(minutes=10)))
    body = listing(distinct_id=run, orderBy='["-timestamp"]')
    assert ids(body) == [e["uuid"] for e in reversed(events)]


# --- next (§7.4) --------------------------------------------------------------------------------------------


def test_keyset_pagination_250_events_pages_100_100_50(api, base, reference, seed):
    """PostHog's ``test_pagination``: distinct id "1", limit 100, ``before`` = the last timestamp."""
    start = ago(hours=10, minutes=uuid.uuid4().int % 600)  # a window no other test writes "1" into
    seed(series("1", 250, start, step_ms=7.3))
    path = f"{base}/events/"
    sent = [("distinct_id", "1"), ("after", iso(start - timedelta(milliseconds=1))), ("limit", "100")]
    seen: list[str] = []
    page = api.get(path, params=sent).json()
    sizes = [len(page["results"])]
    seen += ids(page)
    last = page["results"][-1]["timestamp"]
    check_next(page["next"], reference, path, sent, "before", last)
    expected = f"{reference['base_url']}{path}?distinct_id=1&after={quote_plus(sent[1][1])}&limit=100&before="
    assert page["next"] == expected + quote_plus(last)
    while page["next"] and len(sizes) < 5:  # bounded: a broken `next` must fail, not loop
        page = api.get(page["next"]).json()
        sizes.append(len(page["results"]))
        seen += ids(page)
    assert sizes == [100, 100, 50]
    assert len(set(seen)) == 250


def test_next_sets_before_in_place_and_keeps_every_parameter(api, base, reference, seed):
    run = run_id()
    seed(series(run, 5, ago(minutes=10)))
    path = f"{base}/events"  # no trailing slash: `next` keeps the path as requested
    sent = [("before", iso(ago(seconds=1))), ("distinct_id", run), ("include_person", "false"),
            ("after", iso(ago(hours=1))), ("properties", "[]"), ("limit", "2"), ("offset", "0")]  # fmt: skip
    page = api.get(path, params=sent).json()
    check_next(page["next"], reference, path, sent, "before", page["results"][-1]["timestamp"])


def test_next_on_the_environments_prefix_names_the_successor(api, base, env_base, reference, seed):
    """Today's PostHog serves /api/environments/ through /api/projects/ (§1.9, EnvironmentsRewriteMiddleware):
    `next`, built from the rewritten request path, names the successor."""
    run = run_id()
    seed(series(run, 3, ago(minutes=10)))
    sent = [("distinct_id", run), ("limit", "2")]
    page = api.get(f"{env_base}/events/", params=sent).json()
    check_next(page["next"], reference, f"{base}/events/", sent, "before", page["results"][-1]["timestamp"])
    assert len(api.get(page["next"]).json()["results"]) == 1


def test_repeated_parameter_collapses_to_its_last_value(api, base, reference, seed):
    run = run_id()
    seed(series(run, 4, ago(minutes=10)))
    path = f"{base}/events/"
    page = api.get(f"{path}?limit=3&distinct_id={run}&limit=1").json()
    assert len(page["results"]) == 1
    check_next(page["next"], reference, path, [("limit", "1"), ("distinct_id", run)], "before",
               page["results"][-1]["timestamp"])  # fmt: skip


def test_next_keeps_offset_as_is(api, base, seed):
    run = run_id()
    seed(series(run, 5, ago(minutes=10)))
    page = api.get(f"{base}/events/", params={"distinct_id": run, "limit": 1, "offset": 1}).json()
    assert dict(parse_qsl(urlsplit(page["next"]).query))["offset"] == "1"


def test_next_is_null_when_exactly_limit_events_remain(listing, seed):
    run = run_id()
    seed(series(run, 4, ago(minutes=10)))
    assert listing(distinct_id=run, limit=4)["next"] is None
    first = listing(distinct_id=run, limit=2)
    assert first["next"] is not None
    second = httpx_get_json(first["next"], listing)
    assert len(second["results"]) == 2 and second["next"] is None


def httpx_get_json(url: str, listing: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    parts = urlsplit(url)
    return listing(parts.path, **dict(parse_qsl(parts.query)))


def test_ties_at_a_page_boundary_are_skipped_known_limitation(listing, seed):
    """§7.4: keyset paging on timestamp alone skips events tying with the boundary (reproduced)."""
    run = run_id()
    tie = ago(minutes=5)
    events = seed([{"event": "newest", "distinct_id": run, "timestamp": tie + timedelta(seconds=1)},
                   {"event": "tie-a", "distinct_id": run, "timestamp": tie},
                   {"event": "tie-b", "distinct_id": run, "timestamp": tie}])  # fmt: skip
    first = listing(distinct_id=run, limit=2)
    assert ids(first) == [events[0]["uuid"], events[2]["uuid"]]
    second = httpx_get_json(first["next"], listing)
    assert second["results"] == []  # tie-a shares the boundary timestamp and is never listed


# --- csv (§7.3) ---------------------------------------------------------------------------------------------


def test_csv_format(api, base, seed):
    run = run_id()
    events = seed(series(run, 3, ago(minutes=10)))
    response = api.get(f"{base}/events/", params={"distinct_id": run, "format": "csv", "after": iso(ago(hours=1))})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {"id", "event", "distinct_id", "timestamp"} <= set(rows[0])
    assert [row["id"] for row in rows] == [e["uuid"] for e in reversed(events)]
    assert {row["distinct_id"] for row in rows} == {run} and "properties.i" in rows[0]
    assert instant(rows[0]["timestamp"]) == instant(events[2]["timestamp"])


def test_csv_default_limit_is_1000_and_nested_keys_are_dotted(api, base, many, seed):
    response = api.get(f"{base}/events/", params={"distinct_id": many["run"], "after": many["after"], "format": "csv"})
    assert response.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(response.text)))) == 1000
    run = run_id()
    seed([{"event": "nested", "distinct_id": run, "properties": {"outer": {"inner": "x"}}}])
    text = api.get(f"{base}/events/", params={"distinct_id": run, "format": "csv"}).text
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["properties.outer.inner"] == "x"


def test_unknown_format_is_404(api, base, expect_error):
    expect_error(api.get(f"{base}/events/", params={"format": "xml"}), 404, "not_found")


# --- include_person (§7.3) ----------------------------------------------------------------------------------


def test_include_person_fills_person_with_email_name_username_only(listing, seed):
    run = run_id()
    seed([{"event": "$identify", "distinct_id": run, "timestamp": ago(minutes=3),
           "properties": {"$set": {"email": "p@example.com", "name": "Pat", "plan": "pro"},
                          "$set_once": {"username": "pat", "email": "ignored@example.com"}}}])  # fmt: skip
    for flag in ("true", "1", "True"):
        person = listing(distinct_id=run, include_person=flag)["results"][0]["person"]
        assert person == {"is_identified": True, "distinct_ids": [run],
                          "properties": {"email": "p@example.com", "name": "Pat", "username": "pat"}}  # fmt: skip
    for flag in ("false", "0", ""):
        assert listing(distinct_id=run, include_person=flag)["results"][0]["person"] is None


def test_person_of_an_anonymous_distinct_id(listing, seed):
    run = run_id()
    seed([{"event": "anon", "distinct_id": run, "timestamp": ago(minutes=3)}])
    person = listing(distinct_id=run, include_person="true")["results"][0]["person"]
    assert person == {"is_identified": False, "distinct_ids": [run], "properties": {}}


# --- retrieve (§8) ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_event(seed) -> dict[str, Any]:
    run = run_id("retrieve")
    return seed([{"event": "retrieved", "distinct_id": run, "timestamp": ago(days=3),
                  "properties": {"$set": {"email": "r@example.com"}, "k": "v"}}])[0]  # fmt: skip


@pytest.mark.parametrize("form", [str, lambda u: u.replace("-", ""), str.upper, lambda u: u.replace("-", "").upper()])
def test_retrieve_by_uuid_in_any_form_without_time_window(api, base, one_event, form):
    response = api.get(f"{base}/events/{form(one_event['uuid'])}/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == EVENT_FIELDS
    assert body["id"] == one_event["uuid"] and body["event"] == "retrieved" and body["person"] is None
    assert body["properties"]["k"] == "v"


def test_retrieve_without_trailing_slash_and_on_environments(api, base, env_base, one_event):
    for path in (f"{base}/events/{one_event['uuid']}", f"{env_base}/events/{one_event['uuid']}/"):
        assert api.get(path).json()["id"] == one_event["uuid"]


def test_retrieve_include_person(api, base, one_event):
    body = api.get(f"{base}/events/{one_event['uuid']}/", params={"include_person": "true"}).json()
    assert body["person"]["properties"] == {"email": "r@example.com"}
    assert body["person"]["distinct_ids"] == [one_event["distinct_id"]]


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", "0190b7a1-0000-7000-8000-00000000000g"])
def test_retrieve_non_uuid_is_400_outside_the_envelope(api, base, bad):
    response = api.get(f"{base}/events/{bad}/")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.text == '{"detail":"Invalid UUID","code":"invalid","type":"validation_error"}'


def test_retrieve_absent_uuid_is_404_naming_it(api, base, expect_error):
    absent = uuid.uuid4().hex.upper()
    expect_error(api.get(f"{base}/events/{absent}/"), 404, "not_found", f"No events exist for event UUID {absent}")


def test_event_of_another_project_is_404(api, base, seed, reference, expect_error):
    other = seed([{"event": "elsewhere", "distinct_id": run_id()}], token=reference["other_project_capture_key"])[0]
    expect_error(api.get(f"{base}/events/{other['uuid']}/"), 404, "not_found",
                 f"No events exist for event UUID {other['uuid']}")  # fmt: skip
    assert api.get(f"{base}/events/", params={"distinct_id": other["distinct_id"]}).json()["results"] == []


# --- auth (§1.3, §1.4) --------------------------------------------------------------------------------------


def test_readonly_key_reads_events(client_for, base, one_event):
    client = client_for("readonly_api_key")
    assert client.get(f"{base}/events/").status_code == 200
    assert client.get(f"{base}/events/{one_event['uuid']}/").status_code == 200


@pytest.mark.parametrize("suffix", ["/events/", "/events/00000000-0000-0000-0000-000000000000/"])
def test_key_without_query_read_is_403(client_for, base, expect_error, suffix):
    response = client_for("no_query_api_key").get(base + suffix)
    expect_error(response, 403, "permission_denied", "API key missing required scope 'query:read'")


def test_no_credentials_is_401(client_for, base, expect_error):
    expect_error(client_for(None).get(f"{base}/events/"), 401, "not_authenticated")


def test_scope_is_checked_before_validation(client_for, base, expect_error):
    response = client_for("no_query_api_key").get(f"{base}/events/", params={"limit": "x", "properties": "{"})
    expect_error(response, 403, "permission_denied")


# --- ingestion delay (§0.3) ---------------------------------------------------------------------------------


def test_ingestion_delay_hides_events_until_due():
    command = [sys.executable, "-m", "posthog_contract.reference", "--port", "0", "--exit-with-stdin",
               "--ingestion-delay", "1.0"]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        creds = json.loads(process.stdout.readline())  # type: ignore[union-attr]
        with httpx.Client(base_url=creds["base_url"],
                          headers={"Authorization": f"Bearer {creds['personal_api_key']}"}) as client:  # fmt: skip
            event = {"event": "late", "distinct_id": "delayed", "uuid": str(uuid.uuid4())}
            capture(creds["base_url"], [event], creds["project_api_key"])
            assert client.get("/api/projects/1/events/", params={"distinct_id": "delayed"}).json()["results"] == []
            assert client.get(f"/api/projects/1/events/{event['uuid']}/").status_code == 404
            time.sleep(1.1)
            assert ids(client.get("/api/projects/1/events/", params={"distinct_id": "delayed"}).json()) == [
                event["uuid"]
            ]
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.wait(timeout=10)


# --- performance guard: every query walks one index in sort order -------------------------------------------


def test_event_queries_use_one_index_and_no_sort_step():
    """The one white-box test here: EXPLAIN QUERY PLAN of each index choice (no temp b-tree, no scan)."""
    from posthog_contract.reference.event_filters import compile_properties, register_functions
    from posthog_contract.reference.events import EventQuery, build_query
    from posthog_contract.reference.storage import Database

    db = Database(":memory:")
    register_functions(db)
    now = datetime.now(UTC)
    properties = compile_properties(json.dumps([{"key": "a", "value": "b"}, {"key": "e", "type": "person",
                                                                              "operator": "is_set"}]), now)  # fmt: skip
    cases = {
        "events_by_time": {}, "events_by_distinct_id": {"distinct_id": "x", "event": "e"},
        "events_by_name": {"event": "e", "person_pk": 1}, "events_by_person": {"person_pk": 1},
    }  # fmt: skip
    for index, fields in cases.items():
        for extra in ({}, {"ascending": True}, {"properties": properties}):
            query = EventQuery(project_id=1, after=0, before=2**60, visible_at=time.time(), **fields, **extra)
            sql, args = build_query(query)
            plan = " | ".join(row[3] for row in db.all("EXPLAIN QUERY PLAN " + sql, args))
            assert f"SEARCH e USING INDEX {index} (project_id=?" in plan, plan
            assert "TEMP B-TREE" not in plan and "SCAN" not in plan, plan
    db.close()


# --- mutants ------------------------------------------------------------------------------------------------


def test_every_events_and_capture_mutant_is_declared():
    listed = subprocess.run([sys.executable, "-m", "posthog_contract.reference", "--list-mutants"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    declared = {line.split("\t")[0] for line in listed.splitlines() if line}
    assert declared >= ALL_EVENTS_MUTANTS


@pytest.fixture(scope="module")
def mutated(reference_server) -> Any:
    return reference_server(*EVENTS_MUTANTS)


def test_mutant_filter_event_ignored_lists_other_names(mutated):
    client, creds = mutated.client(), mutated.credentials
    run = run_id()
    capture(creds["base_url"], [{"event": "a", "distinct_id": run}, {"event": "b", "distinct_id": run}],
            creds["project_api_key"])  # fmt: skip
    body = client.get("/api/projects/1/events/", params={"distinct_id": run, "event": "a"}).json()
    assert len(body["results"]) == 2


def test_mutant_next_relative_and_properties_string(mutated):
    client, creds = mutated.client(), mutated.credentials
    run = run_id()
    capture(creds["base_url"], series_json(run, 3), creds["project_api_key"])
    body = client.get("/api/projects/1/events/", params={"distinct_id": run, "limit": 2}).json()
    assert body["next"].startswith("/api/projects/1/events/?")
    assert isinstance(body["results"][0]["properties"], str)


def test_mutant_retrieve_bad_uuid_404_and_csv_as_json(mutated):
    client = mutated.client()
    assert client.get("/api/projects/1/events/nope/").status_code == 404
    response = client.get("/api/projects/1/events/", params={"format": "csv"})
    assert response.headers["content-type"].startswith("application/json")


def series_json(distinct_id: str, count: int) -> list[dict[str, Any]]:
    return [{**event, "timestamp": iso(event["timestamp"])} for event in series(distinct_id, count, ago(minutes=5))]
