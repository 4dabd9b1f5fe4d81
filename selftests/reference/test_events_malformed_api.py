"""The events list's answers to values PostHog cannot read, in each ``--malformed-input`` mode (contract §1.7).

``400`` (default): the contract's 400s. ``500``: current PostHog's own 500s (``posthog/api/event.py``,
``LegacyEventsListQuery``, the pydantic ``EventPropertyFilter``). ``drop``: the 2022-2025 builds, which
dropped property filters they could not read (``PropertyMixin._parse_properties``: ``except: continue``)
and listed nothing for a non-integer ``action_id``. What every mode shares is today's PostHog: a limit of
0 or less is the default page, an unparsable date is now, unparsable JSON is 400. Over HTTP only.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

#: (label, properties) that PostHog's pydantic property filter refuses: a 500 in current PostHog
REFUSED_FILTERS = [
    ("object value", [{"key": "$browser", "value": {"a": 1}}]),
    ("object in a value list", [{"key": "$browser", "value": ["Safari", {"a": 1}]}]),
    ("nested list value", [{"key": "$browser", "value": [["Safari"]]}]),
    ("unknown key", [{"key": "$browser", "value": "Safari", "colour": "red"}]),
    ("unknown operator", [{"key": "$browser", "value": "Safari", "operator": "equals"}]),
    ("unknown type", [{"key": "$browser", "value": "Safari", "type": "evnt"}]),
    ("null type", [{"key": "$browser", "value": "Safari", "type": None}]),
    ("missing key", [{"value": "Safari"}]),
    ("numeric key", [{"key": 5, "value": "Safari"}]),
    ("person without operator", [{"key": "email", "value": "a@example.com", "type": "person"}]),
    ("label not a string", [{"key": "$browser", "value": "Safari", "label": 5}]),
    ("group in a filter list", [{"type": "OR", "values": [{"key": "$browser", "value": "Safari"}]}]),
    ("refused filter in a group", {"type": "AND", "values": [{"key": "$browser", "value": {}}]}),
]
#: filters PostHog's model reads (render hints dropped, a null operator on an event filter, a label)
READ_FILTERS = [
    [{"key": "$browser", "value": "Safari", "property_type": "String", "property_type_format": None}],
    [{"key": "$browser", "value": "Safari", "operator": None, "label": "Browser"}],
    [{"key": "$browser", "value": ["Safari"], "operator": "exact", "type": "event"}],
]


def _capture(server: Any, events: list[dict[str, Any]]) -> None:
    creds = server.credentials
    body = {"api_key": creds["project_api_key"], "batch": events}
    response = httpx.post(f"{creds['base_url']}/batch/", json=body, timeout=30)
    assert response.status_code == 200, response.text


def _seed(server: Any) -> dict[str, Any]:
    """Three events of one run-unique distinct id: Safari, Chrome, Firefox, a second apart."""
    run = f"mal-{uuid.uuid4().hex[:12]}"
    start = datetime.now(UTC) - timedelta(minutes=10)
    browsers = ["Safari", "Chrome", "Firefox"]
    _capture(server, [
        {"event": "view", "distinct_id": run, "uuid": str(uuid.uuid4()), "properties": {"$browser": name},
         "timestamp": (start + timedelta(seconds=i)).isoformat()} for i, name in enumerate(browsers)
    ])  # fmt: skip
    return {"run": run, "after": (start - timedelta(minutes=1)).isoformat()}


def _get(server: Any, seeded: dict[str, Any], **params: Any) -> httpx.Response:
    query = {"distinct_id": seeded["run"], "after": seeded["after"], **params}
    return server.client().get(f"/api/projects/{server.credentials['project_id']}/events/", params=query)


def _browsers(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [event["properties"]["$browser"] for event in response.json()["results"]]


def _is_server_error(response: httpx.Response) -> None:
    assert response.status_code == 500, response.text
    assert response.json() == {"type": "server_error", "code": "error", "detail": "A server error occurred.",
                               "attr": None}  # fmt: skip


@pytest.fixture(scope="module")
def mode_400(server_with: Any) -> tuple[Any, dict[str, Any]]:
    server = server_with("--malformed-input", "400")
    return server, _seed(server)


@pytest.fixture(scope="module")
def mode_500(server_with: Any) -> tuple[Any, dict[str, Any]]:
    server = server_with("--malformed-input", "500")
    return server, _seed(server)


@pytest.fixture(scope="module")
def mode_drop(server_with: Any) -> tuple[Any, dict[str, Any]]:
    server = server_with("--malformed-input", "drop")
    return server, _seed(server)


# --- 400: the contract ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "filters"), REFUSED_FILTERS, ids=[label for label, _ in REFUSED_FILTERS])
def test_filters_posthogs_model_refuses_are_400_on_properties(mode_400, expect_error, label, filters):
    server, seeded = mode_400
    body = expect_error(_get(server, seeded, properties=json.dumps(filters)), 400, "invalid_input",
                        attr="properties")  # fmt: skip
    assert body["detail"].startswith("PostHog cannot read this property filter"), body


@pytest.mark.parametrize("filters", READ_FILTERS, ids=["render hints", "null operator and label", "explicit"])
def test_filters_posthogs_model_reads_are_served_in_every_mode(mode_400, mode_500, mode_drop, filters):
    for server, seeded in (mode_400, mode_500, mode_drop):
        assert _browsers(_get(server, seeded, properties=json.dumps(filters))) == ["Safari"]


def test_the_default_mode_is_the_contracts_400(server_with, reference, expect_error):
    """No flag and ``--malformed-input 400`` answer alike: a non-integer limit is 400 on the shared server."""
    default = httpx.get(f"{reference['base_url']}/api/projects/1/events/", params={"limit": "x"},
                        headers={"Authorization": f"Bearer {reference['personal_api_key']}"})  # fmt: skip
    expect_error(default, 400, "invalid_input", attr="limit")


# --- 500: current PostHog ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "filters"), REFUSED_FILTERS, ids=[label for label, _ in REFUSED_FILTERS])
def test_filters_posthogs_model_refuses_are_500(mode_500, label, filters):
    server, seeded = mode_500
    _is_server_error(_get(server, seeded, properties=json.dumps(filters)))


@pytest.mark.parametrize(
    "params",
    [{"limit": "abc"}, {"limit": "1.5"}, {"action_id": "abc"}, {"orderBy": "not json"}, {"orderBy": "5"},
     {"orderBy": "null"}, {"after": "0001-01-01T00:00:00+09:22"}, {"before": "-99999999999d"}],
    ids=["limit word", "limit decimal", "action_id", "orderBy text", "orderBy number", "orderBy null",
         "after overflow", "before overflow"],
)  # fmt: skip
def test_values_posthog_raises_on_are_500(mode_500, params):
    server, seeded = mode_500
    _is_server_error(_get(server, seeded, **params))


def test_action_id_is_judged_by_its_last_value(mode_500):
    server, seeded = mode_500
    query = [("distinct_id", seeded["run"]), ("after", seeded["after"])]
    client, path = server.client(), f"/api/projects/{server.credentials['project_id']}/events/"
    _is_server_error(client.get(path, params=[*query, ("action_id", "1"), ("action_id", "x")]))
    assert client.get(path, params=[*query, ("action_id", "x"), ("action_id", "1")]).json()["results"] == []


def test_json_that_is_no_filter_list_reads_as_no_filter(mode_500):
    """posthog/api/event.py, _parse_properties_param: anything but a list or a group is None."""
    server, seeded = mode_500
    for raw in ("5", '"text"', '{"key": "$browser", "value": "Chrome"}', "null"):
        assert _browsers(_get(server, seeded, properties=raw)) == ["Firefox", "Chrome", "Safari"], raw
    mixed = json.dumps([5, "x", {"key": "$browser", "value": "Chrome"}])  # non-object items are left out
    assert _browsers(_get(server, seeded, properties=mixed)) == ["Chrome"]


def test_group_type_is_and_or_or_exactly(mode_500):
    server, seeded = mode_500
    good = {"type": "OR", "values": [{"key": "$browser", "value": "Chrome"}, {"key": "$browser", "value": "Safari"}]}
    assert _browsers(_get(server, seeded, properties=json.dumps(good))) == ["Chrome", "Safari"]
    _is_server_error(_get(server, seeded, properties=json.dumps({**good, "type": "or"})))


def test_unparsable_json_is_still_400(mode_500, expect_error):
    server, seeded = mode_500
    expect_error(_get(server, seeded, properties="[{"), 400, "invalid_input", detail="Properties are unparsable!")


@pytest.mark.parametrize(
    ("order", "ascending", "key"),
    [('["event"]', True, "after"), ('"-timestamp"', True, "after"), ('["-timestamp", "event"]', True, "before"),
     ('["-timestamp"]', False, "before"), ("", False, "before")],
)  # fmt: skip
def test_order_by_as_posthog_reads_it(mode_500, order, ascending, key):
    """descending only for exactly ["-timestamp"]; `next` sets before whenever the list holds it."""
    server, seeded = mode_500
    response = _get(server, seeded, orderBy=order, limit=2)
    stamps = [event["timestamp"] for event in response.json()["results"]]
    assert stamps == sorted(stamps, reverse=not ascending), response.text
    linked = dict(parse_qsl(urlsplit(response.json()["next"]).query, keep_blank_values=True))
    assert datetime.fromisoformat(linked[key]) == datetime.fromisoformat(stamps[-1])


def test_limit_of_zero_or_less_is_the_default_page_in_every_mode(mode_400, mode_500, mode_drop):
    for server, seeded in (mode_400, mode_500, mode_drop):
        assert len(_browsers(_get(server, seeded, limit="0"))) == 3
        assert len(_browsers(_get(server, seeded, limit="-4"))) == 3


# --- drop: the 2022-2025 builds -----------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "filters"), REFUSED_FILTERS, ids=[label for label, _ in REFUSED_FILTERS])
def test_filters_posthogs_model_refuses_are_dropped(mode_drop, label, filters):
    server, seeded = mode_drop
    assert _browsers(_get(server, seeded, properties=json.dumps(filters))) == ["Firefox", "Chrome", "Safari"]


def test_a_dropped_filter_leaves_the_others_applied(mode_drop):
    server, seeded = mode_drop
    filters = [{"key": "$browser", "value": "Chrome"}, {"key": "$browser", "value": {"not": "readable"}}]
    assert _browsers(_get(server, seeded, properties=json.dumps(filters))) == ["Chrome"]
    group = {"type": "OR", "values": [{"key": "$browser", "value": "Chrome"}, {"key": "$browser", "operator": "~"}]}
    assert _browsers(_get(server, seeded, properties=json.dumps(group))) == ["Chrome"]


def test_non_integer_action_id_lists_nothing(mode_drop):
    server, seeded = mode_drop
    assert _get(server, seeded, action_id="abc").json() == {"next": None, "results": []}


def test_non_integer_limit_still_raises(mode_drop):
    """int(limit) is in every build's EventViewSet.list."""
    server, seeded = mode_drop
    _is_server_error(_get(server, seeded, limit="abc"))


# --- the mutants of these rules -------------------------------------------------------------------------------


def test_mutants_read_what_posthog_cannot_read(reference_server):
    server = reference_server("events_non_integer_limit_read", "events_non_integer_action_id_ignored",
                              "events_unparsable_date_ignored", "events_unreadable_filter_matches_nothing")  # fmt: skip
    seeded = _seed(server)
    assert len(_browsers(_get(server, seeded, limit="ten"))) == 3  # read as the default page
    assert len(_browsers(_get(server, seeded, action_id="abc"))) == 3  # the filter ignored
    unreadable = [{"key": "$browser", "value": "Safari"}, {"key": "$browser", "value": {"x": 1}}]
    assert _browsers(_get(server, seeded, properties=json.dumps(unreadable))) == []  # applied, matching nothing
    query = {"distinct_id": seeded["run"], "after": "yesterday"}
    body = server.client().get(f"/api/projects/{server.credentials['project_id']}/events/", params=query).json()
    assert len(body["results"]) == 3  # an unparsable `after` read as absent: the last 24 h


def test_mutant_unparsable_date_500(reference_server):
    server = reference_server("events_unparsable_date_500")
    seeded = _seed(server)
    _is_server_error(_get(server, seeded, before="yesterday"))
    assert _get(server, seeded, before="-1h").status_code == 200  # a date it reads is served
