"""The events list's malformed input, judged as PostHog reads it (contract §1.7, §7.1, §7.2).

PostHog reads some malformed values as something valid (an unparsable date is *now*), raises on others
(a non-integer ``limit`` or ``action_id``, a property filter its pydantic model refuses: a 500, its own
known defect), and its 2022-2025 builds dropped an unreadable property filter instead (200). So each
check accepts the contract's 400, reports PostHog's own 500 or the older builds' answer as a warning
citing the source, and fails only what no PostHog release does: accepting a value PostHog cannot
read as if it were another, or a 5xx to a value PostHog reads.
"""

from __future__ import annotations

import json

import httpx
import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that

pytestmark = [pytest.mark.writes, pytest.mark.operations("events_list"), pytest.mark.check("negative")]

#: PostHog's code behind each known 500 (contract §1.7)
RAISES_ON_LIMIT = "posthog/api/event.py, EventViewSet.list: int(limit)"
RAISES_ON_ACTION_ID = "posthog/models/event/legacy_events_query.py, LegacyEventsListQuery.run_page: int(action_id)"
RAISES_ON_FILTER = "posthog/schema.py, EventPropertyFilter (extra='forbid'), built in LegacyEventsListQuery.run_page"
DROPPED_BY_OLDER = "posthog/models/filters/mixins/property.py, PropertyMixin._parse_properties: `except: continue`"


def uuids(response: httpx.Response) -> set[str]:
    return {str(event["id"]).lower() for event in expect_shape(response, 200, "event-list-page")["results"]}


def posthogs_own_500(outcomes, response: httpx.Response, what: str, source: str) -> bool:
    """A 5xx to input PostHog itself raises on: PostHog's known defect, a warning citing the source."""
    if response.status_code < 500:
        return False
    outcomes.warn(f"{what} answered {response.status_code}, as current PostHog does ({source}; contract §1.7)")
    return True


def test_non_integer_limit_is_refused(client, paths, seeded_events, outcomes):
    """No PostHog release reads `limit=ten`: every one calls int() on it (a 500 there, §1.7)."""
    response = client.get(paths.events(), params={**seeded_events.window(), "limit": "ten"})
    if posthogs_own_500(outcomes, response, "a non-integer `limit`", RAISES_ON_LIMIT):
        return
    expect_error(response, 400, rule="a non-integer `limit` is refused with a 4xx, never read as another (§1.7)")


def test_non_integer_action_id_is_refused_or_lists_nothing(client, paths, seeded_events, outcomes):
    """`action_id=abc`: current PostHog raises (int()), one intermediate build listed nothing (§7.1)."""
    response = client.get(paths.events(), params={**seeded_events.window(), "action_id": "abc"})
    if posthogs_own_500(outcomes, response, "a non-integer `action_id`", RAISES_ON_ACTION_ID):
        return
    if response.status_code == 200:
        expect_that(
            uuids(response) == set(),
            "a non-integer `action_id` names no action: a 200 lists nothing, never every event (§7.1)",
            response,
        )
        outcomes.warn("a non-integer `action_id` answered 200 with no events, as one PostHog build did (§7.1)")
        return
    expect_error(response, 400, rule="a non-integer `action_id` is refused with a 4xx (§1.7)")


def test_property_filter_posthog_cannot_read_is_refused_or_dropped(client, paths, seeded_events, outcomes):
    """A filter whose `value` is an object: current PostHog's model refuses it (a 500), the 2022-2025
    builds dropped it and applied the others (200). A 200 must be exactly that: the other filters'
    events, never something else (§1.7, §7.2)."""
    readable = json.loads(seeded_events.run_filter()) + [{"key": "$browser", "value": "Safari", "operator": "exact"}]
    unreadable = {"key": "$browser", "value": {"not": "a scalar"}}
    params = {"after": seeded_events.start.isoformat(), "properties": json.dumps([*readable, unreadable])}
    response = client.get(paths.events(), params=params)
    if posthogs_own_500(outcomes, response, "a property filter with an object value", RAISES_ON_FILTER):
        return
    if response.status_code == 200:
        safari = {e.uuid for e in seeded_events.events if e.properties["$browser"] == "Safari"}
        expect_that(
            uuids(response) == safari,
            "a 200 to a filter PostHog cannot read applies the other filters only, as the older builds did (§7.2)",
            response,
            f"expected the {len(safari)} Safari events of the run",
        )
        outcomes.warn(f"a property filter with an object value was dropped (200), as the 2022-2025 builds did"
                      f" ({DROPPED_BY_OLDER}; contract §1.7)")  # fmt: skip
        return
    expect_error(response, 400, attr="properties", rule="a filter PostHog's model refuses is a 400 on `properties`")


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45"])
def test_unparsable_after_reads_as_now(client, paths, seeded_events, outcomes, value):
    """posthog/utils.py, relative_date_parse: what PostHog cannot parse is *now*, never a 400 or a 500;
    so `after` set to it lists none of the run's (past) events (§7.1)."""
    response = client.get(paths.events(), params={"after": value, "properties": seeded_events.run_filter()})
    if response.status_code == 400:
        outcomes.warn(f"after={value!r} answered 400; PostHog reads what it cannot parse as now (§7.1)")
        return
    expect_that(
        uuids(response) == set(),
        f"after={value!r} reads as now: none of the run's earlier events is listed (§7.1)",
        response,
    )
