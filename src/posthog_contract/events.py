"""Seed run-unique test events through capture and wait until the events API lists them (§9).

Events cannot be deleted, so every seeded event carries the run id (distinct ids, event names
and a ``run_id`` property) and keeps apart from everything else on the host. Timestamps are
distinct (>= 1 ms apart), recent (the last 24 h) and never in the future.

Every event the suite captures carries its own timestamp (contract §9), minutes in the runner's
past, and every time window the suite queries is built from the timestamps it sent, never from a
clock: a host whose clock is minutes behind or ahead of the runner's lists the same events
(issue 24). The seeded attributes cycle with coprime periods (event name 3, distinct id 2,
``$browser`` 5, ``plan`` 7), so each filter alone selects a different set from any combination of
them, and a host that applies only one part of a combination is told apart (§7.1, §7.2).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .client import ContractClient
from .paths import ApiPaths

#: how far in the runner's past captured events are stamped: clear of a host clock minutes off, well
#: inside the personal keys' default 24 h window (§7.1, §9)
STAMP_AGE = timedelta(minutes=10)

#: PostHog's shortest progressive time window (posthog/api/event.py, EVENT_LIST_TIME_WINDOWS[0]):
#: a request spanning no more than this is never narrowed (§7.4)
SHORT_SPAN_S = 60


@dataclass(frozen=True)
class SeededEvent:
    uuid: str
    event: str
    distinct_id: str
    timestamp: datetime
    properties: dict[str, Any]


@dataclass
class SeededEvents:
    run_id: str
    start: datetime  # strictly before the first event
    events: list[SeededEvent] = field(default_factory=list)
    listed: list[dict[str, Any]] = field(default_factory=list)  # as the host lists them, newest first

    @property
    def signup(self) -> str:
        return f"pc_{self.run_id}_signup"

    @property
    def pageview(self) -> str:
        return f"pc_{self.run_id}_pageview"

    @property
    def distinct_ids(self) -> tuple[str, str]:
        return (f"pc-{self.run_id}-a", f"pc-{self.run_id}-b")

    @property
    def email(self) -> str:
        return f"{self.run_id}@posthog-contract.invalid"

    def run_filter(self) -> str:
        """The properties filter that selects exactly this run's events."""
        return json.dumps([{"key": "contract_seed", "value": self.run_id, "operator": "exact", "type": "event"}])

    def window(self) -> dict[str, str]:
        return {"after": self.start.isoformat(), "properties": self.run_filter()}

    def by_uuid(self) -> dict[str, SeededEvent]:
        return {e.uuid: e for e in self.events}

    def short_span(self, first: int = 8, last: int = 11) -> dict[str, str]:
        """Bounds around events ``first..last`` spanning at most 60 s (17 s apart: 51 s).

        PostHog probes no progressive time window on such a request (§7.4: windows shorter than
        the span only, the shortest is 60 s), so its walk must reach every matching event.
        """
        after = self.events[first].timestamp - timedelta(milliseconds=1)
        before = self.events[last].timestamp + timedelta(milliseconds=1)
        assert (before - after).total_seconds() <= SHORT_SPAN_S
        return {"after": after.isoformat(), "before": before.isoformat(), "properties": self.run_filter()}

    def newest(self, count: int) -> list[str]:
        """The uuids of the ``count`` newest seeded events, newest first."""
        ordered = sorted(self.events, key=lambda e: e.timestamp, reverse=True)
        return [e.uuid for e in ordered[:count]]


def plan(run_id: str, count: int = 24, *, now: datetime | None = None) -> SeededEvents:
    """A deterministic-per-run set: two event names, two distinct ids, varied properties."""
    now = now or datetime.now(UTC)
    first = (now - timedelta(minutes=20)).replace(microsecond=0)
    seeded = SeededEvents(run_id, first - timedelta(seconds=1))
    for i in range(count):
        properties: dict[str, Any] = {
            "run_id": run_id,
            "contract_seed": run_id,
            "seq": i,
            "$browser": ("Safari", "Chrome", "Firefox", "Chrome", "Firefox")[i % 5],
            "plan": "pro" if i % 7 in (1, 4) else "free",
            "amount": i * 10,
        }
        if i == 0:
            properties["$set"] = {"email": seeded.email, "name": f"Contract {run_id}"}
        seeded.events.append(
            SeededEvent(
                uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"posthog-contract/{run_id}/{i}")),
                event=seeded.signup if i % 3 == 0 else seeded.pageview,
                distinct_id=seeded.distinct_ids[i % 2],
                timestamp=first + timedelta(seconds=i * 17, milliseconds=i * 7),
                properties=properties,
            )
        )
    return seeded


def capture_body(seeded: SeededEvents, project_api_key: str) -> dict[str, Any]:
    """A ``/batch/`` body as posthog-python sends it (no ``sent_at``: §12 q9)."""
    return {
        "api_key": project_api_key,
        "batch": [
            {
                "event": e.event,
                "distinct_id": e.distinct_id,
                "properties": e.properties,
                "timestamp": e.timestamp.isoformat(),
                "uuid": e.uuid,
            }
            for e in seeded.events
        ],
    }


def capture(client: ContractClient, capture_url: str, project_api_key: str, seeded: SeededEvents) -> httpx.Response:
    return client.post(capture_url.rstrip("/") + "/batch/", json=capture_body(seeded, project_api_key), api_key=None)


class EventsNotListable(AssertionError):
    pass


def wait_until_listable(
    client: ContractClient, paths: ApiPaths, seeded: SeededEvents, *, timeout: float, first_delay: float = 0.1
) -> list[dict[str, Any]]:
    """Poll the events list with backoff until every seeded event is there; fail naming how many arrived."""
    wanted = {e.uuid for e in seeded.events}
    deadline = time.monotonic() + timeout
    delay, found, last_status = first_delay, {}, None
    while True:
        response = client.get(paths.events(), params={**seeded.window(), "limit": "1000"})
        last_status = response.status_code
        if response.status_code == 200:
            found = {str(e.get("id")).lower(): e for e in response.json().get("results", []) if isinstance(e, dict)}
            if wanted <= found.keys():
                seeded.listed = [found[u] for u in found if u in wanted]
                return seeded.listed
        if time.monotonic() + delay > deadline:
            arrived = len(wanted & found.keys())
            raise EventsNotListable(
                f"only {arrived} of {len(wanted)} captured events became listable within {timeout:.0f} s"
                f" (last events list answered {last_status}); raise POSTHOG_EVENTS_TIMEOUT if ingestion is slow"
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def stamp(now: datetime | None = None) -> datetime:
    """A timestamp for a captured event nobody lists by time: ``STAMP_AGE`` in the runner's past."""
    return (now or datetime.now(UTC)) - STAMP_AGE


def filler_body(run_id: str, project_api_key: str, count: int, first: datetime) -> dict[str, Any]:
    """``count`` run-tagged events of one name, 1 ms apart from ``first`` (for the `limit` cap check)."""
    return {
        "api_key": project_api_key,
        "batch": [
            {"event": f"pc_{run_id}_filler", "distinct_id": f"pc-{run_id}-filler",
             "properties": {"run_id": run_id, "contract_seed": f"{run_id}-filler"},
             "timestamp": (first + timedelta(milliseconds=i)).isoformat(),
             "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"posthog-contract/{run_id}/filler/{i}"))}
            for i in range(count)
        ],
    }


def filler_window(first: datetime, count: int) -> dict[str, str]:
    """Exclusive bounds around the fillers' own timestamps: a span of about a second, so PostHog
    probes no progressive time window and serves the full range (§7.4)."""
    return {"after": (first - timedelta(milliseconds=1)).isoformat(),
            "before": (first + timedelta(milliseconds=count)).isoformat()}


def wait_for_page(
    client: ContractClient, path: str, params: dict[str, str], *, at_least: int, timeout: float
) -> httpx.Response:
    """Poll one events page with backoff until it holds ``at_least`` events (or the timeout passes)."""
    deadline, delay = time.monotonic() + timeout, 0.1
    while True:
        response = client.get(path, params=params)
        try:
            body = response.json() if response.status_code == 200 else {}
        except ValueError:
            body = {}
        results = body.get("results", []) if isinstance(body, dict) else []
        if len(results) >= at_least or time.monotonic() + delay > deadline:
            return response
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
