"""The one owner of a run: :class:`ContractSession`.

Settings, the embedded reference server, the client and its redactor, the request ledger, the
outcome log, the verdict policy and the host's drift belong to one run, and to nothing else: the
plugin makes one session per pytest run and keeps it under a ``StashKey``; every part that needs
the run (the fixtures, the report, ``drift``, ``cleanup``, the schemathesis session) is handed it.
No module keeps any of it, so two sessions in one process never mix (selftests/test_session.py).

A session is *made* with the keys it must scrub from the start, *started* against a host (the
settings are resolved; with no host, the embedded reference server is started and its keys learnt),
*connected* (the client, then preflight: the host is reachable, the key accepted, the project
visible) and *closed* (what the run created undone, the server stopped). Opening a session against
a host is written here once, for the suite and the command-line tools alike.

No pytest import: the plugin translates a :class:`~posthog_contract.config.ConfigError` into its
one-sentence exit (4).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import embedded
from .client import ContractClient, Exchange
from .config import ConfigError, Settings
from .outcomes import OutcomeLog
from .paths import ApiPaths
from .policy import RequestLedger
from .preflight import HostFacts, preflight
from .redaction import Redactor
from .resources import RunResources

__all__ = ["KEY_VARIABLES", "ContractSession"]

#: the environment's keys: scrubbed from every output from the first moment, whatever happens next
KEY_VARIABLES = ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_READONLY_API_KEY", "POSTHOG_PROJECT_API_KEY")


class ContractSession:
    """Everything one run owns, valid from :meth:`start` / :meth:`connect` until :meth:`close`.

    Before :meth:`connect` only the redactor, the ledger, the log and the verdict policy exist; the
    properties of the connected run (``settings``, ``client``, ``facts``, ``paths``, ``resources``)
    raise a RuntimeError naming the step that has not happened, instead of answering None.
    """

    def __init__(self, *, environ: Mapping[str, str] = os.environ, verdicts: Any = None) -> None:
        self.redactor = Redactor(environ.get(name, "").strip() for name in KEY_VARIABLES)
        self.ledger = RequestLedger()
        self.log = OutcomeLog()
        self.verdicts = verdicts  # the verdict policy (posthog_contract.verdicts.Verdicts), the plugin's to give
        self.notes: list[str] = []  # run-wide facts for the terminal summary (429 waits), kept past close
        self.drift: Any = None  # the host's drift (report.drift.DriftResult), once compared (report.drift.of_run)
        self.seed: int | None = None  # the run's seed for generated data (--contract-seed, else chosen at start)
        #: who watches the run's traffic (the report): every exchange of the run's clients, and every
        #: exchange of a ``requests`` session handed to `observe` (schemathesis'), each attempt on its own:
        #: ``observer(request, response or None, note)``
        self.exchange_observers: list[Callable[[Exchange], None]] = []
        self.response_observers: list[Callable[..., None]] = []
        self.server: embedded.EmbeddedServer | None = None
        self.credentials: dict[str, Any] = {}
        self.connected = False  # preflight passed: the run's cost is worth printing
        self.refusal: str | None = None  # the sentence preflight refused the host with (the run's verdict: refused)
        self.closed = False
        self._environ = environ
        self._settings: Settings | None = None
        self._client: ContractClient | None = None
        self._facts: HostFacts | None = None
        self._paths: ApiPaths | None = None
        self._resources: RunResources | None = None

    # -- the run, once opened -------------------------------------------------------------------------

    def _need(self, value: Any, what: str, step: str) -> Any:
        if value is None:
            raise RuntimeError(f"the contract session has no {what} yet: {step} comes first")
        return value

    @property
    def settings(self) -> Settings:
        return self._need(self._settings, "settings", "ContractSession.start")

    @property
    def client(self) -> ContractClient:
        return self._need(self._client, "client", "ContractSession.connect")

    @property
    def facts(self) -> HostFacts:
        return self._need(self._facts, "host facts", "ContractSession.connect (preflight)")

    @property
    def paths(self) -> ApiPaths:
        return self._need(self._paths, "paths", "ContractSession.connect")

    @property
    def resources(self) -> RunResources:
        return self._need(self._resources, "resources", "ContractSession.connect")

    @property
    def embedded(self) -> bool:
        return self.server is not None

    @property
    def started(self) -> bool:
        return self._settings is not None

    # -- opening ----------------------------------------------------------------------------------------

    def start(
        self,
        settings: Settings,
        *,
        reference_args: Sequence[str] = (),
        metered: bool = True,
        events_timeout_given: bool | None = None,
    ) -> Settings:
        """Take the run's settings; with no host, start the embedded reference server and point them at it.

        The ledger starts counting under the run's request budget (``metered=False``, the command-line
        tools: counted, no cap). Against the embedded server the events timeout is short unless one was
        given (``events_timeout_given``; None: POSTHOG_EVENTS_TIMEOUT decides). ConfigError: one sentence.
        """
        self.ledger.reset(request_budget(settings) if metered else None)
        if settings.base_url is None:
            try:
                self.server = embedded.start(list(reference_args))
            except embedded.EmbeddedServerError as exc:
                raise ConfigError(str(exc)) from None
            credentials = self.credentials = self.server.credentials
            # every key of the reference world is a secret like any other (tests may use them all)
            self.redactor.add(*(str(v) for k, v in credentials.items() if k.endswith("_key") and isinstance(v, str)))
            settings = settings.with_embedded(
                base_url=credentials["base_url"],
                personal_api_key=credentials["personal_api_key"],
                project_id=str(credentials["project_id"]),
                project_api_key=credentials["project_api_key"],
                readonly_api_key=credentials["readonly_api_key"],
                collaborator_uuid=credentials["collaborator_uuid"],
                other_project_id=str(credentials["other_project_id"]),
                data_color_theme_id=credentials.get("data_color_theme_id"),
                quick_filter_id=credentials.get("quick_filter_id"),
            )
            if events_timeout_given is None:
                events_timeout_given = "POSTHOG_EVENTS_TIMEOUT" in self._environ
            if not events_timeout_given:
                # the reference lists captured events at once; a short wait keeps failing runs short
                settings = dataclasses.replace(settings, events_timeout=15.0)
        self.redactor.add(*settings.secrets())
        if settings.seed is None:  # chosen now, so every output of the run names it (issue 24), not only a failure
            settings = dataclasses.replace(settings, seed=uuid.uuid4().int & 0xFFFFFFFF)
        self.seed = settings.seed
        self._settings = settings
        return settings

    def new_client(self, api_key: str | None = None, **options: Any) -> ContractClient:
        """A client of this run: its ledger, log, redactor, read-only guard and release baseline."""
        settings = self.settings
        return ContractClient(
            settings.base_url,
            settings.personal_api_key if api_key is None else api_key,
            timeout=settings.timeout,
            max_retry_wait=settings.max_retry_wait,
            redactor=self.redactor,
            read_only=settings.read_only,
            origins=(settings.capture_url,),  # the host and the capture host, nowhere else
            bounds=settings.bounds(),
            ledger=self.ledger,
            log=self.log,
            baseline=settings.baseline,
            **options,
        )

    def connect(self, *, needs_events: bool = False, check_host: bool = True) -> ContractSession:
        """The run's client, then (``check_host``) preflight: HostFacts, or one ConfigError sentence, and
        the registry of what the run creates (cleaned up by :meth:`close`).

        Preflight's requests are counted, never refused by the budget. Without ``check_host`` (the
        command-line tools, which create nothing) the project is the configured one, unchecked.
        """
        settings = self.settings
        self._client = client = self.new_client(on_exchange=self._exchanged)
        if check_host:
            try:
                with self.ledger.unmetered():
                    self._facts = preflight(client, settings, needs_events=needs_events)
            except ConfigError as exc:
                self.refusal = self.redactor.text(str(exc))
                self.close()
                raise
            project_id = str(self._facts.project_id)
        else:
            self._paths = ApiPaths(str(settings.project_id or "@current"))
            return self
        self._paths = ApiPaths(project_id)
        self._resources = RunResources(client, self._paths, settings.run_id)
        self.ledger.reserve = self._resources.cleanup_cost
        self.connected = True
        return self

    def _exchanged(self, exchange: Exchange) -> None:
        for observer in self.exchange_observers:
            observer(exchange)

    def observe(self, requests_session: Any) -> None:
        """Let the run's observers see every exchange of a ``requests`` session (the schemathesis part's): its
        policy adapter reports each attempt (a 429 retried, a redirect hop, an answer refused, no answer),
        so the report and the HAR hold one entry per request the ledger counted."""
        for adapter in dict.fromkeys(requests_session.adapters.values()):
            observers = getattr(adapter, "observers", None)
            if observers is not None:
                observers.extend(self.response_observers)

    # -- closing ----------------------------------------------------------------------------------------

    def close(self, *, deferring: Callable[[str], Any] | None = None) -> None:
        """Undo what the run created (tracked resources, then any run-tagged dashboard left), stop the server.

        Safe to call twice. ``deferring(run_id)`` is a context manager that holds signals off during
        cleanup (the plugin's; a command-line tool needs none). Problems become warnings in the log.
        """
        if self.closed:
            return
        self.closed = True
        try:
            if self._resources is not None and self._settings is not None:
                self._clean_up(deferring)
        finally:
            client = self._client
            if client is not None:
                if client.retries_on_429:
                    self.notes.append(
                        f"the host answered 429 (rate limited) {client.retries_on_429} time(s); the client honoured "
                        f"Retry-After and waited {client.slept_on_429:.1f} s in total "
                        f"(budget per request: POSTHOG_MAX_RETRY_WAIT={self.settings.max_retry_wait:g} s)"
                    )
                client.close()
            if self.server is not None:
                self.server.stop()

    def _clean_up(self, deferring: Callable[[str], Any] | None) -> None:
        resources, settings = self.resources, self.settings
        held = deferring(settings.run_id) if deferring is not None else contextlib.nullcontext()
        with held, self.ledger.unmetered():
            problems = resources.cleanup(sweep=not settings.read_only)
        for problem in problems:
            self.log.warn(f"cleanup: {problem}")
        if resources.untracked:
            self.log.warn(
                f"cleanup: {len(resources.untracked)} dashboard(s) of this run were never registered for "
                f"cleanup (ids {resources.untracked[:20]}); the final sweep soft-deleted them"
            )
        if resources.rate_limited:
            self.log.warn(
                "cleanup stopped: the host's rate limit for this key is spent; once it resets run: python -m "
                f"posthog_contract cleanup --run-id {settings.run_id} (posthog-contract cleanup from a wheel; "
                "with POSTHOG_HOST / POSTHOG_PROJECT_ID set)"
            )
        elif problems:
            self.log.warn(
                "cleanup left something behind; once the host is healthy run: python -m posthog_contract cleanup "
                f"--run-id {settings.run_id} (with POSTHOG_HOST / POSTHOG_PROJECT_ID set)"
            )

    # -- what the run found -----------------------------------------------------------------------------

    def summary_lines(self) -> list[str]:
        """The run's notes and (once connected) its cost and the host's deprecation notices, for the end
        of the terminal output (the host's own words redacted like everything it says)."""
        if not self.connected:
            return list(self.notes)
        deprecated = self.ledger.deprecations.summary(limit=0)  # each one: the plugin's deprecations section
        return [*self.notes, *self.ledger.cost_lines(), *([self.redactor.text(deprecated)] if deprecated else [])]


def request_budget(settings: Settings) -> int | None:
    """The run's request cap: ``--request-budget`` if given, else the profile's; None for no cap (0)."""
    budget = settings.request_budget
    if budget is None:
        from .property_based.profiles import PROFILES  # schemathesis loads only when the suite runs

        budget = PROFILES[settings.profile].request_budget
    return budget or None
