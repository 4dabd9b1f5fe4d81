"""The reference server's capture endpoints (contract §9), through HTTP only.

Every check reads the stored events back through ``GET /events/`` with a run-unique distinct id.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

PATHS = ["/batch/", "/batch", "/capture/", "/capture", "/e/", "/e", "/i/v0/e/", "/i/v0/e"]
CAPTURE_MUTANTS = ("capture_status_wrong", "capture_accepts_missing_token", "capture_drops_events")
MAX_CAPTURE_BYTES = 20 * 1024 * 1024


def run_id(label: str = "cap") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def capture_client(reference_server) -> httpx.Client:
    """No Authorization header: capture authenticates with the project API key in the body."""
    return reference_server().client(None)


@pytest.fixture(scope="session")
def token(reference: dict[str, Any]) -> str:
    return reference["project_api_key"]


@pytest.fixture(scope="session")
def stored(api: httpx.Client, base: str) -> Callable[..., list[dict[str, Any]]]:
    """``stored(distinct_id)``: the events of that distinct id in the last two days, newest first."""

    def get(distinct_id: str, **params: Any) -> list[dict[str, Any]]:
        after = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        query = {"distinct_id": distinct_id, "after": after, "limit": 1000, **params}
        response = api.get(f"{base}/events/", params=query)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    return get


def assert_ok(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "Ok"}


def assert_capture_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Capture's own error body ``{"status", "code", "error"}``, never the REST envelope."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "code", "error"}, body
    assert body["status"] == status and body["code"] == code and isinstance(body["error"], str), body
    return body


# --- endpoints and body forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
def test_every_endpoint_takes_a_single_event(capture_client, token, stored, path):
    run = run_id()
    assert_ok(capture_client.post(path, json={"api_key": token, "event": "single", "distinct_id": run}))
    assert [e["event"] for e in stored(run)] == ["single"]


@pytest.mark.parametrize("path", ["/batch/", "/capture/", "/e/", "/i/v0/e/"])
def test_every_endpoint_takes_a_batch_and_a_bare_array(capture_client, token, stored, path):
    run = run_id()
    batch = [{"event": "b1", "distinct_id": run}, {"event": "b2", "distinct_id": run}]
    assert_ok(capture_client.post(path, json={"api_key": token, "batch": batch, "historical_migration": False}))
    bare = [{"event": "b3", "distinct_id": run, "properties": {"token": token}}]
    assert_ok(capture_client.post(path, json=bare))
    assert sorted(e["event"] for e in stored(run)) == ["b1", "b2", "b3"]


@pytest.mark.parametrize("alias", ["api_key", "token", "$token"])
def test_token_aliases_at_the_top_level(capture_client, token, stored, alias):
    run = run_id()
    assert_ok(capture_client.post("/capture/", json={alias: token, "event": "alias", "distinct_id": run}))
    assert_ok(capture_client.post("/batch/", json={alias: token, "batch": [{"event": "alias", "distinct_id": run}]}))
    assert len(stored(run)) == 2


def test_token_in_properties_and_per_event_in_a_batch(capture_client, token, stored):
    run = run_id()
    event = {"event": "props-token", "distinct_id": run, "properties": {"token": token}}
    assert_ok(capture_client.post("/i/v0/e/", json=event))
    batch = {"batch": [{"event": "per-event", "distinct_id": run, "api_key": token}]}
    assert_ok(capture_client.post("/batch/", json=batch))
    assert sorted(e["event"] for e in stored(run)) == ["per-event", "props-token"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body_is_json_whatever_the_content_type(capture_client, token, stored, content_type):
    run = run_id()
    body = json.dumps({"api_key": token, "event": "typed", "distinct_id": run}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    assert_ok(capture_client.post("/e/", content=body, headers=headers))
    assert len(stored(run)) == 1


def test_gzip_with_content_encoding(capture_client, token, stored):
    run = run_id()
    body = gzip.compress(json.dumps({"api_key": token, "batch": [{"event": "gz", "distinct_id": run}]}).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    response = capture_client.post("/batch/", content=body, headers=headers)
    assert_ok(response)
    assert [e["event"] for e in stored(run)] == ["gz"]


@pytest.mark.parametrize("compression", ["gzip", "gzip-js"])
def test_gzip_with_compression_query_parameter(capture_client, token, stored, compression):
    run = run_id()
    body = gzip.compress(json.dumps([{"event": "gzjs", "distinct_id": run, "properties": {"token": token}}]).encode())
    response = capture_client.post(f"/e/?compression={compression}&ver=1.0", content=body,
                                   headers={"Content-Type": "text/plain"})  # fmt: skip
    assert_ok(response)
    assert len(stored(run)) == 1


def test_form_data_field_with_base64_json(capture_client, token, stored):
    """Older posthog-js: ``data=<base64 JSON>`` form-encoded (a reference extra)."""
    run = run_id()
    payload = base64.b64encode(json.dumps({"api_key": token, "event": "form", "distinct_id": run}).encode()).decode()
    assert_ok(capture_client.post("/e/", data={"data": payload}))
    assert len(stored(run)) == 1


# --- event fields -------------------------------------------------------------------------------------------


def test_distinct_id_from_properties_and_numbers_as_strings(capture_client, token, stored):
    run = run_id()
    body = {"api_key": token, "event": "p", "properties": {"distinct_id": run}}
    assert_ok(capture_client.post("/capture/", json=body))
    assert [e["distinct_id"] for e in stored(run)] == [run]
    number = 10**15 + uuid.uuid4().int % 10**12
    assert_ok(capture_client.post("/capture/", json={"api_key": token, "event": "n", "distinct_id": number}))
    assert [e["distinct_id"] for e in stored(str(number))] == [str(number)]


def test_uuid_is_kept_lowercase_dashed_or_generated(capture_client, token, stored, api, base):
    run = run_id()
    given = uuid.uuid4()
    batch = [{"event": "given", "distinct_id": run, "uuid": given.hex.upper()},
             {"event": "generated", "distinct_id": run}]  # fmt: skip
    assert_ok(capture_client.post("/batch/", json={"api_key": token, "batch": batch}))
    events = {e["event"]: e for e in stored(run)}
    assert events["given"]["id"] == str(given)
    assert str(uuid.UUID(events["generated"]["id"])) == events["generated"]["id"]
    assert api.get(f"{base}/events/{given}/").json()["event"] == "given"


def test_duplicate_uuid_is_ignored(capture_client, token, stored):
    run = run_id()
    same = str(uuid.uuid4())
    batch = [{"event": name, "distinct_id": run, "uuid": same} for name in ("first", "second")]
    assert_ok(capture_client.post("/batch/", json={"api_key": token, "batch": batch}))
    again = {"api_key": token, "event": "third", "distinct_id": run, "uuid": same}
    assert_ok(capture_client.post("/capture/", json=again))
    assert [e["event"] for e in stored(run)] == ["first"]


@pytest.mark.parametrize("suffix", ["Z", "+00:00", "+0000", ""])
def test_timestamp_forms(capture_client, token, stored, suffix):
    run = run_id()
    moment = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=250000)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + suffix
    body = {"api_key": token, "event": "t", "distinct_id": run, "timestamp": text}
    assert_ok(capture_client.post("/capture/", json=body))
    assert datetime.fromisoformat(stored(run)[0]["timestamp"]) == moment


def test_timestamp_defaults_to_now_and_offset_counts_back(capture_client, token, stored):
    run = run_id()
    before = datetime.now(UTC)
    batch = [{"event": "now", "distinct_id": run}, {"event": "offset", "distinct_id": run, "offset": 60_000}]
    assert_ok(capture_client.post("/batch/", json={"api_key": token, "batch": batch}))
    after = datetime.now(UTC)
    events = {e["event"]: datetime.fromisoformat(e["timestamp"]) for e in stored(run)}
    assert before - timedelta(seconds=1) <= events["now"] <= after + timedelta(seconds=1)
    assert abs(events["offset"] - (events["now"] - timedelta(minutes=1))) < timedelta(seconds=2)


def test_set_and_set_once_update_the_person(capture_client, token, stored):
    run = run_id()
    batch = [
        {"event": "e1", "distinct_id": run,
         "properties": {"$set": {"name": "First"}, "$set_once": {"email": "a@x.io"}}},  # fmt: skip
        {"event": "e2", "distinct_id": run, "$set": {"name": "Second"}, "$set_once": {"email": "b@x.io"}},
    ]
    assert_ok(capture_client.post("/batch/", json={"api_key": token, "batch": batch}))
    assert_ok(capture_client.post("/capture/", json={"api_key": token, "event": "e3", "distinct_id": run,
                                                     "properties": {"$set": {"username": "u1"}}}))  # fmt: skip
    person = stored(run, include_person="true")[0]["person"]
    assert person["properties"] == {"name": "Second", "email": "a@x.io", "username": "u1"}
    assert person["distinct_ids"] == [run] and person["is_identified"] is False


def test_autocapture_elements_become_the_elements_chain(capture_client, token, stored):
    run = run_id()
    elements = [{"tag_name": "button", "attr__class": ["cta", "big"], "$el_text": "Buy", "nth_child": 1,
                 "nth_of_type": 1, "attr__id": "buy"}, {"tag_name": "div", "nth_child": 2}]  # fmt: skip
    event = {"api_key": token, "event": "$autocapture", "distinct_id": run, "properties": {"$elements": elements}}
    assert_ok(capture_client.post("/e/", json=event))
    listed = stored(run)[0]
    assert "$elements" not in listed["properties"]
    assert listed["elements_chain"].startswith("button.big.cta:")
    first = listed["elements"][0]
    assert (first["tag_name"], first["text"], first["attr_id"], first["attr_class"]) == ("button", "Buy", "buy",
                                                                                         ["big", "cta"])  # fmt: skip
    assert [e["tag_name"] for e in listed["elements"]] == ["button", "div"]


def test_other_projects_token_stores_in_that_project(capture_client, reference, stored):
    run = run_id()
    event = {"api_key": reference["other_project_capture_key"], "event": "elsewhere", "distinct_id": run}
    assert_ok(capture_client.post("/capture/", json=event))
    assert stored(run) == []


def test_a_batch_of_1000_is_stored_whole_and_quickly(capture_client, token, stored):
    run = run_id()
    start = datetime.now(UTC) - timedelta(hours=1)
    batch = [{"event": "bulk", "distinct_id": run, "uuid": str(uuid.uuid4()), "properties": {"i": i, "$browser": "S"},
              "timestamp": (start + timedelta(milliseconds=i)).isoformat()} for i in range(1000)]  # fmt: skip
    began = time.perf_counter()
    assert_ok(capture_client.post("/batch/", json={"api_key": token, "batch": batch}))
    elapsed = time.perf_counter() - began
    events = stored(run)
    assert len(events) == 1000 and {e["id"] for e in events} == {e["uuid"] for e in batch}
    assert elapsed < 5, f"1000 events took {elapsed:.2f}s"  # generous: the target is >= 20k events/s


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{", b"", b"123", b'"text"', b"null", b'{"api_key": "k", "batch": {}}', b"[1, 2]",
     b'{"api_key": "PH", "event": "x", "distinct_id": NaN}'],
)  # fmt: skip
def test_bad_payload_is_400_invalid_payload(capture_client, token, body):
    body = body.replace(b"PH", token.encode())
    assert_capture_error(capture_client.post("/batch/", content=body), 400, "invalid_payload")


def test_lone_surrogate_is_400_not_500(capture_client, token):
    body = '{"api_key": "TOKEN", "event": "x", "distinct_id": "d", "properties": {"s": "\\ud800"}}'
    body = body.replace("TOKEN", token)
    assert_capture_error(capture_client.post("/capture/", content=body.encode()), 400, "invalid_payload")


def test_bad_gzip_is_400(capture_client):
    response = capture_client.post("/batch/", content=b"\x1f\x8bnot really gzip", headers={"Content-Encoding": "gzip"})
    assert_capture_error(response, 400, "invalid_payload")
    truncated = gzip.compress(b'{"api_key": "x", "event": "e", "distinct_id": "d"}')[:-12]
    assert_capture_error(capture_client.post("/e/?compression=gzip-js", content=truncated), 400, "invalid_payload")


@pytest.mark.parametrize(
    "event",
    [{"distinct_id": "d"}, {"event": "", "distinct_id": "d"}, {"event": 5, "distinct_id": "d"}, {"event": "e"},
     {"event": "e", "distinct_id": ""}, {"event": "e", "distinct_id": "   "}, {"event": "e", "distinct_id": None},
     {"event": "e", "distinct_id": True}, {"event": "e", "distinct_id": {"a": 1}},
     {"event": "e", "distinct_id": "d", "uuid": "not-a-uuid"}, {"event": "e", "distinct_id": "d", "uuid": 5},
     {"event": "e", "distinct_id": "d", "properties": "str"}],
)  # fmt: skip
def test_invalid_event_is_400(capture_client, token, event):
    assert_capture_error(capture_client.post("/capture/", json={"api_key": token, **event}), 400, "invalid_payload")
    batch = {"api_key": token, "batch": [{"event": "fine", "distinct_id": "d"}, event]}
    assert_capture_error(capture_client.post("/batch/", json=batch), 400, "invalid_payload")


def test_invalid_event_stores_nothing_of_its_batch(capture_client, token, stored):
    run = run_id()
    batch = {"api_key": token, "batch": [{"event": "fine", "distinct_id": run}, {"event": "no distinct id"}]}
    assert_capture_error(capture_client.post("/batch/", json=batch), 400, "invalid_payload")
    assert stored(run) == []


def test_empty_batch_is_400(capture_client, token):
    assert_capture_error(capture_client.post("/batch/", json={"api_key": token, "batch": []}), 400, "invalid_payload")
    assert_capture_error(capture_client.post("/batch/", json=[]), 400, "invalid_payload")


@pytest.mark.parametrize(
    "body",
    [{"event": "e", "distinct_id": "d"}, {"batch": [{"event": "e", "distinct_id": "d"}]},
     {"api_key": "", "event": "e", "distinct_id": "d"}, {"api_key": 5, "event": "e", "distinct_id": "d"}],
)  # fmt: skip
def test_missing_token_is_401_ingest_key_required(capture_client, body):
    assert_capture_error(capture_client.post("/capture/", json=body), 401, "ingest_key_required")


@pytest.mark.parametrize("key", ["phc_unknown", "phx_reference0full0access0key000000000000000"])
def test_unknown_token_is_403_ingest_key_unknown(capture_client, key):
    body = {"api_key": key, "event": "e", "distinct_id": "d"}
    assert_capture_error(capture_client.post("/capture/", json=body), 403, "ingest_key_unknown")


def test_oversize_body_is_413(capture_client, token):
    filler = "x" * (MAX_CAPTURE_BYTES + 10)
    body = json.dumps({"api_key": token, "event": "big", "distinct_id": "d", "properties": {"f": filler}}).encode()
    assert_capture_error(capture_client.post("/capture/", content=body), 413, "payload_too_large")


def test_gzip_bomb_is_413_without_inflating_it_whole(capture_client, token):
    prefix = json.dumps({"api_key": token, "event": "bomb", "distinct_id": "d", "properties": {"f": ""}})[:-3]
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunks = [compressor.compress(prefix.encode())]
    zeros = b"0" * (1024 * 1024)
    for _ in range(64):  # 64 MiB of filler, ~64 KiB compressed
        chunks.append(compressor.compress(zeros))
    chunks.append(compressor.compress(b'"}}') + compressor.flush())
    body = b"".join(chunks)
    assert len(body) < 1024 * 1024
    response = capture_client.post("/batch/", content=body, headers={"Content-Encoding": "gzip"})
    assert_capture_error(response, 413, "payload_too_large")


def test_get_on_capture_is_not_a_5xx(capture_client):
    assert capture_client.get("/batch/").status_code == 405


# --- mutants ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mutated(reference_server) -> Any:
    return reference_server(*CAPTURE_MUTANTS)


def test_mutants_status_wrong_missing_token_and_drops(mutated):
    creds = mutated.credentials
    client, api = mutated.client(None), mutated.client()
    response = client.post("/capture/", json={"api_key": creds["project_api_key"], "event": "e", "distinct_id": "m"})
    assert response.json() == {"status": "error"}
    assert client.post("/capture/", json={"event": "e", "distinct_id": "m"}).status_code == 200
    run = run_id()
    batch = [{"event": f"e{i}", "distinct_id": run} for i in range(4)]
    client.post("/batch/", json={"api_key": creds["project_api_key"], "batch": batch})
    listed = api.get("/api/projects/1/events/", params={"distinct_id": run}).json()["results"]
    assert len(listed) == 2
