"""A hostile host for the safety self-tests (issue 20): small local servers, not the reference server.

- :class:`StandIn` is a tiny HTTP/1.1 server on a free loopback port whose every answer a test
  chooses (``respond(seen) -> Answer``): a redirect anywhere, a 50 MB body, a body dripped a byte at
  a time. It records every request it receives: a second ``StandIn`` on another port is the
  *foreign listener* that must receive nothing, ever.
- :class:`Forward` makes a ``StandIn`` a proxy in front of a real host (a reference server the test
  started), with *mischief* applied to the upstream's answers: a ``next`` link on the foreign port,
  the key echoed in every encoding, a 307 to wherever. The suite then runs against the proxy, as it
  would against a hostile host.

Everything listens on 127.0.0.1 and stops with the test (daemon threads; ``close()`` in fixtures).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import httpx


@dataclass
class Seen:
    """One request a stand-in received."""

    method: str
    path: str  # with the query
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What a stand-in answers: ``body`` bytes (sent with Content-Length) or an iterable of chunks (sent
    chunked, ``delay`` seconds apart: a drip); ``length`` declares a Content-Length of its own;
    ``head_delay`` sends the status line and headers a byte at a time, that many seconds apart."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    delay: float = 0.0
    length: int | None = None
    head_delay: float = 0.0


def json_answer(status: int, payload: Any, **headers: str) -> Answer:
    return Answer(status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode())


class StandIn:
    """A local HTTP server answering with ``respond``; ``requests`` is every request it received."""

    def __init__(self, respond: Callable[[Seen], Answer] | None = None) -> None:
        self.respond = respond or (lambda seen: json_answer(200, {"results": [], "next": None}))
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body)
                with stand_in._lock:
                    stand_in.requests.append(seen)
                answer = stand_in.respond(seen)
                try:
                    self._write(answer)
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    self.close_connection = True  # the client hung up (as it should on a hostile answer)

            def _write(self, answer: Answer) -> None:
                head = [f"HTTP/1.1 {answer.status} {self.responses.get(answer.status, ('',))[0]}"]
                head += [f"{name}: {value}" for name, value in answer.headers.items()]
                if isinstance(answer.body, bytes | bytearray):
                    declared = answer.length if answer.length is not None else len(answer.body)
                    head.append(f"Content-Length: {declared}")
                elif answer.length is not None:
                    head.append(f"Content-Length: {answer.length}")
                else:
                    head.append("Transfer-Encoding: chunked")
                block = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                if answer.head_delay:
                    for byte in block:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(answer.head_delay)
                else:
                    self.wfile.write(block)
                if isinstance(answer.body, bytes | bytearray):
                    if self.command != "HEAD":
                        self.wfile.write(answer.body)
                    return
                for chunk in answer.body:
                    if answer.length is not None:
                        self.wfile.write(chunk)
                    else:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    if answer.delay:
                        time.sleep(answer.delay)
                if answer.length is None:
                    self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- a proxy with mischief ---------------------------------------------------------------------------

Mischief = Callable[[Seen, Answer], Answer | None]
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
)


class Forward:
    """``respond`` for a :class:`StandIn` proxying to ``upstream``. Each of ``instead`` may answer a
    request itself (then nothing reaches the upstream); each mischief, in order, may rewrite the
    upstream's answer (return a new :class:`Answer`) or leave it (return None)."""

    def __init__(
        self, upstream: str, *mischief: Mischief, instead: Iterable[Callable[[Seen], Answer | None]] = ()
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.mischief = list(mischief)
        self.instead = list(instead)
        self._http = httpx.Client(timeout=60)

    def __call__(self, seen: Seen) -> Answer:
        for intercept in self.instead:
            answer = intercept(seen)
            if answer is not None:
                return answer
        # the Host header travels: the upstream builds its links (`next`) on the proxy, as a host behind one does
        headers = {k: v for k, v in seen.headers.items() if k.lower() not in _HOP_BY_HOP or k.lower() == "host"}
        upstream = self._http.request(seen.method, self.upstream + seen.path, headers=headers, content=seen.body)
        answer = Answer(
            upstream.status_code,
            {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP},
            upstream.content,
        )
        for rule in self.mischief:
            answer = rule(seen, answer) or answer
        return answer


DASHBOARD_LIST = re.compile(r"^/api/(?:projects|environments)/[^/]+/dashboards/?(?:\?|$)")


def foreign_next(listener: StandIn, paths: re.Pattern[str] = DASHBOARD_LIST) -> Mischief:
    """Every list page on ``paths`` gets a ``next`` on the listener's port (same path and query)."""

    def rule(seen: Seen, answer: Answer) -> Answer | None:
        if seen.method != "GET" or not paths.match(seen.path) or answer.status != 200:
            return None
        try:
            body = json.loads(answer.body)  # type: ignore[arg-type]
        except ValueError:
            return None
        if not isinstance(body, dict) or "next" not in body:
            return None
        body["next"] = listener.url + seen.path
        return Answer(answer.status, {**answer.headers, "Content-Type": "application/json"}, json.dumps(body).encode())

    return rule


def answer_instead(paths: re.Pattern[str], answer: Callable[[Seen], Answer]) -> Callable[[Seen], Answer | None]:
    """For ``Forward(instead=...)``: requests on ``paths`` get ``answer(seen)``, the upstream never sees them."""
    return lambda seen: answer(seen) if paths.match(seen.path) else None


# --- the key, echoed in every encoding a careless or hostile host may use -----------------------------


def encodings(key: str) -> dict[str, str]:
    """The key as a hostile echo may spell it; each value is *JSON text* ready to splice into a body
    (the JSON-escaped forms stay escaped on the wire, the rest are plain strings)."""
    raw = key.encode()
    return {
        "json-escaped": '"' + "".join(f"\\u{b:04x}" for b in raw) + '"',
        "json-escaped-mixed": '"' + "".join(f"\\u{b:04X}" if i % 3 == 0 else chr(b) for i, b in enumerate(raw)) + '"',
        "json-double-escaped": '"' + "".join(f"\\\\u{b:04x}" for b in raw) + '"',
        "percent": json.dumps("".join(f"%{b:02X}" for b in raw)),
        "percent-mixed": json.dumps(quote(key[:5], safe="") + "".join(f"%{b:02x}" for b in raw[5:])),
        "percent-twice": json.dumps("".join(f"%25{b:02X}" for b in raw)),
        "base64": json.dumps(base64.b64encode(raw).decode()),
        "base64-bearer": json.dumps(base64.b64encode(b"Bearer " + raw).decode()),
        "base64url-basic": json.dumps(base64.urlsafe_b64encode(b"user:" + raw).decode()),
        "base64-json": json.dumps(base64.b64encode(json.dumps({"authorization": key}).encode()).decode()),
        "hex": json.dumps(raw.hex()),
        "html": json.dumps("".join(f"&#{b};" for b in raw)),
    }


def spelled(key: str) -> dict[str, str]:
    """The same encodings as they read once a JSON parser has seen them (what a report may show)."""
    return {name: json.loads(text) for name, text in encodings(key).items()}


def echo_key(key: str, *, name: str = "echo", pad_to: int = 0) -> Mischief:
    """Every JSON object answer gets a member ``name`` holding the key in every encoding (spliced as raw
    JSON text, so the escapes travel as escapes), and a header ``X-<name>`` with it percent-encoded;
    ``pad_to`` pads error bodies past that many bytes (the redactor's big-body path)."""
    member = f'"{name}": {{' + ", ".join(f'"{form}": {text}' for form, text in encodings(key).items()) + "}"
    header = "".join(f"%{b:02X}" for b in key.encode())

    def rule(seen: Seen, answer: Answer) -> Answer | None:
        body = answer.body if isinstance(answer.body, bytes | bytearray) else None
        headers = {**answer.headers, f"X-{name}": header}
        if not body or not body.lstrip().startswith(b"{"):
            return Answer(answer.status, headers, answer.body)
        text = body.decode("utf-8", errors="replace").lstrip()
        rest = text[1:].lstrip()
        spliced = "{" + member + ("" if rest.startswith("}") else ", ") + rest
        if pad_to and answer.status >= 400 and len(spliced) < pad_to:
            spliced = spliced.rstrip()[:-1] + ', "padding": "' + "x" * (pad_to - len(spliced)) + '"}'
        return Answer(answer.status, headers, spliced.encode())

    return rule


def drip(size: int, every: float, *, status: int = 200) -> Answer:
    """``size`` bytes of a JSON-ish body, one byte every ``every`` seconds (chunked)."""

    def chunks() -> Iterator[bytes]:
        for _ in range(size):
            yield b" "

    return Answer(status, {"Content-Type": "application/json"}, chunks(), delay=every)


def huge(size: int, *, declare: bool) -> Answer:
    """A JSON answer of ``size`` bytes, streamed in 1 MB chunks; ``declare``: with its Content-Length."""

    def chunks() -> Iterator[bytes]:
        yield b'{"results": ["'
        left = size - 17  # the 14 bytes before and the 3 after
        while left > 0:
            part = min(left, 1_000_000)
            yield b"x" * part
            left -= part
        yield b'"]}'

    return Answer(200, {"Content-Type": "application/json"}, chunks(), length=size if declare else None)
