"""The one HTTP client of the suite: auth, timeouts, 429 handling, evidence, redaction.

Why one client: every request the suite makes must be authenticated the same way, survive rate
limits the same way, and leave the same redacted evidence behind for failure messages and the
report. Tests never build an ``httpx.Client`` of their own.

A client belongs to one run: it counts every request on the run's ledger, records outcomes in the
run's log and judges under the run's release baseline (`posthog_contract.session.ContractSession`
gives it all three); every response it returns names it (`client_of`), so the assertion helpers
judge and redact with the run that sent the request, never with process-wide state.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final

import httpx

from .outcomes import OutcomeLog
from .policy import (
    SAFE_METHODS,
    ReadOnlyViolation,
    RequestLedger,
    RetryBudget,
    refuse_unsafe,
    retry_after_seconds,
    wait_note,
)
from .redaction import Redactor

__all__ = [
    "DEFAULT",
    "BODY_LIMIT",
    "ContractClient",
    "Exchange",
    "RateLimitExhausted",
    "ReadOnlyViolation",
    "SAFE_METHODS",
    "USER_AGENT",
    "client_of",
    "describe",
    "retry_after_seconds",
]

BODY_LIMIT: Final = 20_000  # characters of each body kept in an Exchange
#: the key of ``httpx.Response.extensions`` that names the client a response came from
CLIENT_EXTENSION: Final = "posthog_contract.client"
_HISTORY: Final = 2000  # exchanges kept per client family
_PARSE_LIMIT: Final = 64_000  # bytes; bigger bodies are redacted as text, see _body_text
_REDACTION_WINDOW: Final = BODY_LIMIT + 4096  # redact a bit past the cut so no secret is half-kept
_BORING_REQUEST_HEADERS: Final = frozenset(
    {"accept", "accept-encoding", "connection", "host", "user-agent", "content-length"}
)
_SHOWN_RESPONSE_HEADERS: Final = (
    "content-type",
    "location",
    "retry-after",
    "allow",
    "www-authenticate",
    "x-posthog-version",
)


def _version() -> str:
    try:
        return metadata.version("posthog-contract")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


USER_AGENT: Final = f"posthog-contract/{_version()}"


class _Default:
    """Sentinel type: "use the client's own key" / "no JSON body given"."""

    _instance: _Default | None = None

    def __new__(cls) -> _Default:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, already redacted and truncated: safe to print or store."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    status: int | None  # None: no answer (network error, see note)
    response_headers: dict[str, str]
    response_body: str | None
    elapsed_ms: float
    note: str = ""

    def as_text(self, max_body: int = 4000) -> str:
        """curl-like evidence: request line, interesting headers, body, status, response body."""
        lines = [f"{self.method} {self.url}"]
        lines += [
            f"> {name}: {value}"
            for name, value in self.request_headers.items()
            if name.lower() not in _BORING_REQUEST_HEADERS
        ]
        if self.request_body:
            lines.append("> " + _clip(self.request_body, max_body))
        if self.status is None:
            lines.append(f"< no answer after {self.elapsed_ms:.0f} ms")
        else:
            lines.append(f"< {self.status} {_reason(self.status)} ({self.elapsed_ms:.0f} ms)".rstrip())
            lower = {k.lower(): v for k, v in self.response_headers.items()}
            lines += [f"< {name}: {lower[name]}" for name in _SHOWN_RESPONSE_HEADERS if name in lower]
            body = _clip(self.response_body, max_body) if self.response_body else "(empty body)"
            lines.append("< " + body)
        if self.note:
            lines.append(f"# {self.note}")
        return "\n".join(lines)


class RateLimitExhausted(Exception):
    """The host kept answering 429 beyond the retry budget; the message names the setting to raise."""

    def __init__(self, message: str, *, waited: float, attempts: int, exchange: Exchange | None) -> None:
        super().__init__(message)
        self.waited = waited
        self.attempts = attempts
        self.exchange = exchange


class _Shared:
    """State shared by a client and its :meth:`ContractClient.with_key` siblings."""

    def __init__(
        self,
        http: httpx.Client,
        redactor: Redactor,
        on_exchange: Callable[[Exchange], None] | None,
        history: int,
        read_only: bool = False,
        ledger: RequestLedger | None = None,
        log: OutcomeLog | None = None,
        baseline: str | None = None,
    ) -> None:
        self.http = http
        self.redactor = redactor
        self.ledger = ledger if ledger is not None else RequestLedger()
        self.log = log if log is not None else OutcomeLog()
        self.baseline = baseline
        self.on_exchange = on_exchange
        self.read_only = read_only
        self.exchanges: collections.deque[Exchange] = collections.deque(maxlen=history)
        self.warnings: list[str] = []
        self.retries_on_429 = 0
        self.slept_on_429 = 0.0


class ContractClient:
    """Authenticated, rate-limit-aware, evidence-recording HTTP client for one host.

    ``api_key`` is sent as ``Authorization: Bearer <key>``. Per request, ``api_key=None`` sends no
    Authorization header and a string sends that key instead; an ``Authorization`` given in
    ``headers`` wins over both (for "wrong scheme" checks). Redirects are never followed: PostHog
    serves no redirects (contract §1.1), so one is evidence, not a detour.

    ``read_only=True`` (``--read-only``) makes the client, and every :meth:`with_key` sibling, refuse
    any method outside :data:`SAFE_METHODS` with :class:`ReadOnlyViolation` before anything is sent:
    the last line of defence should a writing check escape the ``writes`` marker.

    ``ledger``, ``log`` and ``baseline`` are the run's (a client made alone keeps its own ledger and log).
    """

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float = 30,
        max_retry_wait: float = 120,
        redactor: Redactor,
        max_attempts: int = 6,
        sleep: Callable[[float], Any] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        history: int = _HISTORY,
        read_only: bool = False,
        ledger: RequestLedger | None = None,
        log: OutcomeLog | None = None,
        baseline: str | None = None,
        _shared: _Shared | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self.api_key = api_key
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.max_attempts = max(1, max_attempts)
        self.sleep = sleep
        if _shared is None:
            http = httpx.Client(
                base_url=self.base_url or "",
                timeout=timeout,
                transport=transport,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
            _shared = _Shared(http, redactor, on_exchange, history, read_only, ledger, log, baseline)
        self._shared = _shared
        redactor.add(api_key)

    # -- shared state ----------------------------------------------------------------------------

    @property
    def redactor(self) -> Redactor:
        return self._shared.redactor

    @property
    def ledger(self) -> RequestLedger:
        """The run's request ledger: every request counted, the budget kept."""
        return self._shared.ledger

    @property
    def log(self) -> OutcomeLog:
        """The run's outcome log (warnings, unavailable checks)."""
        return self._shared.log

    @property
    def baseline(self) -> str | None:
        """The release the host is judged as (contract §11); None: the current release."""
        return self._shared.baseline

    @property
    def exchanges(self) -> list[Exchange]:
        """A snapshot of the recorded exchanges, oldest first (the last ``history`` only)."""
        return list(self._shared.exchanges)

    @property
    def last(self) -> Exchange | None:
        return self._shared.exchanges[-1] if self._shared.exchanges else None

    @property
    def warnings(self) -> list[str]:
        """Notes for the report (429 waits); the list is shared and may be appended to."""
        return self._shared.warnings

    @property
    def read_only(self) -> bool:
        """True: only :data:`SAFE_METHODS` are sent (shared with every :meth:`with_key` sibling)."""
        return self._shared.read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self._shared.read_only = bool(value)

    @property
    def retries_on_429(self) -> int:
        return self._shared.retries_on_429

    @property
    def slept_on_429(self) -> float:
        return self._shared.slept_on_429

    @property
    def on_exchange(self) -> Callable[[Exchange], None] | None:
        return self._shared.on_exchange

    @on_exchange.setter
    def on_exchange(self, hook: Callable[[Exchange], None] | None) -> None:
        self._shared.on_exchange = hook

    def with_key(self, api_key: str | None) -> ContractClient:
        """A sibling client sending another key; shares the pool, the recorder and the redactor."""
        return ContractClient(
            self.base_url,
            api_key,
            timeout=self.timeout,
            max_retry_wait=self.max_retry_wait,
            redactor=self.redactor,
            max_attempts=self.max_attempts,
            sleep=self.sleep,
            _shared=self._shared,
        )

    def close(self) -> None:
        """Close the connection pool (shared: siblings made by with_key are closed too)."""
        self._shared.http.close()

    def __enter__(self) -> ContractClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = DEFAULT,
        data: Any = None,
        content: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        api_key: str | None | _Default = DEFAULT,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request (retrying 429s within budget) and record every attempt.

        ``url`` is absolute or relative to the base URL. Network errors propagate as httpx raised
        them (message redacted if it ever carried a secret); 429s beyond the budget raise
        :class:`RateLimitExhausted`; in read-only mode a method outside :data:`SAFE_METHODS` raises
        :class:`ReadOnlyViolation` and nothing is sent.
        """
        refuse_unsafe(self._shared.read_only, method, self.redactor.url(url))
        ledger = self._shared.ledger
        if not ledger.allows():
            self._shared.log.unavailable(ledger.spent_reason())  # the budget is spent: this check is not judged
        key = self.api_key if isinstance(api_key, _Default) else api_key
        if key:
            self.redactor.add(key)
        send_headers: dict[str, str] = dict(headers or {})
        if key and not any(name.lower() == "authorization" for name in send_headers):
            send_headers["Authorization"] = f"Bearer {key}"
        build: dict[str, Any] = {"params": params, "headers": send_headers}
        if json is None:  # httpx reads json=None as "no body"; the caller asked for a JSON null
            build["content"] = b"null"
            if not any(name.lower() == "content-type" for name in send_headers):
                send_headers["Content-Type"] = "application/json"
        elif not isinstance(json, _Default):
            build["json"] = json
        if data is not None:
            build["data"] = data
        if content is not None:
            build["content"] = content
        effective_timeout = self.timeout if timeout is None else timeout

        waited = 0.0
        n429 = 0
        attempt = 0
        while True:
            attempt += 1
            req = self._shared.http.build_request(method.upper(), url, timeout=effective_timeout, **build)
            start = time.perf_counter()
            try:
                response = self._shared.http.send(req, follow_redirects=False)
            except httpx.HTTPError as exc:
                elapsed = (time.perf_counter() - start) * 1000
                ledger.record(req.method, req.url.path, None)
                redacted = self.redactor.text(str(exc))
                self._record(req, None, elapsed, note=f"{type(exc).__name__}: {redacted}".rstrip(": "))
                if redacted != str(exc) and isinstance(exc, httpx.TransportError):
                    raise type(exc)(redacted, request=req) from None  # the original text held a secret
                raise
            elapsed = (time.perf_counter() - start) * 1000
            ledger.record(req.method, req.url.path, response.status_code)
            response.extensions[CLIENT_EXTENSION] = self
            if response.status_code != 429:
                self._record(req, response, elapsed)
                return response

            n429 += 1
            header = response.headers.get("Retry-After")
            pause = RetryBudget(self.max_retry_wait, self.max_attempts).pause(
                header, attempt=attempt, throttled=n429, waited=waited
            )
            shown_url = self.redactor.url(str(req.url))
            if pause is None:
                exchange = self._record(req, response, elapsed, note="429: retry budget exhausted")
                raise RateLimitExhausted(
                    f"host kept answering 429 for {waited:.0f} s over {attempt} attempts "
                    f"(limit POSTHOG_MAX_RETRY_WAIT={self.max_retry_wait:g} s, {self.max_attempts} attempts) "
                    f"on {req.method} {shown_url}",
                    waited=waited,
                    attempts=attempt,
                    exchange=exchange,
                )
            note = wait_note(req.method, shown_url, header, pause, attempt)
            self._record(req, response, elapsed, note=note)
            self._shared.warnings.append(note)
            self._shared.retries_on_429 += 1
            self._shared.slept_on_429 += pause
            ledger.record_wait(pause)
            self.sleep(pause)
            waited += pause

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def describe(self, response: httpx.Response) -> str:
        """:func:`describe` with this client's redactor."""
        return describe(response, self.redactor)

    # -- evidence --------------------------------------------------------------------------------

    def _record(
        self, request: httpx.Request, response: httpx.Response | None, elapsed_ms: float, note: str = ""
    ) -> Exchange:
        exchange = make_exchange(request, response, self.redactor, elapsed_ms=elapsed_ms, note=note)
        self._shared.exchanges.append(exchange)
        if self._shared.on_exchange is not None:
            self._shared.on_exchange(exchange)
        return exchange


def client_of(response: httpx.Response) -> ContractClient | None:
    """The client a response came from (None: not one of the suite's clients)."""
    client = response.extensions.get(CLIENT_EXTENSION)
    return client if isinstance(client, ContractClient) else None


def make_exchange(
    request: httpx.Request,
    response: httpx.Response | None,
    redactor: Redactor,
    *,
    elapsed_ms: float = 0.0,
    note: str = "",
) -> Exchange:
    """Redact and truncate one request/response pair into an :class:`Exchange`."""
    request_body = _body_text(_request_content(request), request.headers.get("content-type"), redactor)
    if response is None:
        status, response_headers, response_body = None, {}, None
    else:
        status = response.status_code
        response_headers = redactor.headers(response.headers)
        response_body = _body_text(response.content, response.headers.get("content-type"), redactor)
    return Exchange(
        method=request.method,
        url=redactor.url(str(request.url)),
        request_headers=redactor.headers(request.headers),
        request_body=request_body or None,
        status=status,
        response_headers=response_headers,
        response_body=response_body,
        elapsed_ms=round(elapsed_ms, 3),
        note=redactor.text(note),
    )


def describe(response: httpx.Response, redactor: Redactor, *, max_body: int = 2000) -> str:
    """One paragraph of redacted evidence about a response, for assertion messages."""
    request = response.request
    sent = _body_text(_request_content(request), request.headers.get("content-type"), redactor)
    auth = request.headers.get("authorization")
    auth_text = redactor.headers({"Authorization": auth})["Authorization"] if auth else "none"
    body = _body_text(response.content, response.headers.get("content-type"), redactor)
    parts = [
        f"{request.method} {redactor.url(str(request.url))}",
        f"(auth: {auth_text}",
    ]
    parts[-1] += f"; sent: {_clip(sent, 500)})" if sent else ")"
    parts.append(f"answered {response.status_code} {_reason(response.status_code)}".rstrip())
    ctype = response.headers.get("content-type")
    parts.append(f"[{ctype}]" if ctype else "[no content-type]")
    parts.append(f"with body: {_clip(body, max_body)}" if body else "with an empty body")
    return " ".join(parts)


# -- helpers --------------------------------------------------------------------------------------


def _request_content(request: httpx.Request) -> bytes:
    try:
        return request.content
    except httpx.RequestNotRead:  # streaming body: not evidence we can show
        return b""


def _body_text(content: bytes, content_type: str | None, redactor: Redactor) -> str:
    if not content:
        return ""
    size = len(content)
    ctype = (content_type or "").lower()
    if size > _PARSE_LIMIT and content[:2] != b"\x1f\x8b" and "form" not in ctype:
        # Re-serialising a big body costs more than it shows (only BODY_LIMIT survives): redact a
        # window past the cut as text (secret values and "key": "value" pairs), then cut.
        text = redactor.text(content[:_REDACTION_WINDOW].decode("utf-8", errors="replace"))
    else:
        text = redactor.body(content, content_type)
    if len(text) > BODY_LIMIT:
        text = text[:BODY_LIMIT] + f"… [truncated; {size} bytes received]"
    return text


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


def _reason(status: int) -> str:
    try:
        return httpx.codes(status).phrase
    except ValueError:
        return ""
