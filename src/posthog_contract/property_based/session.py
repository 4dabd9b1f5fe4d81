"""The schemathesis transport: every request schemathesis sends goes through one policy-bound session.

Schemathesis under pytest sends a 429 straight to the checks (its ``rate-limit = "auto"`` retry is
CLI-engine only), and its auth probes (``ignored_auth``) open a fresh ``requests`` session of their
own. :class:`PolicyTransport` hands every request of the contract's document, probes included, to
the run's session, whose :class:`RetryAfterAdapter` applies :mod:`posthog_contract.policy`: wait
``Retry-After`` within the budget (warnings to the report), and refuse unsafe methods in read-only
mode before anything is sent. Every request is counted on the run's ledger and every note goes to
the run's outcome log (both the ContractSession's), never to process-wide state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from schemathesis.transport.requests import REQUESTS_TRANSPORT, RequestsTransport

from ..config import Settings
from ..outcomes import OutcomeLog
from ..policy import RequestLedger, RetryBudget, refuse_unsafe, wait_note
from ..redaction import Redactor
from .run import RUN_ATTRIBUTE, GeneratedRun, run_of


class RetryAfterAdapter(HTTPAdapter):
    """The ``requests`` adapter of :mod:`posthog_contract.policy`: 429 retries and the read-only guard."""

    def __init__(
        self,
        *,
        max_wait: float,
        max_attempts: int = 6,
        read_only: bool = False,
        sleep: Callable[[float], Any] = time.sleep,
        on_wait: Callable[[str], Any] | None = None,
        ledger: RequestLedger | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ledger = ledger if ledger is not None else RequestLedger()
        self.budget = RetryBudget(max_wait, max_attempts)
        self.read_only = read_only
        self.sleep = sleep
        self.on_wait = on_wait
        self.retries = 0  # over the session, for the report
        self.slept = 0.0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        shown = urlsplit(request.url or "").path
        refuse_unsafe(self.read_only, str(request.method), shown)
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            response = super().send(request, **kwargs)
            self.ledger.record(str(request.method), shown, response.status_code)
            if response.status_code != 429:
                return response
            header = response.headers.get("Retry-After")
            pause = self.budget.pause(header, attempt=attempt, throttled=attempt, waited=waited)
            if pause is None:
                return response  # budget spent: the 429 reaches the checks as the host's answer
            response.close()
            waited += pause
            self.slept += pause
            self.retries += 1
            self.ledger.record_wait(pause)
            if self.on_wait is not None:
                self.on_wait(wait_note(str(request.method), shown, header, pause, attempt))
            self.sleep(pause)


def http_session(
    settings: Settings,
    *,
    redactor: Redactor | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    ledger: RequestLedger | None = None,
    log: OutcomeLog | None = None,
) -> requests.Session:
    """A ``requests.Session`` bound to the policy (429 + Retry-After, read-only), counting on the run's
    ``ledger``; warnings go to the run's ``log`` (the report)."""
    scrub = redactor.text if redactor is not None else (lambda text: text)
    outcome_log = log if log is not None else OutcomeLog()
    session = requests.Session()
    adapter = RetryAfterAdapter(
        max_wait=settings.max_retry_wait,
        read_only=settings.read_only,
        sleep=sleep,
        on_wait=lambda note: outcome_log.warn(scrub(note)),
        ledger=ledger,
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
