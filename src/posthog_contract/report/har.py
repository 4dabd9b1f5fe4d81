"""``--har FILE``: every exchange of the run as an HTTP Archive (HAR 1.2) other tools can read.

The report keeps at most three exchanges per failure; the archive keeps all of them, the suite
client's (preflight included) and the schemathesis session's, in the order they happened. Each is
redacted exactly like the report: the suite client's exchanges arrive redacted already
(`client.make_exchange`); schemathesis' ``requests`` responses pass through the same `Redactor`
calls (headers, URL, body, with the client's body limit). Each entry's ``comment`` names the test
that sent it. Spec: http://www.softwareishard.com/blog/har-12-spec/
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..client import BODY_LIMIT, Exchange
from ..redaction import Redactor

__all__ = ["HarArchive", "from_requests"]


def from_requests(request: Any, response: Any, redactor: Redactor, note: str = "") -> Exchange:
    """One exchange of a ``requests`` session (schemathesis' transport) as a redacted `Exchange`; ``response``
    None: the request was sent and no answer came (HAR's status 0)."""
    body = request.body
    if isinstance(body, str):
        body = body.encode("utf-8", errors="replace")
    answered = response is not None
    content = response.content if answered and response._content_consumed else b""
    return Exchange(
        method=str(request.method),
        url=redactor.url(str(request.url)),
        request_headers=redactor.headers(dict(request.headers)),
        request_body=_clip(redactor.body(body, request.headers.get("content-type"))) if body else None,
        status=int(response.status_code) if answered else None,
        response_headers=redactor.headers(dict(response.headers)) if answered else {},
        response_body=_clip(redactor.body(content, response.headers.get("content-type"))) if content else None,
        elapsed_ms=round(response.elapsed.total_seconds() * 1000, 3) if answered and response.elapsed else 0.0,
        note=redactor.text(note),
    )


def _status_text(status: int | None) -> str:
    if not status:
        return "no answer"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _clip(text: str) -> str:
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + f"… [truncated; {len(text)} characters]"


def _pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": str(name), "value": str(value)} for name, value in mapping.items()]


def _content_type(headers: dict[str, str]) -> str:
    return next((v for k, v in headers.items() if k.lower() == "content-type"), "")


class HarArchive:
    """Collects entries during the run and writes them once at its end."""

    def __init__(self, path: Path, version: str) -> None:
        self.path = path
        self.version = version
        self.entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add(self, exchange: Exchange, test: str | None, finished: datetime | None = None) -> None:
        finished = finished or datetime.now(UTC)
        started = finished - timedelta(milliseconds=exchange.elapsed_ms or 0)
        request: dict[str, Any] = {
            "method": exchange.method,
            "url": exchange.url,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(exchange.request_headers),
            "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(exchange.url).query,
                                                                          keep_blank_values=True)],
            "headersSize": -1,
            "bodySize": len(exchange.request_body.encode()) if exchange.request_body else 0,
        }
        if exchange.request_body:
            request["postData"] = {"mimeType": _content_type(exchange.request_headers), "text": exchange.request_body}
        text = exchange.response_body or ""
        response = {
            "status": exchange.status or 0,  # 0: no answer (HAR's convention for a failed request)
            "statusText": _status_text(exchange.status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _pairs(exchange.response_headers),
            "content": {"size": len(text.encode()), "mimeType": _content_type(exchange.response_headers), "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        }
        entry = {
            "startedDateTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "time": exchange.elapsed_ms or 0,
            "request": request,
            "response": response,
            "cache": {},
            "timings": {"send": 0, "wait": exchange.elapsed_ms or 0, "receive": 0},
            "comment": " ".join(part for part in (test or "(session)", exchange.note) if part),
        }
        with self._lock:
            self.entries.append(entry)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "posthog-contract", "version": self.version},
                "pages": [],
                "entries": sorted(self.entries, key=lambda e: e["startedDateTime"]),
                "comment": "Every exchange of one posthog-contract run, redacted like report.json.",
            }
        }

    def write(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return self.path
