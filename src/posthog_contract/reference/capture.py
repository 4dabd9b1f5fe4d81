"""Event capture (contract §9): ``POST /batch/``, ``/capture/``, ``/e/``, ``/i/v0/e/``.

Bodies are JSON whatever the ``Content-Type`` (posthog-python posts ``application/json`` to
``/batch/``, optionally gzipped with ``Content-Encoding: gzip``); ``?compression=gzip``/``gzip-js``
and the gzip magic bytes also select gzip, and a form body ``data=<base64 or JSON>`` (older
posthog-js) is read too. A single event, ``{"batch": [...]}`` or a bare array. Authentication is the
project API key in the body. Errors are capture's own ``{"status", "code", "error"}``, never the
REST envelope, and never a 5xx for anything a client can send.

A batch is stored in one transaction: persons are resolved and created in bulk, events inserted
with ``executemany`` (a duplicate ``uuid`` is ignored), person ``$set``/``$set_once`` applied in
event order.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import time
import uuid
import zlib
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from . import mutants
from .errors import json_response
from .event_dates import parse_iso
from .events import chain_from_elements
from .routing import Route
from .storage import Database
from .timeutil import iso_z, now, to_micros

DROPS_EVENTS = mutants.declare("capture_drops_events", "capture stores every event of a batch (§9)")
ACCEPTS_MISSING_TOKEN = mutants.declare(
    "capture_accepts_missing_token", "capture without a project API key is 401 ingest_key_required (§9)"
)
UNKNOWN_TOKEN_200 = mutants.declare(
    "capture_unknown_token_200", "capture with a token of no project is 403 ingest_key_unknown (§9)"
)
STATUS_WRONG = mutants.declare("capture_status_wrong", 'capture success answers {"status": "Ok"} (§9)')

TOKEN_KEYS = ("api_key", "token", "$token")
#: PostHog's PERSON_UUIDV5_NAMESPACE: person uuids derive from (project, distinct id)
PERSON_NAMESPACE = uuid.UUID("932979b4-65c3-4424-8467-0b66ec27bc22")
_CHUNK = 500
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode  # one encoder, not one per event


class CaptureError(Exception):
    def __init__(self, status: int, code: str, error: str) -> None:
        super().__init__(error)
        self.status, self.code, self.error = status, code, error

    def response(self) -> Response:
        return json_response({"status": self.status, "code": self.code, "error": self.error}, self.status)


def invalid_payload(error: str) -> CaptureError:
    return CaptureError(400, "invalid_payload", error)


def too_large(limit: int) -> CaptureError:
    return CaptureError(413, "payload_too_large", f"Payload exceeds the limit of {limit} bytes.")


# --- body ------------------------------------------------------------------------------------------


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise invalid_payload("The client disconnected before the body was complete.") from None
    return b"".join(chunks)


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip (several members allowed) without ever holding more than ``limit + 1`` bytes."""
    out = bytearray()
    remaining = data
    try:
        while remaining:
            inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header, detected
            out += inflater.decompress(remaining, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise too_large(limit)
            if not inflater.eof:
                raise invalid_payload("The gzip body is truncated.")
            remaining = inflater.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise invalid_payload(f"The body is not valid gzip: {exc}.") from None
    return bytes(out)


def _wants_gzip(request: Request, body: bytes) -> bool:
    encoding = request.headers.get("content-encoding", "").lower()
    compression = request.query_params.get("compression", "").lower()
    return "gzip" in encoding or compression in ("gzip", "gzip-js") or body[:2] == b"\x1f\x8b"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(text: str | bytes) -> Any:
    """Strict JSON (no NaN/Infinity), and no lone surrogates (SQLite stores UTF-8 only)."""
    data = json.loads(text, parse_constant=_no_constants)
    if _SURROGATE_ESCAPE.search(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")):
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on a lone surrogate
    return data


def _parse(body: bytes) -> Any:
    try:
        return _loads(body)
    except (ValueError, RecursionError):
        pass
    # older posthog-js: form-encoded `data=` holding base64 (or plain) JSON
    try:
        form = parse_qs(body.decode("utf-8"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        form = {}
    if form.get("data"):
        text = form["data"][-1]
        candidates = [text]
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_").decode("utf-8"))
        for candidate in candidates:
            try:
                return _loads(candidate)
            except (ValueError, RecursionError):
                continue
    raise invalid_payload("The body is not valid JSON.")


# --- token and events ------------------------------------------------------------------------------


def _token_of(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for key in TOKEN_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    properties = item.get("properties")
    if isinstance(properties, dict):
        value = properties.get("token")
        if isinstance(value, str) and value:
            return value
    return None


def _events_and_token(data: Any) -> tuple[list[Any], str | None]:
    if isinstance(data, dict) and "batch" in data:
        events = data["batch"]
        if not isinstance(events, list):
            raise invalid_payload('"batch" must be an array of events.')
        top = data
    elif isinstance(data, dict):
        events, top = [data], {}
    elif isinstance(data, list):
        events, top = data, {}
    else:
        raise invalid_payload("The body must be an event, a batch or an array of events.")
    if not events:
        raise invalid_payload("The batch is empty.")
    if not all(isinstance(event, dict) for event in events):
        raise invalid_payload("Every event must be a JSON object.")
    token = _token_of(top) if top else None
    if token is None:
        tokens = {t for t in map(_token_of, events) if t is not None}
        if len(tokens) > 1:
            raise invalid_payload("The events of one request carry different tokens.")
        token = tokens.pop() if tokens else None
    return events, token


def _distinct_id(event: dict[str, Any], properties: dict[str, Any]) -> str:
    value = event.get("distinct_id")
    if value is None:
        value = properties.get("distinct_id")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid_payload("Every event needs a distinct_id (a string or a number).")
    text = str(value)
    if not text.strip():
        raise invalid_payload("distinct_id must not be empty.")
    return text


def _uuid(event: dict[str, Any]) -> str:
    value = event.get("uuid")
    if value is None:
        return str(uuid.uuid4())
    if not isinstance(value, str):
        raise invalid_payload("uuid must be a UUID string.")
    if _CANONICAL_UUID.match(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_payload(f"uuid {value!r} is not a valid UUID.") from None


def _timestamp(event: dict[str, Any], received: int) -> int:
    """The event's time in micros: ``timestamp`` (ISO), else now minus ``offset`` ms, else now."""
    value = event.get("timestamp")
    if isinstance(value, str):
        moment = parse_iso(value)
        if moment is not None:
            return to_micros(moment)
    offset = event.get("offset")
    if isinstance(offset, (int, float)) and not isinstance(offset, bool) and 0 <= offset < 10**11:
        return received - int(offset * 1000)
    return received


def _person_updates(event: dict[str, Any], properties: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    sets: dict[str, Any] = {}
    set_onces: dict[str, Any] = {}
    for source in (properties, event):
        if isinstance(source.get("$set"), dict):
            sets.update(source["$set"])
        if isinstance(source.get("$set_once"), dict):
            set_onces.update(source["$set_once"])
    return sets, set_onces


def _rows(events: list[Any], project_id: int, visible_at: float) -> tuple[list[list[Any]], list[tuple[Any, ...]]]:
    """Validated event rows (person id filled later) and person updates in event order."""
    received = to_micros(now())
    rows: list[list[Any]] = []
    updates: list[tuple[Any, ...]] = []
    for event in events:
        if not isinstance(event, dict):
            raise invalid_payload("Every event must be a JSON object.")
        name = event.get("event")
        if not isinstance(name, str) or not name:
            raise invalid_payload("Every event needs a non-empty 'event' name.")
        properties = event.get("properties")
        if properties is None:
            properties = {}
        elif not isinstance(properties, dict):
            raise invalid_payload("'properties' must be a JSON object.")
        distinct_id = _distinct_id(event, properties)
        chain = ""
        if "$elements_chain" in properties or "$elements" in properties:
            properties = dict(properties)
            raw_chain, elements = properties.pop("$elements_chain", None), properties.pop("$elements", None)
            if isinstance(raw_chain, str):
                chain = raw_chain
            elif isinstance(elements, list):
                chain = chain_from_elements(elements)
        sets, set_onces = _person_updates(event, properties)
        if sets or set_onces or name == "$identify":
            updates.append((distinct_id, sets, set_onces, name == "$identify"))
        rows.append(
            [
                _uuid(event),
                project_id,
                name,
                distinct_id,
                None,
                _ENCODE(properties),
                _timestamp(event, received),
                chain,
                visible_at,
            ]
        )
    return rows, updates


def _resolve_persons(conn: Any, project_id: int, distinct_ids: set[str]) -> dict[str, list[Any]]:
    """distinct id -> [person id, properties text, is_identified]; creates the missing persons."""
    wanted = sorted(distinct_ids)
    known: dict[str, list[Any]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in conn.execute(
            "SELECT d.distinct_id, p.id, p.properties, p.is_identified FROM person_distinct_ids d"
            " JOIN persons p ON p.id = d.person_id"
            f" WHERE d.project_id = ? AND d.distinct_id IN ({','.join('?' * len(chunk))})",
            [project_id, *chunk],
        ):
            known[row[0]] = [row[1], row[2], row[3]]
    missing = [d for d in wanted if d not in known]
    if missing:
        next_id = conn.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'persons'), 0),"
            " COALESCE((SELECT MAX(id) FROM persons), 0)) + 1"
        ).fetchone()[0]
        created = iso_z(now())
        persons, links = [], []
        for offset, distinct_id in enumerate(missing):
            person_id = next_id + offset
            person_uuid = str(uuid.uuid5(PERSON_NAMESPACE, f"{project_id}_{distinct_id}"))
            persons.append((person_id, person_uuid, project_id, "{}", 0, created))
            links.append((project_id, distinct_id, person_id))
            known[distinct_id] = [person_id, "{}", 0]
        conn.executemany(
            "INSERT INTO persons (id, uuid, project_id, properties, is_identified, created_at) VALUES (?,?,?,?,?,?)",
            persons,
        )
        conn.executemany("INSERT INTO person_distinct_ids (project_id, distinct_id, person_id) VALUES (?,?,?)", links)
    return known


def store(db: Database, project_id: int, rows: list[list[Any]], updates: list[tuple[Any, ...]]) -> None:
    """One transaction: persons, events, person property updates."""
    with db.write() as conn:
        persons = _resolve_persons(conn, project_id, {row[3] for row in rows})
        for row in rows:
            row[4] = persons[row[3]][0]
        conn.executemany(
            "INSERT OR IGNORE INTO events (uuid, project_id, event, distinct_id, person_id, properties, ts,"
            " elements_chain, visible_at) VALUES (?,?,?,?,?,?,?,?,?)",
            rows,
        )
        changed: dict[int, tuple[dict[str, Any], int]] = {}
        for distinct_id, sets, set_onces, identify in updates:
            person_id, properties_text, identified = persons[distinct_id]
            properties, identified = changed.get(person_id, (None, identified))
            if properties is None:
                properties = json.loads(properties_text)
            for key, value in set_onces.items():
                properties.setdefault(key, value)
            properties.update(sets)
            changed[person_id] = (properties, 1 if identify else identified)
        if changed:
            conn.executemany(
                "UPDATE persons SET properties = ?, is_identified = ? WHERE id = ?",
                [(_ENCODE(props), identified, person_id) for person_id, (props, identified) in changed.items()],
            )


# --- the endpoint ------------------------------------------------------------------------------------


async def _capture(request: Request) -> Response:
    options = request.app.state.options
    db: Database = request.app.state.db
    limit = options.max_capture_bytes
    body = await _read_capped(request, limit)
    if _wants_gzip(request, body):
        body = _gunzip(body, limit)
    if not body.strip():
        raise invalid_payload("The body is empty.")
    events, token = _events_and_token(_parse(body))
    if token is None:
        if not mutants.active(ACCEPTS_MISSING_TOKEN):
            raise CaptureError(401, "ingest_key_required", "No project API key (api_key, token) in the request.")
        project_id = db.scalar("SELECT MIN(id) FROM projects")
    else:
        project_id = db.scalar("SELECT id FROM projects WHERE api_token = ?", (token,))
    if project_id is None:
        if mutants.active(UNKNOWN_TOKEN_200):
            return json_response({"status": "Ok"})
        raise CaptureError(403, "ingest_key_unknown", "The project API key is not a key of any project.")
    rows, updates = _rows(events, project_id, time.time() + options.ingestion_delay_s)
    if mutants.active(DROPS_EVENTS):
        rows = rows[: (len(rows) + 1) // 2]
    store(db, project_id, rows, updates)
    return json_response({"status": "error" if mutants.active(STATUS_WRONG) else "Ok"})


async def capture(request: Request) -> Response:
    try:
        return await _capture(request)
    except CaptureError as exc:
        return exc.response()


ROUTES = [Route(path, {"POST": capture}) for path in ("/batch", "/capture", "/e", "/i/v0/e")]
