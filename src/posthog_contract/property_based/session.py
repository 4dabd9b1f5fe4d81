"""The schemathesis transport: every request schemathesis sends goes through one policy-bound session.

Schemathesis under pytest sends a 429 straight to the checks (its ``rate-limit = "auto"`` retry is
CLI-engine only), and its auth probes (``ignored_auth``) open a fresh ``requests`` session of their
own. :class:`PolicyTransport` hands every request of the contract's document, probes included, to
the run's session, whose :class:`RetryAfterAdapter` is ``requests``' adapter of
:mod:`posthog_contract.policy`, the same rules as the suite's httpx client: the origin rule before
anything is sent, the one redirect PostHog serves (§1.9) followed once, the deadline and the size
cap while the answer is read (every socket read and write waits at most what is left of the
deadline, through :class:`_BoundedSocket`), 429 waits within the budget (past it the rate limit is
spent: a tool error, and the run stops), the read-only guard and the deprecation records. Every
request is counted on the run's ledger and every note goes to the run's outcome log (both the
ContractSession's), never to process-wide state.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..config import Settings
from ..outcomes import OutcomeLog
from ..policy import (
    EVIDENCE_BYTES,
    ExchangeBounds,
    ExchangeMeter,
    HostViolation,
    Origins,
    RateLimitExhausted,
    RequestLedger,
    RetryBudget,
    exhausted_message,
    io_timeout,
    redirect_decision,
    refuse_unsafe,
    retry_after_seconds,
    spent_sentence,
    wait_note,
)
from ..redaction import Redactor
from .run import RUN_ATTRIBUTE, GeneratedRun, run_of

_CHUNK = 65_536


class RetryAfterAdapter(HTTPAdapter):
    """The ``requests`` adapter of :mod:`posthog_contract.policy`: origin, redirect, bounds, 429, read-only."""

    def __init__(
        self,
        *,
        max_wait: float,
        max_attempts: int = 6,
        read_only: bool = False,
        sleep: Callable[[float], Any] = time.sleep,
        on_wait: Callable[[str], Any] | None = None,
        origins: Origins | None = None,
        bounds: ExchangeBounds | None = None,
        shown: Callable[[str], str] | None = None,
        ledger: RequestLedger | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ledger = ledger if ledger is not None else RequestLedger()
        self.budget = RetryBudget(max_wait, max_attempts)
        self.read_only = read_only
        self.sleep = sleep
        self.on_wait = on_wait
        self.origins = origins or Origins()
        self.bounds = bounds or ExchangeBounds()
        self.shown = shown or (lambda url: urlsplit(url).path)  # without a redactor: the path only
        self.retries = 0  # over the session, for the report
        self.slept = 0.0
        #: who sees every exchange this adapter makes, each attempt on its own (a 429 retried, a redirect hop, an
        #: answer past the bounds, a request no answer came to): ``observer(request, response or None, note)``
        self.observers: list[Callable[[requests.PreparedRequest, requests.Response | None, str], Any]] = []

    def _observed(self, request: requests.PreparedRequest, response: requests.Response | None, note: str = "") -> None:
        for observer in self.observers:
            with contextlib.suppress(Exception):  # observing must never change what schemathesis sees
                observer(request, response, note)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _BOUNDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        pools = getattr(manager, "pool_classes_by_scheme", None)
        if pools is not None and pools.get("http") is HTTPConnectionPool:
            manager.pool_classes_by_scheme = _BOUNDED_POOLS  # HTTP(S) proxies; SOCKS keeps its own pools
        return manager

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        method = str(request.method)
        refuse_unsafe(self.read_only, method, urlsplit(request.url or "").path)
        self.ledger.refuse_if_rate_limited()  # the key's rate limit is spent: the run is stopping
        attempt = 0
        waited = 0.0
        redirected: requests.Response | None = None
        while True:
            attempt += 1
            url = request.url or ""
            path = urlsplit(url).path
            shown = self.shown(url)
            self.origins.refuse_foreign(method, url, shown)  # nothing is sent
            meter = self.bounds.meter(method, shown)
            try:
                response = self._send_bounded(request, meter, kwargs)
            except HostViolation as violation:
                answered = getattr(violation, "response", None)
                self.ledger.record(method, path, answered.status_code if answered is not None else None)
                self._observed(request, answered, str(violation))
                raise
            except requests.exceptions.RequestException as exc:  # sent, never answered: counted, as httpx's are
                self.ledger.record(method, path, None)
                self._observed(request, None, f"{type(exc).__name__}: {exc}")
                raise
            self.ledger.record(method, path, response.status_code)
            status = response.status_code
            if 300 <= status < 400:
                location = response.headers.get("Location")
                decision = redirect_decision(url, status, location)
                if decision.target is not None and redirected is None:
                    self.ledger.deprecations.observe(
                        method, url, response.headers, redirect_status=status, successor=location
                    )
                    self._observed(request, response, f"{status}: followed once to the successor (§1.9)")
                    redirected = response
                    request = request.copy()
                    request.url = decision.target  # same method, headers and body; the query is in the target
                    continue
            self.ledger.deprecations.observe(method, url, response.headers)
            if status != 429:
                self._observed(request, response)
                if redirected is not None:
                    response.history = [redirected]
                return response
            header = response.headers.get("Retry-After")
            pause = self.budget.pause(header, attempt=attempt, throttled=attempt, waited=waited)
            if pause is None:  # past the budget: the rate limit is spent, a tool error (the host was not judged)
                self._observed(request, response, "429: retry budget exhausted")
                self.ledger.spend_rate_limit(spent_sentence(self.budget, header))
                raise RateLimitExhausted(
                    exhausted_message(method, shown, waited, attempt, self.budget, header),
                    waited=waited,
                    attempts=attempt,
                    retry_after=retry_after_seconds(header),
                )
            waited += pause
            self.slept += pause
            self.retries += 1
            self.ledger.record_wait(pause)
            note = wait_note(method, shown, header, pause, attempt)
            self._observed(request, response, note)
            if self.on_wait is not None:
                self.on_wait(note)
            self.sleep(pause)

    def _send_bounded(
        self, request: requests.PreparedRequest, meter: ExchangeMeter, kwargs: dict[str, Any]
    ) -> requests.Response:
        """One exchange within its deadline and size cap (as the httpx client's ``_send_bounded``).

        The answer is streamed: a Content-Length above the cap is refused unread, the decoded body is
        counted as it arrives, every socket read waits at most what is left of the deadline; a breach
        raises :class:`HostViolation` carrying the answer so far (``.response``) as evidence.
        """
        with meter.active():
            try:
                response = super().send(request, **{**kwargs, "stream": True})
            except requests.exceptions.RequestException:
                if meter.expired():
                    raise meter.too_slow() from None
                raise
            chunks: list[bytes] = []
            try:
                if str(request.method) != "HEAD":
                    meter.declared(response.headers.get("Content-Length"))
                for chunk in response.iter_content(_CHUNK):
                    meter.add(len(chunk))
                    chunks.append(chunk)
            except HostViolation as violation:
                _refused(response, chunks, violation)
                raise
            except requests.exceptions.RequestException:
                if not meter.expired():
                    raise
                violation = meter.too_slow()
                _refused(response, chunks, violation)
                raise violation from None
        response._content = b"".join(chunks)  # what Response.content would have set
        response._content_consumed = True
        return response


def _refused(response: requests.Response, chunks: list[bytes], violation: HostViolation) -> None:
    """Keep the first bytes of a refused answer as evidence and drop its connection."""
    response._content = b"".join(chunks)[:EVIDENCE_BYTES]
    response._content_consumed = True
    violation.response = response  # type: ignore[attr-defined]
    response.raw.close()


class _BoundedSocket:
    """A socket whose every read and write waits at most what is left of the deadline of the exchange
    using it (:func:`policy.io_timeout`); ``makefile`` reads through it, as http.client reads answers."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _bound(self) -> None:
        self._sock.settimeout(io_timeout(self._timeout))  # DeadlinePassed is a socket timeout

    def recv_into(self, *args: Any) -> int:
        self._bound()
        return self._sock.recv_into(*args)

    def recv(self, *args: Any) -> bytes:
        self._bound()
        return self._sock.recv(*args)

    def sendall(self, *args: Any) -> None:
        self._bound()
        self._sock.sendall(*args)

    def send(self, *args: Any) -> int:
        self._bound()
        return self._sock.send(*args)

    def makefile(self, mode: str = "r", buffering: int | None = None, **kwargs: Any) -> Any:
        if mode != "rb":
            return self._sock.makefile(mode, buffering, **kwargs)  # type: ignore[call-overload]
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        self._sock._io_refs += 1  # type: ignore[attr-defined]  # what socket.makefile counts
        return io.BufferedReader(raw, buffering if buffering and buffering > 0 else io.DEFAULT_BUFFER_SIZE)


class _BoundedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _BoundedSocket(self.sock)  # type: ignore[assignment]


class _BoundedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = _BoundedSocket(self.sock)  # type: ignore[assignment]


class _BoundedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _BoundedHTTPConnection


class _BoundedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _BoundedHTTPSConnection


_BOUNDED_POOLS = {"http": _BoundedHTTPPool, "https": _BoundedHTTPSPool}


def http_session(
    settings: Settings,
    *,
    redactor: Redactor | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    ledger: RequestLedger | None = None,
    log: OutcomeLog | None = None,
) -> requests.Session:
    """A ``requests.Session`` bound to the policy (origins, redirects, bounds, 429, read-only), counting on
    the run's ``ledger``; warnings go to the run's ``log`` (the report)."""
    scrub = redactor.text if redactor is not None else (lambda text: text)
    outcome_log = log if log is not None else OutcomeLog()
    session = requests.Session()
    adapter = RetryAfterAdapter(
        max_wait=settings.max_retry_wait,
        read_only=settings.read_only,
        sleep=sleep,
        on_wait=lambda note: outcome_log.warn(scrub(note)),
        ledger=ledger,
        origins=Origins.of(settings.base_url, settings.capture_url),
        bounds=settings.bounds(),
        shown=redactor.url if redactor is not None else None,
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class PolicyTransport(RequestsTransport):
    """Schemathesis' requests transport, with the case's run's session for every request that brings
    none (auth probes, link follow-ups): nothing schemathesis sends bypasses the policy."""

    def __init__(self) -> None:
        super().__init__()
        self._copy_serializers_from(REQUESTS_TRANSPORT)

    def send(self, case: Any, *, session: requests.Session | None = None, **kwargs: Any) -> Any:
        run = run_of(case)
        if session is None and run is not None and run.session is not None:
            session = run.session
        return super().send(case, session=session, **kwargs)


def use_policy_transport(schema: Any, run: GeneratedRun | None = None) -> Any:
    """Make ``schema`` (and every operation, probe and clone of it) send through a :class:`PolicyTransport`
    of its own and carry ``run`` (what the hooks and checks act for, `run.run_of`).

    Schemathesis picks the transport through the schema's read-only ``transport`` property and clones
    a schema by its class, so the schema's class is swapped for a subclass made for this schema alone:
    nothing global changes, and two runs never share one.
    """
    transport = PolicyTransport()
    base = type(schema)
    attributes: dict[str, Any] = {"transport": property(lambda self: transport), RUN_ATTRIBUTE: run}
    schema.__class__ = type(f"Policy{base.__name__}", (base,), attributes)
    return schema
