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


#: the run's own dashboards for the list checks, in creation order (ids ascend): name label, pinned. Their
#: names differ in one lowercase letter, an order every database collation agrees on (PostHog orders
#: by `-pinned, name` in the database: DashboardsViewSet.get_queryset), and neither the creation order
#: nor the pinned flag alone gives the documented order
LISTED = (("order-c", True), ("order-a", True), ("order-d", False), ("order-b", False))


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("pagination", "shape")
def test_dashboards_walk_covers_the_whole_list_in_order(client, paths, new_dashboard):
    """One walk of the whole list, judged on every documented fact: `count` against the walked items,
    pinned first on every row, then by name (§2.2), and every field of the run's rows as created."""
    ours = [new_dashboard(label, pinned=pinned, tags=["posthog-contract", label], restriction_level=37 if pinned
                          else 21) for label, pinned in LISTED]
    count = expect_shape(client.get(paths.dashboards(), params={"limit": "1"}), 200, "dashboard-list-page")["count"]
    limit = max(2, math.ceil(count / 15))
    walk = walk_dashboards(client, paths.dashboards(), limit=limit)
    rows = walk.items
    ids = [item["id"] for item in rows]
    missing = [d["id"] for d in ours if d["id"] not in ids]
    expect_that(not missing, "every dashboard of the run is reached by walking `next` (§1.6)", None,
                f"missing {missing}")
    expect_that(len(ids) == walk.bodies[0]["count"], "`count` equals the number of dashboards walked (§1.6)", None,
                f"count {walk.bodies[0]['count']}, walked {len(ids)}")
    flags = [bool(item["pinned"]) for item in rows]
    expect_that(flags == sorted(flags, reverse=True), "pinned dashboards are listed first (§2.2)", None,
                f"pinned flags in order: {flags[:40]}")
    by_id = {item["id"]: item for item in rows}
    order = [by_id[d["id"]]["name"] for d in sorted(ours, key=lambda d: ids.index(d["id"]))]
    wanted = [d["name"] for d in sorted(ours, key=lambda d: (not d["pinned"], d["name"]))]
    expect_that(order == wanted, "within the pinned and the unpinned, dashboards are listed by name (§2.2)", None,
                f"listed {order}, documented order {wanted}")
    for created in ours:
        row = by_id[created["id"]]
        wrong = {k: (v, created.get(k)) for k, v in row.items()
                 if k not in ("last_accessed_at", "last_viewed_at") and k in created and v != created[k]}
        expect_that(not wrong, "a list row shows every field as the dashboard has it (§2.1 'List' column)", None,
                    f"dashboard {created['id']}: (listed, created) {wrong}")


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("parameters", "pagination")
def test_limit_and_offset_together_select_a_slice(client, paths, new_dashboard):
    """`limit` alone, `offset` alone and both select three different pages; both together select the
    slice of the ordered list (§1.6)."""
    first = expect_shape(client.get(paths.dashboards(), params={"limit": "3"}), 200, "dashboard-list-page")
    if len(first["results"]) < 3:  # a project this empty gets dashboards of the run's own to slice
        for label, pinned in LISTED[len(first["results"]):3]:
            new_dashboard(f"slice {label}", pinned=pinned)
        first = expect_shape(client.get(paths.dashboards(), params={"limit": "3"}), 200, "dashboard-list-page")
    response = client.get(paths.dashboards(), params={"limit": "2", "offset": "1"})
    page = expect_shape(response, 200, "dashboard-list-page")
    wanted = [item["id"] for item in first["results"][1:3]]
    got = [item["id"] for item in page["results"]]
    expect_that(got == wanted, "`limit` and `offset` together select the slice of the ordered list (§1.6)", response,
                f"got {got}, expected {wanted} (the 2nd and 3rd of limit=3)")
