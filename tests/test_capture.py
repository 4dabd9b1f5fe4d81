"""Capture: the project API key in the body, its own answers (contract §9)."""

from __future__ import annotations

import uuid

import pytest

from posthog_contract import events
from posthog_contract.assertions import expect_shape, expect_that
from posthog_contract.operations import OPERATIONS
from posthog_contract.paths import CAPTURE_PATHS

pytestmark = [pytest.mark.writes, pytest.mark.operations("capture_batch")]

#: capture path -> the catalogue operation it is
CAPTURE_OPERATIONS = {op.path: op.operation_id for op in OPERATIONS if "capture" in op.tags}


@pytest.fixture(scope="module")
def capture_base(settings):
    return (settings.capture_url or settings.base_url).rstrip("/")


@pytest.fixture(scope="module")
def project_key(settings, contract, outcomes):
    key = settings.project_api_key or contract.facts.project_api_key
    if not key:
        outcomes.unavailable("no project API key: set POSTHOG_PROJECT_API_KEY (the host did not reveal one)")
    return key


def one_event(run_id: str, **extra):
    return {
        "event": f"pc_{run_id}_capture_check",
        "distinct_id": f"pc-{run_id}-capture",
        "properties": {"run_id": run_id},
        "timestamp": events.stamp().isoformat(),  # its own timestamp, never the host's now (§9)
        "uuid": str(uuid.uuid4()),
        **extra,
    }


@pytest.mark.check("status", "shape")
@pytest.mark.parametrize(
    "path", [pytest.param(path, marks=pytest.mark.operations(CAPTURE_OPERATIONS[path])) for path in CAPTURE_PATHS]
)
def test_capture_accepts_a_single_event(client, capture_base, project_key, run_id, path):
    response = client.post(capture_base + path, json={"api_key": project_key, **one_event(run_id)}, api_key=None)
    expect_shape(response, 200, "capture-response", rule=f"POST {path} answers 200 with a capture status (§9)")


@pytest.mark.check("auth")
def test_capture_without_a_token_is_4xx(client, capture_base, run_id):
    response = client.post(capture_base + "/batch/", json={"batch": [one_event(run_id)]}, api_key=None)
    expect_that(400 <= response.status_code < 500, "capture without a project key is refused with a 4xx (§9)", response)


@pytest.mark.check("auth")
def test_capture_with_an_unknown_token_is_refused(client, capture_base, run_id, outcomes, settings):
    body = {"api_key": "phc_posthogcontract0unknown0token0000000000", "batch": [one_event(run_id)]}
    response = client.post(capture_base + "/batch/", json=body, api_key=None)
    # Judged against the release baseline (§11), on any host: current capture refuses with 401/403;
    # older captures answer 200 and drop the events later, so only a host judged as an older release
    # (--posthog-baseline) gets a warning for the 200.
    if response.status_code == 200 and settings.baseline is not None:
        outcomes.warn("capture accepted an unknown project key with 200 (§9)")
        return
    expect_that(response.status_code in (401, 403), "capture with an unknown project key is 401 or 403 (§9)", response)


@pytest.mark.check("negative")
def test_capture_without_an_event_name_is_4xx(client, capture_base, project_key, run_id):
    event = one_event(run_id)
    del event["event"]
    response = client.post(capture_base + "/batch/", json={"api_key": project_key, "batch": [event]}, api_key=None)
    expect_that(400 <= response.status_code < 500, "an event without a name is refused with a 4xx (§9)", response)
