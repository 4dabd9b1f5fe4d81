"""The run state the hooks and checks act for: one :class:`GeneratedRun` per session.

Schemathesis' hooks and checks are process-global registries, so they find the run through what
they are given: the loaded schema's class carries its run (``session.use_policy_transport``; a class,
because schemathesis clones schemas and a clone keeps only the class), and `run_of` reads it back from
a schema, an operation or a case. Two runs in one process therefore never act for each other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from schemathesis.core.failures import Failure, FailureGroup

from .. import operations as ops
from ..config import Settings
from ..outcomes import OutcomeLog
from ..policy import RequestLedger
from ..redaction import Redactor
from ..resources import RunResources
from .profiles import Profile

#: Requests one generated case may send: the case and schemathesis' auth probes of its operation.
CASE_COST = 3
#: The line printed once per session; a failing run is reproduced with ``--contract-seed N``.
SEED_MESSAGE = "posthog-contract: schemathesis seed {seed} (reproduce with --contract-seed {seed})"


@dataclass
class GeneratedRun:
    """What the hooks and checks need to know about this session; one per session.

    ``pool`` are live dashboards the run created (targets of every generated dashboard id),
    ``trash`` run-created dashboards soft-deleted at start (404 for reads; a write may restore
    them), ``unknown`` ids verified absent (reads only). ``created`` grows with every dashboard
    the host acknowledges during the run.
    """

    settings: Settings
    base_url: str
    project_id: str
    resources: RunResources | None
    redactor: Redactor
    seed: int
    profile: Profile
    pool: tuple[int, ...] = ()
    trash: tuple[int, ...] = ()
    unknown: tuple[int, ...] = ()
    event_ids: tuple[str, ...] = ()
    event_names: tuple[str, ...] = ()
    distinct_ids: tuple[str, ...] = ()
    events_after: str | None = None
    collaborator_uuid: str | None = None
    created: set[int] = field(default_factory=set)
    auth_enforced: set[str] = field(default_factory=set)  # operations ignored_auth has probed
    tiles: dict[int, set[int]] = field(default_factory=dict)
    session: requests.Session | None = None
    schema: Any = None
    ledger: RequestLedger = field(default_factory=RequestLedger)  # the run's (ContractSession's) ledger
    log: OutcomeLog = field(default_factory=OutcomeLog)  # the run's outcome log
    warned: set[str] = field(default_factory=set)  # warnings given once per run (a crash seen again)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- ids -----------------------------------------------------------------------------------

    def read_targets(self) -> tuple[int, ...]:
        return self.pool + self.trash + self.unknown

    def write_targets(self) -> tuple[int, ...]:
        return self.pool + self.trash  # never an id the run did not create

    def register_dashboard(self, dashboard_id: Any) -> None:
        if not isinstance(dashboard_id, int) or isinstance(dashboard_id, bool):
            return
        with self._lock:
            self.created.add(dashboard_id)
        if self.resources is not None:
            self.resources.track_dashboard(dashboard_id)

    def register_tiles(self, dashboard_id: int, body: Any) -> None:
        tiles = body.get("tiles") if isinstance(body, dict) else None
        if not isinstance(tiles, list):
            return
        ids = {t["id"] for t in tiles if isinstance(t, dict) and isinstance(t.get("id"), int)}
        with self._lock:
            self.tiles[dashboard_id] = ids

    def tile_ids(self, dashboard_id: Any) -> list[int]:
        with self._lock:
            return sorted(self.tiles.get(dashboard_id, ()))

    # -- calls ----------------------------------------------------------------------------------

    def call_and_validate(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
        """``case.call_and_validate`` through the run's 429-aware session, failures redacted.

        A case is not sent once the run's request budget is spent (the auth probes a case may add
        are kept back too): the rest of the test is then *unavailable*. Nor once the key's rate limit is
        spent (issue 24): the operation that met it is the run's one tool error, the test's remaining
        operations are not judged, each one "stopped", never an error of its own.
        """
        if self.ledger.rate_limit_spent is not None:
            self.log.unavailable("stopped, not judged: " + self.ledger.rate_limit_spent)
        if not self.ledger.allows(CASE_COST):
            self.log.unavailable("generated cases stopped: " + self.ledger.spent_reason())
        self.ledger.label = f"{self.log.current_test}[{case.operation.label}]"  # the cost per generated operation
        with self.redacted_failures():
            return case.call_and_validate(session=self.session, **kwargs)

    def make_case(
        self,
        op_id: str,
        *,
        prefix: str = "projects",
        path_parameters: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> schemathesis.Case:
        """An explicit case of a catalogue operation, with the project pinned and the configured auth."""
        if self.schema is None:
            raise RuntimeError("load_schema() has not been called for this run")
        operation = ops.by_id(op_id)
        params = dict(path_parameters or {})
        if operation.prefixed:
            params = {"project_id": self.project_id, **params}
        kwargs: dict[str, Any] = {"path_parameters": params, "query": dict(query or {})}
        if body is not None:
            kwargs.update(body=body, media_type="application/json")
        api = self.schema[operation.full_path(prefix)][operation.method]
        return api.Case(headers=self.schema.config.headers_for(operation=api), **kwargs)

    @contextmanager
    def redacted_failures(self) -> Iterator[None]:
        """Re-raise schemathesis failures with configured secrets scrubbed and the seed appended.

        Schemathesis sanitizes the curl line by header name; this adds value-based redaction
        (a key echoed under an innocent name, a project token in a response) and the seed.
        """
        try:
            yield
        except FailureGroup as exc:
            message = self.redactor.text(str(exc.message)) + "\n" + SEED_MESSAGE.format(seed=self.seed)
            for failure in exc.exceptions:
                _redact_failure(failure, self.redactor)
            group = FailureGroup(list(exc.exceptions), message)
            group.__notes__ = [self.redactor.text(n) for n in getattr(exc, "__notes__", [])]
            raise group.with_traceback(exc.__traceback__) from None
        except Exception as exc:
            notes = getattr(exc, "__notes__", None)
            if notes:
                exc.__notes__ = [self.redactor.text(n) for n in notes]
            exc.args = tuple(self.redactor.text(a) if isinstance(a, str) else a for a in exc.args)
            raise


def _redact_failure(failure: Failure, redactor: Redactor) -> None:
    for name in ("message", "title"):
        value = getattr(failure, name, None)
        if isinstance(value, str):
            with contextlib.suppress(AttributeError, dataclasses.FrozenInstanceError):
                setattr(failure, name, redactor.text(value))


#: the attribute of a loaded schema (of its class) that holds its run
RUN_ATTRIBUTE = "posthog_contract_run"


def run_of(source: Any) -> GeneratedRun | None:
    """The run a schemathesis case, operation or loaded schema belongs to (None: not one of ours)."""
    operation = getattr(source, "operation", source)  # a case names its operation
    schema = getattr(operation, "schema", operation)  # an operation names its schema
    run = getattr(schema, RUN_ATTRIBUTE, None)
    return run if isinstance(run, GeneratedRun) else None
