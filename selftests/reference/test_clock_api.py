"""``--clock-offset SECONDS``: a host whose clock runs ahead of or behind the runner's, over HTTP only.

Every *now* of the reference moves (events' default stamps, the events window, ``created_at``,
``last_accessed_at``, sharing), so the suite can be tried against a host 30 s off (issue 24).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("offset", [-3600, 3600])
def test_stamps_follow_the_shifted_clock(server_with, offset):
    server = server_with("--clock-offset", str(offset))
    client = server.client()
    expected = datetime.now(UTC) + timedelta(seconds=offset)
    made = client.post("/api/projects/1/dashboards/", json={"name": "clock"}).json()
    assert abs(instant(made["created_at"]) - expected) < timedelta(seconds=60)
    fetched = client.get(f"/api/projects/1/dashboards/{made['id']}/").json()
    assert abs(instant(fetched["last_accessed_at"]) - expected) < timedelta(seconds=60)
    sharing = client.patch(f"/api/projects/1/dashboards/{made['id']}/sharing/", json={"enabled": True}).json()
    assert abs(instant(sharing["created_at"]) - expected) < timedelta(seconds=60)


def test_events_without_a_timestamp_are_stamped_by_the_hosts_clock(server_with):
    """An hour behind: a capture without a timestamp lands an hour ago, outside a runner-clocked `after`."""
    server = server_with("--clock-offset", "-3600")
    distinct_id = f"clock-{uuid.uuid4().hex[:10]}"
    sent = server.client(None).post("/batch/", json={"api_key": server.credentials["project_api_key"],
                                                     "batch": [{"event": "clock", "distinct_id": distinct_id}]})
    assert sent.status_code == 200, sent.text
    client = server.client()
    runner_now = datetime.now(UTC)
    recent = client.get("/api/projects/1/events/", params={"distinct_id": distinct_id,
                                                           "after": (runner_now - timedelta(minutes=30)).isoformat()})
    assert recent.status_code == 200 and recent.json()["results"] == []
    hour = client.get("/api/projects/1/events/", params={"distinct_id": distinct_id,
                                                         "after": (runner_now - timedelta(hours=2)).isoformat()})
    (event,) = hour.json()["results"]
    assert abs(instant(event["timestamp"]) - (runner_now - timedelta(hours=1))) < timedelta(seconds=60)


def test_the_default_before_is_the_hosts_now(server_with):
    """Ahead by an hour: an event stamped 30 min in the runner's future is already in the host's past."""
    server = server_with("--clock-offset", "3600")
    distinct_id = f"clock-{uuid.uuid4().hex[:10]}"
    future = datetime.now(UTC) + timedelta(minutes=30)
    server.client(None).post("/batch/", json={"api_key": server.credentials["project_api_key"], "batch": [
        {"event": "clock", "distinct_id": distinct_id, "timestamp": future.isoformat()}]})
    listed = server.client().get("/api/projects/1/events/", params={
        "distinct_id": distinct_id, "after": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
    assert len(listed.json()["results"]) == 1
