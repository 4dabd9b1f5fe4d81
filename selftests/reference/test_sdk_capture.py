"""The official posthog-python SDK captures into the reference server (contract §9).

posthog-python posts JSON to ``/batch/`` (``Content-Encoding: gzip`` with ``gzip=True``), with
``api_key``, ``batch``, ``historical_migration`` and ``sent_at``; ``sync_mode=True`` sends each event
at once, so the events are listable as soon as ``capture`` returns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

posthog = pytest.importorskip("posthog")


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def sdk(request, reference: dict[str, Any]) -> Any:
    client = posthog.Posthog(
        reference["project_api_key"],
        host=reference["base_url"],
        sync_mode=True,
        gzip=request.param,
        capture_mode="v0",  # the legacy /batch/ endpoint, whatever POSTHOG_CAPTURE_MODE says
        max_retries=0,
    )
    yield client
    client.shutdown()


def listed(api, base: str, distinct_id: str, **params: Any) -> list[dict[str, Any]]:
    after = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = api.get(f"{base}/events/", params={"distinct_id": distinct_id, "after": after, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_sdk_capture_is_listed(sdk, api, base):
    run = f"sdk-{uuid.uuid4().hex[:12]}"
    event_uuid = str(uuid.uuid4())
    returned = sdk.capture("sdk event", distinct_id=run, properties={"run_id": run, "n": 1}, uuid=event_uuid)
    assert returned == event_uuid
    # in sync mode a failed send is logged and capture returns None instead of the event's uuid
    assert sdk.capture("sdk event 2", distinct_id=run, properties={"run_id": run, "n": 2}) is not None
    events = listed(api, base, run)
    assert [e["event"] for e in events] == ["sdk event 2", "sdk event"]
    first = events[1]
    assert first["id"] == event_uuid
    assert first["properties"]["run_id"] == run and first["properties"]["n"] == 1
    assert first["properties"]["$lib"] == "posthog-python"


def test_sdk_timestamp_is_kept(sdk, api, base):
    run = f"sdk-{uuid.uuid4().hex[:12]}"
    moment = (datetime.now(UTC) - timedelta(minutes=7)).replace(microsecond=123000)
    assert sdk.capture("dated", distinct_id=run, timestamp=moment) is not None
    assert [datetime.fromisoformat(e["timestamp"]) for e in listed(api, base, run)] == [moment]


def test_sdk_set_updates_the_person(sdk, api, base):
    run = f"sdk-{uuid.uuid4().hex[:12]}"
    assert sdk.set(distinct_id=run, properties={"email": "sdk@example.com", "plan": "pro"}) is not None
    events = listed(api, base, run, include_person="true")
    assert events[0]["event"] == "$set"
    assert events[0]["person"]["properties"] == {"email": "sdk@example.com"}
