"""Pagination: follow `next` to the end with the one walker (contract §1.6, §7.4)."""

from __future__ import annotations

import math

import pytest

from posthog_contract.assertions import expect_shape, expect_that
from posthog_contract.pagination import walk_dashboards, walk_events

pytestmark = pytest.mark.writes


@pytest.mark.operations("events_list")
@pytest.mark.check("shape", "pagination")
@pytest.mark.parametrize("limit", [5, 8])
def test_events_walk_newest_first_returns_the_newest_events(client, paths, seeded_events, outcomes, limit):
    """A newest-first walk may end early under PostHog's progressive time windows (§7.4): a window
    holding between half a page and a page serves the page with `next: null`. The walk is still
    judged on order, no duplicates, kept filters and cursor (the walker) and on reaching the newest
    events without a gap; an early end is reported, never failed and never silent."""
    walk = walk_events(client, paths.events(), {**seeded_events.window(), "limit": str(limit)}, limit=limit)
    got = [str(e["id"]).lower() for e in walk.items]
    total = len(seeded_events.events)
    expect_that(bool(got), "the first page of a newest-first walk is not empty while events match (§7.4)")
    expect_that(
        got == seeded_events.newest(len(got)),
        "a newest-first walk returns the newest matching events, in order, without a gap (§7.4)",
        None,
        f"{len(got)} events over {len(walk.pages)} pages",
    )
    if len(got) < total:
        outcomes.warn(
            f"newest-first events walk (limit {limit}) ended early under PostHog's progressive time windows:"
            f" {len(got)} of {total} matching events over {len(walk.pages)} pages (§7.4, expected behaviour)"
        )
    else:
        expect_that(
            len(walk.pages) == math.ceil(total / limit), "`next` is null once no further event matches (§7.4)",
            None, f"{len(walk.pages)} pages",
        )


@pytest.mark.operations("events_list")
@pytest.mark.check("pagination")
def test_events_walk_newest_first_within_60_s_reaches_every_event(client, paths, seeded_events):
    """Spans of at most 60 s get no time window (§7.4): there `next` is null only at the true end."""
    params = {**seeded_events.short_span(8, 11), "limit": "2"}
    walk = walk_events(client, paths.events(), params, limit=2)
    got = {str(e["id"]).lower() for e in walk.items}
    wanted = {e.uuid for e in seeded_events.events[8:12]}
    expect_that(got == wanted, "a newest-first walk within 60 s returns exactly the matching events (§7.4)",
                None, f"{len(got & wanted)} of {len(wanted)} over {len(walk.pages)} pages")
    expect_that(len(walk.pages) == 2, "`next` is null once no further event matches (§7.4)", None,
                f"{len(walk.pages)} pages")


@pytest.mark.operations("events_list")
@pytest.mark.check("pagination")
def test_events_walk_oldest_first_uses_after(client, paths, seeded_events):
    """Oldest-first requests get no time window (§7.4): the walk reaches every matching event."""
    params = {**seeded_events.window(), "limit": "7", "orderBy": '["timestamp"]'}
    walk = walk_events(client, paths.events(), params, limit=7, descending=False)
    got = {str(e["id"]).lower() for e in walk.items}
    expect_that(got == {e.uuid for e in seeded_events.events}, "ascending walk returns every matching event (§7.4)",
                None, f"{len(got)} of {len(seeded_events.events)} over {len(walk.pages)} pages")


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("pagination")
def test_dashboards_walk_covers_the_whole_list(client, paths, new_dashboard):
    ours = {new_dashboard(f"page-{i}")["id"] for i in range(3)}
    count = expect_shape(client.get(paths.dashboards(), params={"limit": "1"}), 200, "dashboard-list-page")["count"]
    limit = max(2, math.ceil(count / 15))
    walk = walk_dashboards(client, paths.dashboards(), limit=limit)
    ids = {item["id"] for item in walk.items}
    expect_that(
        ours <= ids,
        "every dashboard of the run is reached by walking `next` (§1.6)",
        None,
        f"missing {sorted(ours - ids)}",
    )
    expect_that(
        len(ids) == walk.bodies[0]["count"],
        "`count` equals the number of dashboards walked (§1.6)",
        None,
        f"count {walk.bodies[0]['count']}, walked {len(ids)}",
    )


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("pagination")
def test_dashboards_list_orders_pinned_first(client, paths, new_dashboard):
    pinned = new_dashboard("zz-pinned", pinned=True)
    new_dashboard("aa-unpinned")
    walk = walk_dashboards(client, paths.dashboards(), limit=200)
    items = walk.items
    flags = [bool(item["pinned"]) for item in items]
    expect_that(
        flags == sorted(flags, reverse=True),
        "pinned dashboards are listed first (§2.2)",
        None,
        f"pinned flags in order: {flags[:20]}",
    )
    expect_that(pinned["id"] in {i["id"] for i in items}, "the pinned dashboard is listed")
