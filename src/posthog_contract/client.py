"""The one HTTP client of the suite: auth, timeouts, 429 handling, evidence, redaction.

Why one client: every request the suite makes must be authenticated the same way, survive rate
limits the same way, and leave the same redacted evidence behind for failure messages and the
report. Tests never build an ``httpx.Client`` of their own.

A client belongs to one run: it counts every request on the run's ledger, records outcomes in the
run's log and judges under the run's release baseline (`posthog_contract.session.ContractSession`
gives it all three); every response it returns names it (`client_of`), so the assertion helpers
judge and redact with the run that sent the request, never with process-wide state.

It is httpx's adapter of :mod:`posthog_contract.policy`: the origin rule before anything is sent,
the one redirect PostHog serves (§1.9), the deadline and the size cap while the answer is read
(streamed, never held whole past the cap; every socket operation waits at most what is left of
the deadline, through :class:`_BoundedBackend`), 429 waits, the read-only guard and the
deprecation records.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Final

import httpcore
import httpx

from .outcomes import OutcomeLog
from .policy import (
    EVIDENCE_BYTES,
    SAFE_METHODS,
    DeadlinePassed,
    ExchangeBounds,
    ExchangeMeter,
    HostViolation,
    Origins,
    RateLimitExhausted,
    ReadOnlyViolation,
    RequestLedger,
    RetryBudget,
    exhausted_message,
    io_timeout,
    redirect_decision,
    redirect_note,
    refuse_unsafe,
    retry_after_seconds,
    spent_sentence,
    wait_note,
)
from .redaction import Redactor

__all__ = [
    "DEFAULT",
    "BODY_LIMIT",
    "ContractClient",
    "Exchange",
    "ExchangeBounds",
    "HostViolation",
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


class _Shared:
    """State shared by a client and its :meth:`ContractClient.with_key` siblings."""

    def __init__(
        self,
        http: httpx.Client,
        redactor: Redactor,
        on_exchange: Callable[[Exchange], None] | None,
        history: int,
        read_only: bool = False,
        origins: Origins | None = None,
        bounds: ExchangeBounds | None = None,
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
        self.origins = origins or Origins()
        self.bounds = bounds or ExchangeBounds()
        self.exchanges: collections.deque[Exchange] = collections.deque(maxlen=history)
        self.warnings: list[str] = []
        self.retries_on_429 = 0
        self.slept_on_429 = 0.0


class ContractClient:
    """Authenticated, rate-limit-aware, evidence-recording HTTP client for one host.

    ``api_key`` is sent as ``Authorization: Bearer <key>``. Per request, ``api_key=None`` sends no
    Authorization header and a string sends that key instead; an ``Authorization`` given in
    ``headers`` wins over both (for "wrong scheme" checks).

    Requests go to ``base_url``'s origin and the ``origins`` given (the capture host) only: any
    other absolute URL is a :class:`HostViolation`, nothing sent. Redirects are evidence, not a
    detour (contract §1.1), except PostHog's 307/308 from an ``/api/environments/`` path to its
    ``/api/projects/`` successor (§1.9), followed once (``response.history`` holds the redirect).
    Each exchange is held to ``bounds`` (deadline, size cap): a breach is a :class:`HostViolation`.

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
        origins: Iterable[str | None] = (),
        bounds: ExchangeBounds | None = None,
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
            _bound_socket_operations(http)
            allowed = Origins.of(self.base_url, *origins)
            _shared = _Shared(
                http, redactor, on_exchange, history, read_only, allowed, bounds, ledger, log, baseline
            )
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
    def origins(self) -> Origins:
        """Where this client (and every sibling) may send: the host and the capture host."""
        return self._shared.origins

    @property
    def bounds(self) -> ExchangeBounds:
        return self._shared.bounds

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
        ledger.refuse_if_rate_limited()  # the key's rate limit is spent: the run is stopping
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
        budget = RetryBudget(self.max_retry_wait, self.max_attempts)

        waited = 0.0
        n429 = 0
        attempt = 0
        redirected: httpx.Response | None = None
        while True:
            attempt += 1
            req = self._shared.http.build_request(method.upper(), url, timeout=effective_timeout, **build)
            shown_url = self.redactor.url(str(req.url))
            self._shared.origins.refuse_foreign(req.method, req.url, shown_url)  # nothing is sent
            meter = self._shared.bounds.meter(req.method, shown_url)
            start = time.perf_counter()
            try:
                response = _send_bounded(self._shared.http, req, meter)
            except HostViolation as violation:
                elapsed = (time.perf_counter() - start) * 1000
                answered: httpx.Response | None = getattr(violation, "response", None)
                ledger.record(req.method, req.url.path, answered.status_code if answered is not None else None)
                violation.exchange = self._record(req, answered, elapsed, note=str(violation))
                violation.args = (f"{violation}\n{violation.exchange.as_text(max_body=2000)}",)  # the evidence
                raise
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
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("location")
                decision = redirect_decision(str(req.url), status, location)
                note = redirect_note(decision, status, self.redactor.url(location or "(no Location)"))
                if decision.target is not None and redirected is None:
                    ledger.deprecations.observe(
                        req.method, str(req.url), response.headers, redirect_status=status, successor=location
                    )
                    self._record(req, response, elapsed, note=note)
                    redirected = response
                    url = decision.target  # the query travels in the Location: not added twice
                    build = {**build, "params": None}
                    continue
                if redirected is not None:
                    note = f"{status} after a followed redirect: not followed again (one hop only, §1.9)"
                self._record(req, response, elapsed, note=note)
                ledger.deprecations.observe(req.method, str(req.url), response.headers)
                return self._named(_with_history(response, redirected))
            ledger.deprecations.observe(req.method, str(req.url), response.headers)
            if status != 429:
                self._record(req, response, elapsed)
                return self._named(_with_history(response, redirected))

            n429 += 1
            header = response.headers.get("Retry-After")
            pause = budget.pause(header, attempt=attempt, throttled=n429, waited=waited)
            if pause is None:
                exchange = self._record(req, response, elapsed, note="429: retry budget exhausted")
                ledger.spend_rate_limit(spent_sentence(budget, header))
                raise RateLimitExhausted(
                    exhausted_message(req.method, shown_url, waited, attempt, budget, header),
                    waited=waited,
                    attempts=attempt,
                    exchange=exchange,
                    retry_after=retry_after_seconds(header),
                )
            note = wait_note(req.method, shown_url, header, pause, attempt)
            self._record(req, response, elapsed, note=note)
            self._shared.warnings.append(note)
            self._shared.retries_on_429 += 1
            slept = time.monotonic()
            try:
                self.sleep(pause)
            finally:  # an interrupted wait counts what was waited, not what was meant
                actual = pause if self.sleep is not time.sleep else min(pause, time.monotonic() - slept)
                self._shared.slept_on_429 += actual
                ledger.record_wait(actual)
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

    def _named(self, response: httpx.Response) -> httpx.Response:
        """The response, naming this client (`client_of`): the run that judges it."""
        response.extensions[CLIENT_EXTENSION] = self
        return response

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


# -- the bounds, in httpx ---------------------------------------------------------------------------


def _send_bounded(http: httpx.Client, request: httpx.Request, meter: ExchangeMeter) -> httpx.Response:
    """Send and read one exchange within its deadline and size cap (policy.ExchangeBounds).

    The answer is streamed: a Content-Length above the cap is refused unread, a body is counted as
    it arrives (decoded, so a compressed bomb counts at its real size), and every socket operation
    waits at most what is left of the deadline. A breach raises :class:`HostViolation` carrying
    the answer so far (``.response``: status, headers, the first bytes of the body) as evidence.
    """
    with meter.active():
        try:
            response = http.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException:
            if meter.expired():
                raise meter.too_slow() from None
            raise
        chunks: list[bytes] = []
        try:
            if request.method != "HEAD":
                meter.declared(response.headers.get("content-length"))
            for chunk in response.iter_bytes():
                meter.add(len(chunk))
                chunks.append(chunk)
        except HostViolation as violation:
            _keep(response, chunks)
            violation.response = response  # type: ignore[attr-defined]
            raise
        except httpx.TimeoutException:
            if not meter.expired():
                raise
            violation = meter.too_slow()
            _keep(response, chunks)
            violation.response = response  # type: ignore[attr-defined]
            raise violation from None
        finally:
            response.close()
    response._content = b"".join(chunks)  # what Response.read() would have set
    return response


def _keep(response: httpx.Response, chunks: list[bytes]) -> None:
    """The first bytes of a refused answer, as its evidence."""
    response._content = b"".join(chunks)[:EVIDENCE_BYTES]


def _with_history(response: httpx.Response, redirected: httpx.Response | None) -> httpx.Response:
    if redirected is not None:
        response.history = [redirected]
    return response


class _BoundedStream(httpcore.NetworkStream):
    """A network stream whose every read, write and TLS handshake waits at most what is left of the
    deadline of the exchange using it (:func:`policy.io_timeout`)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            bounded = io_timeout(timeout)
        except DeadlinePassed as exc:
            raise httpcore.ReadTimeout(str(exc)) from None
        return self._inner.read(max_bytes, bounded)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            bounded = io_timeout(timeout)
        except DeadlinePassed as exc:
            raise httpcore.WriteTimeout(str(exc)) from None
        self._inner.write(buffer, bounded)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        try:
            bounded = io_timeout(timeout)
        except DeadlinePassed as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """httpcore's network backend with :class:`_BoundedStream` connections (connects bounded too)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            bounded = io_timeout(timeout)
        except DeadlinePassed as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _BoundedStream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        try:
            bounded = io_timeout(timeout)
        except DeadlinePassed as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        return _BoundedStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _bound_socket_operations(http: httpx.Client) -> None:
    """Give every connection pool of ``http`` (the direct one and the environment's proxies) the bounded
    backend. httpx exposes no switch for it, so the pools' backend is replaced in place; should a
    later httpx rename it, the deadline is still checked between reads (one read may then overrun it
    by the per-read timeout) and the self-test of the byte drip says so."""
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _BoundedBackend):
            pool._network_backend = _BoundedBackend(backend)  # type: ignore[union-attr]


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
