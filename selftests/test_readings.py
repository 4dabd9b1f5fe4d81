"""PostHog's reading of generated input (property_based/readings.py) and the failure filter built on it.

Each expectation cites the PostHog code it follows; the cases are the classes schemathesis generates for
this contract (issue 22): values PostHog reads as valid or absent, values it raises on (its own known
500, contract §1.7), values the 2022-2025 builds dropped, and values every release refuses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from schemathesis.core.failures import AcceptedNegativeData, ServerError
from schemathesis.core.parameters import ParameterLocation

from posthog_contract import property_based
from posthog_contract.config import Settings
from posthog_contract.property_based import body_readings, failures, readings

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
BASE = "http://127.0.0.1:9"
EVENTS = "/api/projects/{project_id}/events/"


@pytest.fixture(scope="module")
def schema():
    settings = Settings(base_url=BASE, personal_api_key="phx_readings0selftest0key", project_id="7", seed=5,
                        embedded=True)  # fmt: skip
    run = property_based.new_run(settings, pool=(101,), tiles={101: {11}})
    loaded = property_based.load_schema(settings, run)
    yield loaded
    run.session.close()


def sent(path: str, params: Any) -> SimpleNamespace:
    """A response whose request went out as ``requests`` encodes ``params`` (a dict value: its keys)."""
    url = requests.Request("GET", BASE + path, params=params).prepare().url
    return SimpleNamespace(status_code=200, request=SimpleNamespace(url=url, method="GET"), content=b"{}",
                           headers={"content-type": "application/json"})  # fmt: skip


def negative(case: Any, *locations: ParameterLocation) -> SimpleNamespace:
    """The case as the filter sees it, generated negative at ``locations``."""
    meta = SimpleNamespace(is_negative_at=lambda location: location in locations)
    fields = ("operation", "method", "path", "formatted_path", "path_parameters", "query", "body")
    return SimpleNamespace(meta=meta, **{name: getattr(case, name) for name in fields})


def events_case(schema, query: Any) -> tuple[Any, SimpleNamespace]:
    case = schema[EVENTS]["GET"].Case(path_parameters={"project_id": "7"}, query={})
    return negative(case, ParameterLocation.QUERY), sent("/api/projects/7/events/", query)


def reading(query: dict[str, str], name: str) -> readings.Reading:
    """The first reading of ``name`` (``properties`` is read twice: its JSON first, its filters later)."""
    return next(found for label, found in readings.events_list_readings(query) if label == name)


def filters_reading(properties: Any) -> readings.Reading:
    """The reading of the filters themselves (when EventsQuery is built)."""
    query = {"properties": json.dumps(properties)}
    return [found for label, found in readings.events_list_readings(query) if label == "properties"][-1]


# --- the flake: seed 750342099 -------------------------------------------------------------------------------

SEED_750342099_QUERY = [
    ("format", "json"),
    ("before", "0258-01-02T08:25:10.51273-09:22"),
    ("properties", json.dumps({"type": "OR", "values": [
        {"\u00e7": "x", "value": {"k": [1]}, "key": "\u00e5"},  # an unknown key, an object value
        {"nil": {"a": False}, "value": {}, "key": "L"},
    ]})),
    ("after", "0156-11-06T17:54:00+10:13"),
    ("limit", "1000181"),
    ("action_id", "\u00bf\U000c6239\u00bc\u00dd"),  # an object's keys: the last one is read
    ("action_id", "\u00f9\U00023a8e\u00e1"),
    ("orderBy", '["timestamp"]'),
]  # fmt: skip


def test_the_seed_750342099_case_is_accepted_as_posthog_reads_it(schema):
    """The filters PostHog's model refuses were dropped by the 2022-2025 builds, a non-integer action_id
    listed nothing in one build: a 200 is PostHog behaviour, not a violation; current PostHog raises."""
    case, response = events_case(schema, SEED_750342099_QUERY)
    judged = readings.judge(case, response)
    assert judged.refusals == []
    assert judged.known_crash() is not None


# --- query values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["", "5", "0", "-5", " 7", "+7", "1_000", "\u0663", "5000"])
def test_limits_posthog_reads(limit):
    assert reading({"limit": limit}, "limit") == readings.READ


@pytest.mark.parametrize("limit", ["ten", "1.5", "1e3", "7 rows"])
def test_non_integer_limit_raises_in_every_release(limit):
    """posthog/api/event.py: int(limit) in every build; no release reads it, so a 2xx is a violation."""
    found = reading({"limit": limit}, "limit")
    assert found.raises and not found.accepted


@pytest.mark.parametrize("value", ["abc", "1.0", "x1"])
def test_non_integer_action_id_raises_now_and_listed_nothing_once(value):
    found = reading({"action_id": value}, "action_id")
    assert found.raises and found.accepted


@pytest.mark.parametrize("value", ["", "0", "-3", "12"])
def test_integer_or_empty_action_id_is_read(value):
    assert reading({"action_id": value}, "action_id") == readings.READ


@pytest.mark.parametrize("order", ["", '["-timestamp"]', '["timestamp"]', '["event"]', '"text"', '{"a": 1}', "[]"])
def test_order_by_posthog_reads(order):
    """list(json.loads(orderBy)): any list, string or object is read (ascending unless ["-timestamp"])."""
    assert reading({"orderBy": order}, "orderBy") == readings.READ


@pytest.mark.parametrize("order", ["timestamp", "[", "5", "null", "true"])
def test_order_by_posthog_raises_on(order):
    assert reading({"orderBy": order}, "orderBy").raises


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "-4x", "12:00", "soon", "2024-01-01T25:00:00Z"])
def test_unparsable_dates_are_read_as_now(value):
    """posthog/utils.py, relative_date_parse: never a 400, never a 500."""
    assert reading({"after": value}, "after") == readings.READ
    assert readings.posthog_date(value, NOW) == NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-1dStart", datetime(2026, 12, 6, tzinfo=UTC)), ("-2h", datetime(2026, 12, 7, 8, 30, tzinfo=UTC)),
     ("about 3M ago", datetime(2026, 12, 7, 10, 27, tzinfo=UTC)),
     ("-1mEnd", datetime(2026, 11, 30, 10, 30, tzinfo=UTC)), ("2021-1-1", datetime(2021, 1, 1, tzinfo=UTC)),
     ("2024-01-01T00:00:00+0100", datetime(2023, 12, 31, 23, tzinfo=UTC))],
)  # fmt: skip
def test_posthog_dates(text, expected):
    assert readings.posthog_date(text, NOW) == expected


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+09:22", "9999-12-31T23:00:00-05:00", "-99999999999d", "-9000y"])
def test_dates_beyond_the_range_raise(value):
    assert reading({"before": value}, "before").raises


def test_a_range_of_more_than_a_year_raises_on_cloud_only():
    """LegacyEventsListQuery.run_page: "Date range cannot exceed 1 year" where PATCH_EVENT_LIST_MAX_OFFSET
    is set (Cloud); self-hosted reads it."""
    found = reading({"after": "2020-01-01", "before": "2024-01-01"}, "after/before")
    assert found.raises and found.accepted
    assert reading({"after": "-2h"}, "after/before") == readings.READ
    assert not reading({"before": "0001-01-01T03:00:00Z"}, "after/before").accepted


@pytest.mark.parametrize(
    "value", ["", "12", "0190b7a1-0000-7000-8000-0000000000a2", "0190b7a100007000800000000000000a"]
)
def test_person_ids_posthog_reads(value):
    assert reading({"person_id": value}, "person_id") == readings.READ


def test_person_id_neither_id_nor_uuid_raises_in_get_pk_or_uuid():
    found = reading({"person_id": "abc"}, "person_id")
    assert found.raises and found.accepted


# --- the properties filter ------------------------------------------------------------------------------------


def test_unparsable_properties_are_refused_by_every_release():
    found = reading({"properties": "[{"}, "properties")
    assert found.refuses and not found.accepted


@pytest.mark.parametrize("raw", ["5", '"text"', "true"])
def test_a_json_scalar_is_no_filter_now_and_raised_in_older_builds(raw):
    found = reading({"properties": raw}, "properties")
    assert found.accepted and not found.raises and found.older_raises


@pytest.mark.parametrize(
    "leaf",
    [{"key": "a", "value": {"b": 1}}, {"key": "a", "value": [["x"]]}, {"key": "a", "colour": 1},
     {"key": "a", "operator": "equals"}, {"key": "a", "type": "evnt"}, {"key": "a", "type": None},
     {"value": "x"}, {"key": 5}, {"key": "a", "type": "person"}, {"key": "a", "label": 5}],
)  # fmt: skip
def test_filters_posthogs_model_refuses(leaf):
    """posthog/schema.py, EventPropertyFilter / PersonPropertyFilter (extra="forbid")."""
    assert readings.filter_reading(leaf) is not None
    found = filters_reading([leaf])
    assert found.raises and found.accepted  # current PostHog: 500; the 2022-2025 builds dropped it


@pytest.mark.parametrize(
    "leaf",
    [{"key": "a"}, {"key": "a", "value": None, "operator": None, "label": "A"},
     {"key": "a", "property_type": "String", "property_type_format": None},
     {"key": "a", "value": [1, "b", True], "operator": "exact", "type": "event"},
     {"key": "a", "operator": "between", "value": [1, 2]}, {"key": "c", "type": "cohort", "value": 3}],
)  # fmt: skip
def test_filters_posthogs_model_reads(leaf):
    assert readings.filter_reading(leaf) is None


def test_group_type_must_be_and_or_or_exactly():
    assert filters_reading({"type": "or", "values": [{"key": "a"}]}).raises
    assert filters_reading({"type": "OR", "values": [{"key": "a"}, 5, {"type": "AND", "values": []}]}) == readings.READ


# --- which answer PostHog gives: the first input it cannot read -------------------------------------------------


def test_posthog_answers_with_the_first_input_it_cannot_read(schema):
    """EventViewSet.list reads limit before properties: int(limit) raises first (a 500, known)."""
    case, response = events_case(schema, {"limit": "x", "properties": "[{"})
    assert "limit" in readings.judge(case, response).known_crash()
    case, response = events_case(schema, {"properties": "[{", "orderBy": "x"})
    assert readings.judge(case, response).known_crash() is None  # the 400 comes first: a 5xx is the host's


def test_an_object_valued_query_parameter_is_judged_as_the_host_sees_it(schema):
    """requests sends a dict value as its keys, an empty one as an empty value; Django reads the last."""
    for value in ({}, {"5": 1}, {"x": 1, "5": 2}):
        case, response = events_case(schema, {"action_id": value})
        assert readings.judge(case, response).known_crash() is None, value
    case, response = events_case(schema, {"action_id": {"5": 1, "x": 2}})
    assert "action_id" in readings.judge(case, response).known_crash()


# --- path and body ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "read"), [(" 12", True), ("+12", True), ("1_2", True), ("12.0", False), ("abc", False)]
)
def test_dashboard_ids_are_read_by_int(value, read):
    assert (readings._dashboard_id(value) == readings.READ) is read


@pytest.mark.parametrize("body", [
    {"breakdown_colors": [1, 2], "filters": {}, "name": 5, "pinned": "yes", "restriction_level": "37"},
    {"tiles": {}, "variables": None, "description": 3.5, "deleted": 0, "use_dashboard": "12"},
])  # fmt: skip
def test_dashboard_bodies_drf_reads(body):
    """DashboardSerializer: CharFields take numbers, BooleanField "yes"/0, ChoiceField "37", JSONField any."""
    assert body_readings.body_problems("dashboards_partial_update", body) == []


@pytest.mark.parametrize("body", [{"restriction_level": 99}, {"breakdown_colors": None}, {"name": True},
                                  {"filters": [1]}, {"pinned": "maybe"}])  # fmt: skip
def test_dashboard_bodies_drf_refuses(body):
    assert body_readings.body_problems("dashboards_partial_update", body)


def test_char_fields_are_measured_after_drfs_trim():
    """CharField(trim_whitespace=True): max_length is checked on the stripped text (the seed-9 sweep flake:
    a name of 400 characters and a tail of \x1e, which str.strip() removes)."""
    assert body_readings.body_problems("dashboards_partial_update", {"name": "x" * 390 + "\x1e" * 30}) == []
    assert body_readings.body_problems("dashboards_create", {"description": " d ", "name": " " * 500}) == []
    assert body_readings.body_problems("dashboards_partial_update", {"name": "x" * 401})


@pytest.mark.parametrize(
    ("raw", "read"),
    [(b"", True), (b'{"name": "x"}', True), (b" {} ", True), (b"\x0c", False), (b"  ", False), (b"[]", False),
     (b"NaN", False), (b"\xff", False)],
)  # fmt: skip
def test_raw_bytes_are_read_as_drfs_json_parser_reads_them(raw, read):
    """schemathesis' "invalid syntax: random bytes" may be JSON after all: DRF parses what it sent."""
    assert (body_readings.body_problems("dashboards_create", raw) == []) is read


def test_collaborator_body_as_drf_reads_it():
    """UUIDField: hex without dashes; the level's ChoiceField: "37"."""
    assert body_readings.body_problems("dashboards_collaborators_create", {"user_uuid": "0" * 32, "level": "37"}) == []
    assert body_readings.body_problems("dashboards_collaborators_create", {"user_uuid": "no", "level": 37})


# --- the failure filter -----------------------------------------------------------------------------------------


def test_the_filter_drops_accepted_negative_data_posthog_accepts_and_keeps_the_rest(schema):
    failure = AcceptedNegativeData(operation="GET", message="m", status_code=200, expected_statuses=["400"])
    case, response = events_case(schema, SEED_750342099_QUERY)
    assert failures._filter_failure(None, failure, case, response) is False
    case, response = events_case(schema, {"limit": "ten"})
    assert failures._filter_failure(None, failure, case, response) is True
    case, response = events_case(schema, {"properties": "[{"})
    assert failures._filter_failure(None, failure, case, response) is True


def test_a_5xx_is_forgiven_only_where_posthog_itself_raises(schema):
    failure = ServerError(operation="GET", status_code=500)
    case, response = events_case(schema, {"limit": "ten"})
    response.status_code = 500
    assert failures._filter_failure(None, failure, case, response) is False  # PostHog's own int(limit)
    case, response = events_case(schema, {"after": "yesterday"})
    response.status_code = 500
    assert failures._filter_failure(None, failure, case, response) is True  # PostHog reads it as now
