"""Property-based contract tests through schemathesis: configuration, data steering and checks.

Everything the suite registers in schemathesis' process-global registries lives here and is
registered once, when this module is imported: custom checks (``@schemathesis.check``), the
generation and call hooks (``@schemathesis.hook``) and the failure filter. The hooks act only
while a :class:`GeneratedRun` is active (``load_schema`` activates one per session) and only on
the contract's own document, so importing the module changes nothing else.

Why steer at all: generated dashboard ids almost never exist, so unsteered fuzzing is 404 noise;
and generated write requests must never touch a dashboard the run did not create. The hooks
therefore map every dashboard id onto the run's own dashboards (plus ids verified absent, for
reads only), tag every name the run writes with the run id, register every dashboard, sharing
configuration and collaborator the host acknowledges for cleanup, and point event ids and event
filters at the run's seeded events. ``map_case`` shapes the data (it runs in every phase);
``before_call`` repeats the safety part as the last word before anything is sent.

Reading order: profiles, the run state, configuration and loading, steering hooks, the
429-aware HTTP session, checks, the failure filter.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from . import contract
from . import operations as ops
from .client import retry_after_seconds
from .config import Settings
from .outcomes import LOG
from .redaction import Redactor
from .resources import RunResources

__all__ = [
    "PROFILES",
    "SEED_MESSAGE",
    "GeneratedRun",
    "Profile",
    "RetryAfterAdapter",
    "activate",
    "active_run",
    "build_config",
    "http_session",
    "last_seed",
    "load_schema",
    "new_run",
    "prepare_data",
    "record_response",
    "steer",
]

#: The line printed once per session; a failing run is reproduced with ``--contract-seed N``.
SEED_MESSAGE = "posthog-contract: schemathesis seed {seed} (reproduce with --contract-seed {seed})"

_TITLE = "PostHog API"  # info.title of contract.openapi_document(): the hooks act on this document only
_ENV_SUFFIX = "_env"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_RE = re.compile(r"[/+]json\b")


# --- profiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How hard the property-based part works (``--contract-profile``)."""

    name: str
    max_examples: int  # fuzzing examples per operation under /api/projects/
    twin_max_examples: int  # per environments twin (same handlers, sampled less)
    coverage_everywhere: bool  # False: no coverage phase for the twins and _COVERAGE_SKIPPED
    stateful_examples: int  # scenarios of the state machine
    stateful_steps: int  # steps per scenario
    pool_size: int  # run-created dashboards that generated ids point at
    shrink: bool  # shrink failing examples (each shrink step is a round trip to the host)


PROFILES: Mapping[str, Profile] = {
    "default": Profile(
        "default",
        max_examples=6,
        twin_max_examples=2,
        coverage_everywhere=False,
        stateful_examples=4,
        stateful_steps=10,
        pool_size=3,
        shrink=False,
    ),
    "thorough": Profile(
        "thorough",
        max_examples=100,
        twin_max_examples=25,
        coverage_everywhere=True,
        stateful_examples=40,
        stateful_steps=25,
        pool_size=6,
        shrink=True,
    ),
}

#: Supporting writes whose deterministic coverage phase (~250 requests each) the default profile
#: skips: create makes a dashboard per accepted case, PUT is PATCH (§0.2), the POST form of
#: move_tile repeats the PATCH one. They are still fuzzed.
_COVERAGE_SKIPPED = ("dashboards_create", "dashboards_update", "dashboards_move_tile_create")


# --- the run -------------------------------------------------------------------------------------


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
        """``case.call_and_validate`` through the run's 429-aware session, failures redacted."""
        with self.redacted_failures():
            return case.call_and_validate(session=self.session, **kwargs)

    def record_response(self, op_id: str, path_parameters: Mapping[str, Any], body: Any, response: Any) -> None:
        """Register what the host created or shared (see the module function of the same name)."""
        record_response(self, op_id, path_parameters, body, response)

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

    def validate_exchange(
        self,
        op_id: str,
        response: Any,
        *,
        prefix: str = "projects",
        path_parameters: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> None:
        """Run schemathesis' checks (built-in and the suite's) on an answer the project's client got.

        For hand-driven flows (the state machine): the case is built from what was sent, so
        status, content type, schema, headers and every custom check judge the answer exactly
        as in the generated tests. Auth probing is left to the generated tests.
        """
        case = self.make_case(op_id, prefix=prefix, path_parameters=path_parameters, query=query, body=body)
        with self.redacted_failures():
            case.validate_response(response, excluded_checks=[ignored_auth_once_per_operation])

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


_RUN: GeneratedRun | None = None
_LAST_SEED: int | None = None


def active_run() -> GeneratedRun | None:
    """The run the hooks act for (None outside a session)."""
    return _RUN


def last_seed() -> int | None:
    """The seed of the most recent run in this process (for reports; survives the run's end)."""
    return _LAST_SEED


def activate(run: GeneratedRun | None) -> None:
    """Make ``run`` the one the global hooks and checks act for (None: switch them off)."""
    global _RUN, _LAST_SEED
    _RUN = run
    if run is not None:
        _LAST_SEED = run.seed


# --- configuration -------------------------------------------------------------------------------


def _operation_entry(operation_ids: Iterable[str], **settings: Any) -> dict[str, Any]:
    """One ``[[operations]]`` entry matching the given operation ids under both prefixes."""
    names = sorted({op for base in operation_ids for op in (base, base + _ENV_SUFFIX)})
    return {"include-operation-id-regex": "^(" + "|".join(map(re.escape, names)) + ")$", **settings}


def build_config(run: GeneratedRun) -> dict[str, Any]:
    """The schemathesis configuration of a run, as the dict a ``schemathesis.toml`` would parse to.

    Built in code (not discovered from a file) so that a stray ``schemathesis.toml`` in the
    working directory cannot change what the suite checks.
    """
    settings, profile = run.settings, run.profile
    checks_off = {"enabled": False}
    operations: list[dict[str, Any]] = [
        # Environments twins reach the same handlers (§1.1): sampled less.
        {
            "include-operation-id-regex": f"{_ENV_SUFFIX}$",
            "generation": {"max-examples": profile.twin_max_examples},
            "phases": {"coverage": {"enabled": profile.coverage_everywhere}},
        },
        # §2.8: DELETE is 405 for every id, nothing is ever deleted; checks that assume a successful
        # DELETE removed something (use_after_free) or that a resource is reachable after it
        # (ensure_resource_availability) contradict PostHog's ForbidDestroyModel.
        _operation_entry(
            ["dashboards_destroy"],
            checks={
                "use_after_free": checks_off,
                "ensure_resource_availability": checks_off,
                # the documented answer to a valid DELETE *is* 405 (a 404 or 2xx fails, see
                # dashboard_delete_is_405_with_empty_body)
                "positive_data_acceptance": {"expected-statuses": ["405", "401", "403", "429"]},
            },
        ),
        # §4.1 rules 4-9: valid bodies are refused by business rules (lowest restriction level,
        # level != 37, unknown user, no project access, inherent access, already a collaborator).
        _operation_entry(["dashboards_collaborators_create"], checks={"positive_data_acceptance": checks_off}),
        # §6: beyond the template schema, PostHog builds an insight from every INSIGHT tile and its
        # insight serializer refuses `filters`/`query` objects that are not valid insight queries
        # (a 400 for a schema-valid body); personal keys get 403 anyway on PostHog itself.
        _operation_entry(
            ["dashboards_create_from_template_json_create"], checks={"positive_data_acceptance": checks_off}
        ),
        # §1.1 "Unknown and read-only body keys are silently ignored", and DRF coerces scalars
        # (a number is a valid CharField, "true"/1 a valid BooleanField, "12" a valid IntegerField):
        # invalid-by-schema bodies are accepted on these writes.
        _operation_entry(
            [
                "dashboards_create",
                "dashboards_partial_update",
                "dashboards_update",
                "dashboards_sharing_partial_update",
                "dashboards_move_tile_partial_update",
                "dashboards_move_tile_create",
            ],
            checks={"negative_data_rejection": checks_off},
        ),
    ]
    if not profile.coverage_everywhere:
        operations.append(_operation_entry(_COVERAGE_SKIPPED, phases={"coverage": {"enabled": False}}))
    if settings.read_only:
        operations.append({"include-method-regex": "^(?!GET$)", "enabled": False})
    config: dict[str, Any] = {
        "seed": run.seed,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "base-url": run.base_url,
        "headers": {"Authorization": f"Bearer {settings.personal_api_key}"},
        "request-timeout": settings.timeout,
        "request-retries": 1,
        "max-redirects": 0,  # PostHog serves no redirects (§1.1): one is evidence, not a detour
        "parameters": {
            "path.project_id": run.project_id,  # never another project
            "query.format": "json",  # CSV is exercised on purpose by test_events_csv_export
        },
        "generation": {
            "mode": "all",
            "max-examples": profile.max_examples,
            "database": "none",  # reproducible from the seed alone; nothing written to .hypothesis/
            "no-shrink": not profile.shrink,
            # DRF's CharField refuses NUL characters in every string field (400
            # null_characters_not_allowed): a framework rule the contract's schemas do not restate
            "allow-x00": False,
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},  # the state machine lives in tests/test_stateful.py
        },
        "checks": {
            # needs several identities (WFC auth); the suite's isolation checks are hand-written
            "object_level_authorization": checks_off,
            # replaced by ignored_auth_once_per_operation: under pytest the built-in probes every
            # 2xx (two extra requests each, doubling the traffic), the CLI engine once per operation
            "ignored_auth": checks_off,
        },
        "output": {"sanitization": {"enabled": True}},
        "operations": operations,
    }
    # Undocumented-method probes use standard methods only: exotic ones (QUERY, garbage tokens) may be
    # refused by a proxy in front of the host, which says nothing about PostHog. Read-only runs send
    # no method that could write.
    unexpected = ["get", "options"] if settings.read_only else ["get", "put", "post", "patch", "delete", "options"]
    config["phases"]["coverage"]["unexpected-methods"] = unexpected
    if not settings.embedded:
        # Stay under PostHog's published limits (§1.8: 480/min; events 240/min); 429s are retried.
        config["rate-limit"] = "7/s"
        operations.append({"include-tag": "events", "rate-limit": "3/s"})
    return config


def load_schema(settings: Settings, run: GeneratedRun | None = None, **state: Any) -> Any:
    """The contract's OpenAPI document as a configured schemathesis schema, with ``run`` activated.

    ``state`` fills a new :class:`GeneratedRun` when ``run`` is not given (``base_url``,
    ``project_id``, ``resources``, ``redactor``, pool ids, event ids, ...).
    """
    if run is None:
        run = new_run(settings, **state)
    document = contract.openapi_document()
    # Capture is authenticated by the project key in the body and its events cannot be deleted:
    # generated capture traffic would pollute the host for good. tests/test_capture.py covers it.
    document["paths"] = {path: item for path, item in document["paths"].items() if not _is_capture(item)}
    config = schemathesis.Config.from_dict(build_config(run))
    schema = schemathesis.openapi.from_dict(document, config=config)
    if run.session is None:
        run.session = http_session(settings, redactor=run.redactor)
    run.schema = schema
    activate(run)
    return schema


def prepare_data(
    client: Any, paths: Any, resources: RunResources, settings: Settings, *, seeded: Any = None
) -> dict[str, Any]:
    """Create the run's dashboards (pool with a text tile each, one soft-deleted), find absent ids
    and collect event ids; returns the keyword arguments of :func:`new_run`.

    Every dashboard is tracked for cleanup the moment the host acknowledges it. Read-only runs
    create nothing: reads then point at dashboards the host already lists.
    """
    profile = PROFILES[settings.profile]
    pool: list[int] = []
    trash: list[int] = []
    tiles: dict[int, set[int]] = {}

    def body_of(response: Any) -> Any:
        # lenient on purpose: judging the answer is the generated tests' job, this only needs ids
        try:
            return response.json()
        except ValueError:
            return None

    def create(label: str) -> int | None:
        response = client.post(
            paths.dashboards(), json={"name": resources.name(label), "description": resources.description()}
        )
        body = body_of(response) if 200 <= response.status_code < 300 else None
        if isinstance(body, dict) and isinstance(body.get("id"), int):
            resources.track_dashboard(body["id"])
            return body["id"]
        return None

    if settings.read_only:
        response = client.get(paths.dashboards(), params={"limit": profile.pool_size})
        body = body_of(response) if response.status_code == 200 else None
        results = body.get("results") if isinstance(body, dict) else None
        pool = [item["id"] for item in results or [] if isinstance(item, dict) and isinstance(item.get("id"), int)]
    else:
        for index in range(profile.pool_size):
            created = create(f"generated pool {index}")
            if created is None:
                break
            pool.append(created)
            texts = [{"text": {"body": f"generated tile {index}.{n}"}} for n in range(2)]
            body = body_of(client.patch(paths.dashboard(created), json={"tiles": texts}))
            listed = body.get("tiles") if isinstance(body, dict) else None
            tiles[created] = {t["id"] for t in listed or [] if isinstance(t, dict) and isinstance(t.get("id"), int)}
        dropped = create("generated trash")
        if dropped is not None and client.patch(paths.dashboard(dropped), json={"deleted": True}).status_code == 200:
            trash.append(dropped)
    unknown = []
    for candidate in (2_000_000_001, 2_000_000_003, 2_147_483_000):
        if candidate not in pool and client.get(paths.dashboard(candidate)).status_code == 404:
            unknown.append(candidate)
    state: dict[str, Any] = {
        "pool": tuple(pool),
        "trash": tuple(trash),
        "unknown": tuple(unknown),
        "tiles": tiles,
        "collaborator_uuid": settings.collaborator_uuid,
    }
    if seeded is not None:
        state.update(
            event_ids=tuple(e.uuid for e in seeded.events),
            event_names=(seeded.signup, seeded.pageview),
            distinct_ids=tuple(seeded.distinct_ids),
            events_after=seeded.start.isoformat(),
        )
    else:  # nothing seeded (read-only): the host's recent events, read only
        body = body_of(client.get(paths.events(), params={"limit": 10}))
        listed = [e for e in (body.get("results") or [] if isinstance(body, dict) else []) if isinstance(e, dict)]
        state.update(
            event_ids=tuple(str(e["id"]) for e in listed if e.get("id")),
            event_names=tuple(sorted({str(e["event"]) for e in listed if e.get("event")}))[:3],
            distinct_ids=tuple(sorted({str(e["distinct_id"]) for e in listed if e.get("distinct_id")}))[:3],
        )
    return state


def _is_capture(path_item: Mapping[str, Any]) -> bool:
    return all("capture" in (op.get("tags") or []) for op in path_item.values() if isinstance(op, dict))


def new_run(
    settings: Settings,
    *,
    base_url: str | None = None,
    project_id: str | None = None,
    resources: RunResources | None = None,
    redactor: Redactor | None = None,
    seed: int | None = None,
    **state: Any,
) -> GeneratedRun:
    """A :class:`GeneratedRun` for ``settings``; the seed is the settings' one or a fresh 32-bit one."""
    chosen = seed if seed is not None else settings.seed
    if chosen is None:
        chosen = uuid.uuid4().int & 0xFFFFFFFF
    run = GeneratedRun(
        settings=settings,
        base_url=(base_url or settings.base_url or "").rstrip("/"),
        project_id=str(project_id or settings.project_id),
        resources=resources,
        redactor=redactor or Redactor(settings.secrets()),
        seed=chosen,
        profile=PROFILES[settings.profile],
        **state,
    )
    run.created.update(run.pool + run.trash)
    return run


# --- operation helpers ------------------------------------------------------------------------------


def _is_ours(operation: Any) -> bool:
    if _RUN is None or operation is None:
        return False
    info = operation.schema.raw_schema.get("info")
    return isinstance(info, dict) and info.get("title") == _TITLE


def _operation_id(operation: Any) -> str:
    """The catalogue id (the environments twin's ``_env`` suffix removed)."""
    raw = operation.definition.raw.get("operationId", "")
    return raw.removesuffix(_ENV_SUFFIX)


def _stable_hash(value: Any) -> int:
    return zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode())


def _as_int(value: Any) -> int | None:
    """The integer a host would read from ``value`` in a URL or a DRF IntegerField, if any."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _pick(choices: tuple[Any, ...] | list[Any], value: Any) -> Any:
    return choices[_stable_hash(value) % len(choices)]


def _steer_id(value: Any, allowed: tuple[int, ...]) -> Any:
    """An id the run may use: values naming no integer stay (they cannot name a dashboard)."""
    number = _as_int(value)
    if number is None or not allowed:
        return value
    if number in allowed:
        return number if isinstance(value, int) else value
    return _pick(allowed, number)


def _is_negative(case: schemathesis.Case, location: ParameterLocation) -> bool:
    meta = case.meta
    return meta is not None and meta.is_negative_at(location)


def _positive(case: schemathesis.Case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


# --- steering: path parameters ------------------------------------------------------------------------


def _steer_path(run: GeneratedRun, case: schemathesis.Case) -> None:
    params = case.path_parameters
    if not params:
        return
    write = case.method.upper() in _WRITE_METHODS
    targets = run.write_targets() if write else run.read_targets()
    for name in ("id", "dashboard_id"):
        if name in params and "/dashboards/" in case.path:
            if write and not targets and _as_int(params[name]) is not None:
                raise RuntimeError(
                    f"posthog-contract refuses to send {case.method.upper()} {case.path} with {name}="
                    f"{params[name]!r}: the run created no dashboard to write to"
                )
            params[name] = _steer_id(params[name], targets)
    if "user_uuid" in params and run.collaborator_uuid and not _is_negative(case, ParameterLocation.PATH):
        params["user_uuid"] = _pick((run.collaborator_uuid, params["user_uuid"]), params["user_uuid"])
    if "/events/{id}" in case.path and "id" in params and run.event_ids:
        value = params["id"]
        if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F-]{32,36}", value):
            chosen = _pick((*run.event_ids, value), value)
            if chosen != value:
                params["id"] = _same_uuid_style(chosen, value)


def _same_uuid_style(target: str, example: str) -> str:
    """``target`` spelled like ``example`` (dashes or not, case): PostHog accepts every spelling (§8)."""
    text = target if "-" in example else target.replace("-", "")
    return text.upper() if example.isupper() else text


# --- steering: query -------------------------------------------------------------------------------------


_NUMERIC_OPERATORS = frozenset({"gt", "gte", "lt", "lte"})
_DATE_OPERATORS = frozenset({"is_date_exact", "is_date_before", "is_date_after"})
_TEXT_OPERATORS = frozenset({"icontains", "not_icontains"})
_REGEX_OPERATORS = frozenset({"regex", "not_regex"})


def _operator_value(operator: str, value: Any) -> Any:
    """A value the operator can use (§7.2): the schema types `value` loosely, operators do not."""
    if operator in _TEXT_OPERATORS and (value is None or isinstance(value, dict | list)):
        return "a"
    if operator in _REGEX_OPERATORS:
        try:
            re.compile(value) if isinstance(value, str) else None
        except re.error:
            return "^a"
        return value if isinstance(value, str) else "^a"
    if operator in _NUMERIC_OPERATORS:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return 1
        try:
            return value if math.isfinite(float(value)) else 1
        except ValueError:
            return 1
    if operator in _DATE_OPERATORS and (not isinstance(value, str) or _instant(value) is None):
        return "2024-01-01T00:00:00Z"
    return value


def _usable_properties(node: Any, depth: int = 0) -> Any:
    """A schema-valid properties filter rewritten so that every operator gets a value it can use.

    The schema cannot say that `gt` needs a number or `regex` a pattern; PostHog answers such
    filters with 400, which is right, but would make positive cases look rejected.
    """
    if isinstance(node, list):
        return [_usable_properties(item, depth + 1) for item in node[:5]]
    if not isinstance(node, dict):
        return node
    if "key" not in node and isinstance(node.get("values"), list):
        if depth >= 4:
            return {**node, "values": []}
        return {**node, "values": [_usable_properties(item, depth + 1) for item in node["values"][:5]]}
    operator = node.get("operator") or "exact"
    if "value" not in node or operator in ("is_set", "is_not_set"):
        return node
    value = node["value"]
    if isinstance(value, list):
        fixed: Any = [_operator_value(operator, v) for v in value[:5]] if operator != "exact" else value[:20]
    else:
        fixed = _operator_value(operator, value)
    return {**node, "value": fixed}


def _steer_query(run: GeneratedRun, case: schemathesis.Case, op_id: str) -> None:
    query = case.query
    if not isinstance(query, dict) or not _positive(case):
        return
    roll = _stable_hash(query)
    if op_id == "events_list":
        if "properties" in query:
            raw = query["properties"]
            with contextlib.suppress(ValueError):
                decoded = json.loads(raw) if isinstance(raw, str) else raw
                fixed = _usable_properties(decoded)
                query["properties"] = json.dumps(fixed) if isinstance(raw, str) else fixed
        for bound in ("after", "before"):
            relative = re.fullmatch(r"(-?)(\d+)([hdwmy])", str(query.get(bound, "")))
            if relative and int(relative.group(2)) > 999:
                # the schema's pattern has no upper bound; years beyond datetime's range are a 400
                query[bound] = f"{relative.group(1)}{int(relative.group(2)) % 1000}{relative.group(3)}"
        if run.events_after and roll % 3 != 0:
            query["after"] = run.events_after
            if roll % 2 == 0:
                query.pop("before", None)
        if run.event_names and "event" in query and roll % 2 == 0:
            query["event"] = _pick(run.event_names, query["event"])
        if run.distinct_ids and "distinct_id" in query and (roll >> 3) % 2 == 0:
            query["distinct_id"] = _pick(run.distinct_ids, query["distinct_id"])
        limit = _as_int(query.get("limit"))
        if limit is not None and limit > 50 and (roll >> 5) % 4 != 0:
            query["limit"] = limit % 9 + 1  # small pages exercise `next`
    elif op_id in ("dashboards_list", "projects_list"):
        offset = _as_int(query.get("offset"))
        if offset is not None and offset > 20:
            query["offset"] = offset % 5
        limit = _as_int(query.get("limit"))
        if limit is not None and limit > 20 and roll % 2 == 0:
            query["limit"] = limit % 4 + 1


# --- steering: bodies --------------------------------------------------------------------------------------


def _run_name(run: GeneratedRun, value: Any) -> str:
    label = f"generated {_stable_hash(value) % 100000:05d}"
    return run.resources.name(label) if run.resources is not None else f"posthog-contract {label}"


def _tag_name(run: GeneratedRun, body: dict[str, Any], key: str, *, positive: bool) -> None:
    """Every name the run writes carries the run tag, so leftovers of a crashed run can be found."""
    value = body.get(key)
    if isinstance(value, str) and run.resources is not None and value.startswith(run.resources.name("")):
        return  # tagged already (steering runs again before the call)
    if positive or key not in body:
        body[key] = _run_name(run, value)
    elif isinstance(value, str):
        body[key] = _run_name(run, value) + " " + value  # still invalid if it was too long


def _steer_dashboard_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any], op_id: str) -> None:
    positive = not _is_negative(case, ParameterLocation.BODY)
    body.pop("_create_in_folder", None)  # would create an untracked file-system folder on the host
    if op_id == "dashboards_create" or "name" in body:
        _tag_name(run, body, "name", positive=positive)
    if "use_dashboard" in body:
        body["use_dashboard"] = _steer_id(body["use_dashboard"], run.pool or run.read_targets())
    if positive:
        if body.get("use_template") not in (None, "", "DEFAULT_APP"):
            body["use_template"] = _pick(("", "DEFAULT_APP"), body["use_template"])
        if body.get("use_template") and "use_dashboard" in body:
            del body["use_dashboard"]
        if body.get("data_color_theme_id") is not None:
            body["data_color_theme_id"] = None  # a random id names no theme: a business-rule 400
    target = _as_int(case.path_parameters.get("id")) if case.path_parameters else None
    if op_id != "dashboards_create" and _drf_true(body.get("deleted")) and target not in run.trash:
        body["deleted"] = False  # keep the pool alive; soft delete is the state machine's job
    _steer_tile_payloads(run, case, body)


_DRF_TRUE = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"})


def _drf_true(value: Any) -> bool:
    """Whether DRF's BooleanField reads ``value`` as true (so a PATCH would soft-delete)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value in _DRF_TRUE


def _steer_tile_payloads(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    """Tile updates may only name tiles the run has seen on that dashboard; others are dropped."""
    tiles = body.get("tiles")
    if not isinstance(tiles, list):
        return
    target = _as_int(case.path_parameters.get("id")) if case.path_parameters else None
    known = run.tile_ids(target)
    kept = []
    for item in tiles:
        if isinstance(item, dict) and "id" in item:
            number = _as_int(item["id"])
            if number is not None and number not in known:
                if not known:
                    continue
                item = {**item, "id": _pick(tuple(known), number)}
        kept.append(item)
    body["tiles"] = kept


def _steer_move_tile_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    for key in ("to_dashboard", "toDashboard"):
        if key in body:  # the destination is written to: only run-created dashboards (all modes)
            if not run.write_targets() and _as_int(body[key]) is not None:
                raise RuntimeError("posthog-contract refuses to move a tile: the run created no dashboard")
            body[key] = _steer_id(body[key], run.pool or run.write_targets())
    tile = body.get("tile")
    if isinstance(tile, dict) and "id" in tile and not _is_negative(case, ParameterLocation.BODY):
        source = _as_int(case.path_parameters.get("id")) if case.path_parameters else None
        known = run.tile_ids(source)
        number = _as_int(tile["id"])
        if known and number is not None and number not in known and _stable_hash(tile) % 4 != 0:
            tile["id"] = _pick(tuple(known), number)


def _steer_template_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    body.pop("_create_in_folder", None)
    template = body.get("template")
    if isinstance(template, dict):
        positive = not _is_negative(case, ParameterLocation.BODY)
        if positive or "template_name" in template:
            _tag_name(run, template, "template_name", positive=positive)


def _steer_collaborator_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    if run.collaborator_uuid and not _is_negative(case, ParameterLocation.BODY) and "user_uuid" in body:
        body["user_uuid"] = _pick((run.collaborator_uuid, body["user_uuid"]), body["user_uuid"])
        if _stable_hash(body) % 3 != 0:
            body["level"] = 37


def _steer_body(run: GeneratedRun, case: schemathesis.Case, op_id: str) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    if op_id in ("dashboards_create", "dashboards_partial_update", "dashboards_update"):
        _steer_dashboard_body(run, case, body, op_id)
    elif op_id in ("dashboards_move_tile_partial_update", "dashboards_move_tile_create"):
        _steer_move_tile_body(run, case, body)
    elif op_id == "dashboards_create_from_template_json_create":
        _steer_template_body(run, case, body)
    elif op_id == "dashboards_collaborators_create":
        _steer_collaborator_body(run, case, body)


def steer(case: schemathesis.Case, *, query: bool = True) -> schemathesis.Case:
    """Point a case at the run's data: ids, names, bodies and (``query=True``) the query.

    Path and body steering is idempotent, so ``before_call`` applies it again as the safety net;
    query steering shapes generated data only and runs once, in ``map_case``.
    """
    run = _RUN
    if run is None or not _is_ours(case.operation):
        return case
    op_id = _operation_id(case.operation)
    # Steer copies: coverage cases share nested containers, so an in-place edit of one case would
    # leak into the next ones generated from it.
    case.path_parameters = copy.deepcopy(case.path_parameters)
    if isinstance(case.body, dict | list):
        case.body = copy.deepcopy(case.body)
    _steer_path(run, case)
    if query:
        case.query = copy.deepcopy(case.query)
        _steer_query(run, case, op_id)
    _steer_body(run, case, op_id)
    return case


@schemathesis.hook("filter_case")
def _filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """Drop a write aimed at a dashboard id when the run has no dashboard of its own to aim it at."""
    run = _RUN
    if run is None or not _is_ours(case.operation) or run.write_targets():
        return True
    if case.method.upper() not in _WRITE_METHODS or "/dashboards/{" not in case.path:
        return True
    return all(_as_int(v) is None for k, v in (case.path_parameters or {}).items() if k in ("id", "dashboard_id"))


@schemathesis.hook("map_case")
def _map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    return steer(case)


@schemathesis.hook("before_call")
def _before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    # The last word before anything is sent: cases built by hand, explicit examples and any phase
    # that bypassed map_case get the same ids, names and safe bodies.
    steer(case, query=False)


@schemathesis.hook("after_call")
def _after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response) -> None:
    run = _RUN
    if run is None or not _is_ours(case.operation):
        return
    record_response(run, _operation_id(case.operation), case.path_parameters or {}, case.body, response)


def record_response(
    run: GeneratedRun, op_id: str, path_parameters: Mapping[str, Any], body: Any, response: Any
) -> None:
    """Register what the host created, shared or added, the moment it says so (cleanup needs it).

    Bodies are read whatever their Content-Type: a wrong one is for the checks to report, a
    dashboard it carries still has to be cleaned up.
    """
    status = response.status_code
    try:
        data = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if op_id in ("dashboards_create", "dashboards_create_from_template_json_create") and status in (200, 201):
        if isinstance(data, dict) and "id" in data:
            run.register_dashboard(data["id"])
            run.register_tiles(data["id"], data)
    elif op_id in ("dashboards_retrieve", "dashboards_partial_update", "dashboards_update") and status == 200:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            run.register_tiles(data["id"], data)
    elif op_id in ("dashboards_move_tile_partial_update", "dashboards_move_tile_create") and status == 200:
        if isinstance(data, dict) and isinstance(data.get("id"), int):
            run.register_tiles(data["id"], data)
        destination = (
            _as_int((body or {}).get("to_dashboard", (body or {}).get("toDashboard")))
            if isinstance(body, dict)
            else None
        )
        tile = (body or {}).get("tile") if isinstance(body, dict) else None
        if destination is not None and isinstance(tile, dict) and _as_int(tile.get("id")) is not None:
            with run._lock:
                run.tiles.setdefault(destination, set()).add(_as_int(tile["id"]))  # type: ignore[arg-type]
    elif op_id in ("dashboards_sharing_partial_update", "dashboards_sharing_refresh_create") and status == 200:
        dashboard = _as_int(path_parameters.get("dashboard_id"))
        if dashboard is not None and run.resources is not None:
            run.resources.track_sharing(dashboard)
    elif op_id == "dashboards_collaborators_create" and status == 201:
        dashboard = _as_int(path_parameters.get("dashboard_id"))
        user = data.get("user") if isinstance(data, dict) else None
        user_uuid = user.get("uuid") if isinstance(user, dict) else None
        if dashboard is not None and isinstance(user_uuid, str) and run.resources is not None:
            run.resources.track_collaborator(dashboard, user_uuid)
    elif op_id == "dashboards_collaborators_destroy" and status == 204:
        dashboard = _as_int(path_parameters.get("dashboard_id"))
        if dashboard is not None and run.resources is not None:
            run.resources.forget_collaborator(dashboard, str(path_parameters.get("user_uuid")))


# --- the HTTP session: 429 honoured -----------------------------------------------------------------


class RetryAfterAdapter(HTTPAdapter):
    """Retries 429 answers after ``Retry-After`` seconds, bounded by a time budget and attempts.

    Schemathesis under pytest sends a 429 straight to the checks (its ``rate-limit = "auto"``
    retry is CLI-engine only), so the session does what §1.8 asks of the suite: wait, retry
    (bounded) and record a warning.
    """

    def __init__(
        self,
        *,
        max_wait: float,
        max_attempts: int = 6,
        sleep: Callable[[float], Any] = time.sleep,
        on_wait: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_wait = max_wait  # seconds per request, like the suite's client (POSTHOG_MAX_RETRY_WAIT)
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.on_wait = on_wait
        self.retries = 0  # over the session, for the report
        self.slept = 0.0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            response = super().send(request, **kwargs)
            if response.status_code != 429 or attempt >= self.max_attempts:
                return response
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            pause = retry_after if retry_after is not None else float(2 ** (attempt - 1))
            if waited + pause > self.max_wait:
                return response  # budget exhausted: the 429 reaches the checks as the host's answer
            response.close()
            waited += pause
            self.slept += pause
            self.retries += 1
            if self.on_wait is not None:
                self.on_wait(
                    f"429 on {request.method} {urlsplit(request.url or '').path}: waited {pause:g} s "
                    f"(Retry-After {response.headers.get('Retry-After', 'absent')}) before retry {attempt}"
                )
            self.sleep(pause)


def http_session(
    settings: Settings, *, redactor: Redactor | None = None, sleep: Callable[[float], Any] = time.sleep
) -> requests.Session:
    """A ``requests.Session`` whose adapters honour 429 + Retry-After (warnings go to the report)."""
    scrub = redactor.text if redactor is not None else (lambda text: text)
    session = requests.Session()
    adapter = RetryAfterAdapter(
        max_wait=settings.max_retry_wait, sleep=sleep, on_wait=lambda note: LOG.warn(scrub(note))
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- checks ------------------------------------------------------------------------------------------
# Each check is one rule, named after it; it returns quietly for responses it does not judge.
# Failure messages name the rule and the spec section; schemathesis adds the response and curl.


def _json_or_none(response: Any) -> Any:
    content_type = _content_type(response)
    if not response.content or not _JSON_RE.search(content_type):
        return None
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _content_type(response: Any) -> str:
    headers = response.headers
    value = headers.get("content-type") if hasattr(headers, "get") else None
    if isinstance(value, list):
        value = value[0] if value else ""
    return (value or "").lower()


def _query_pairs(case: schemathesis.Case, response: Any) -> list[tuple[str, str]]:
    """The query as sent (from the request URL: what the host actually saw)."""
    url = getattr(getattr(response, "request", None), "url", None)
    if isinstance(url, str):
        return parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return [(k, str(v)) for k, v in (case.query or {}).items()]


def _last_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)  # a repeated parameter collapses to its last value (§7.4)


def _judged(case: schemathesis.Case, *op_ids: str) -> str | None:
    if not _is_ours(case.operation):
        return None
    op_id = _operation_id(case.operation)
    return op_id if not op_ids or op_id in op_ids else None


_ENVELOPE_CODES: Mapping[int, tuple[set[str], set[str] | None]] = {
    # status: (allowed `type`s, allowed `code`s or None for any) — spec §1.2 table
    400: ({"validation_error", "invalid_request"}, None),
    401: ({"authentication_error"}, {"not_authenticated", "authentication_failed"}),
    403: ({"authentication_error"}, {"permission_denied"}),
    404: ({"invalid_request"}, {"not_found"}),
    405: ({"invalid_request"}, {"method_not_allowed"}),
    415: ({"invalid_request"}, {"unsupported_media_type"}),
    429: ({"throttled_error"}, {"throttled"}),
}


def _envelope_exception(op_id: str, method: str, status: int, body: Any) -> bool:
    """The documented exceptions to the envelope (§1.2)."""
    if op_id == "dashboards_destroy" and method == "DELETE" and status == 405:
        return True  # judged by dashboard_delete_is_405_with_empty_body
    if op_id == "events_retrieve" and status == 400 and isinstance(body, dict):
        return body.get("detail") == "Invalid UUID" and "attr" not in body
    if op_id == "dashboards_sharing_partial_update" and status == 403 and isinstance(body, dict):
        return set(body) == {"error"} and isinstance(body["error"], str)
    return False


@schemathesis.check
def error_body_is_the_envelope(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.2: every 4xx body is {type, code, detail, attr}, type/code matching the status."""
    op_id = _judged(case)
    status = response.status_code
    if op_id is None or not 400 <= status < 500:
        return
    body = _json_or_none(response)
    if _envelope_exception(op_id, str(response.request.method).upper(), status, body):
        return
    if not isinstance(body, dict):
        shown = (
            "an empty body"
            if not response.content
            else f"a non-JSON body ({_content_type(response) or 'no content type'})"
        )
        raise AssertionError(f"A {status} answer must carry the JSON error envelope (spec §1.2); got {shown}")
    problems = contract.errors(body, "error-envelope")
    if problems:
        raise AssertionError(
            "The error body is not the envelope {type, code, detail, attr} (spec §1.2): " + "; ".join(problems)
        )
    types, codes = _ENVELOPE_CODES.get(status, (None, None))
    if types is not None and body["type"] not in types:
        raise AssertionError(
            f"A {status} envelope has type {body['type']!r}; spec §1.2 says {' or '.join(sorted(types))}"
        )
    if codes is not None and body["code"] not in codes:
        raise AssertionError(
            f"A {status} envelope has code {body['code']!r}; spec §1.2 says {' or '.join(sorted(codes))}"
        )
    if status != 400 and body["attr"] is not None:
        raise AssertionError(f"A {status} envelope names attr {body['attr']!r}; only 400s name a field (spec §1.2)")


# --- issue 13: personal-key refusal of a method without an action (§1.4) -----------------------------
# A scoped personal key on a method the route declares no action for is refused by PostHog's
# APIScopePermission with 403 "This action does not support Personal API Key access" (any
# capitalisation) before DRF's 405 (posthog/permissions.py, APIScopePermission.has_permission).
# schemathesis' unsupported_method accepts any 401/403 there; this check narrows a 403 to exactly
# that refusal. 405 with `Allow` stays judged by unsupported_method. (For the integrator: port to
# the generated/ package beside the shared refusal matcher.)
_NO_ACTION_REFUSAL = "does not support personal api key access"


@schemathesis.check
def undeclared_method_403_is_the_personal_key_refusal(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.4: an undeclared method is 405 (+ Allow) or the personal-key 403 refusal, nothing else."""
    from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

    meta = case.meta
    data = getattr(getattr(meta, "phase", None), "data", None)
    if _judged(case) is None or not isinstance(data, CoveragePhaseData):
        return
    if data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD or response.status_code != 403:
        return
    body = _json_or_none(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, str) or _NO_ACTION_REFUSAL not in detail.lower():
        raise AssertionError(
            f"{response.request.method} is not declared for this route: the answer must be 405 with `Allow`"
            " or 403 'This action does not support personal API key access' (spec §1.4); got 403"
            f" {detail!r}"
        )


@schemathesis.check
def ignored_auth_once_per_operation(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """§1.3: the built-in ignored_auth (no credentials / invalid credentials must not succeed),
    probing each operation once per run as schemathesis' own engine does."""
    run = _RUN
    if run is None or _judged(case) is None:
        return None
    if getattr(ctx, "auth_enforced_operations", None) is None:
        ctx.auth_enforced_operations = run.auth_enforced
    return schemathesis.checks.ignored_auth(ctx, response, case)


@schemathesis.check
def dashboard_delete_is_405_with_empty_body(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.8: DELETE dashboards/{id} is 405 with an empty body for any id; a 2xx, a 404 or a body fails."""
    if _judged(case, "dashboards_destroy") is None or response.request.method != "DELETE":
        return
    status = response.status_code
    if status in (401, 403, 429):
        return  # authentication and scope come first (§1.5)
    if status != 405:
        raise AssertionError(
            f"DELETE of a dashboard answered {status}; hard delete is forbidden: 405 for any id (spec §2.8)"
        )
    if response.content.strip():
        raise AssertionError("DELETE of a dashboard answered 405 with a body; PostHog sends it empty (spec §2.8)")


def _python_int(text: Any) -> int | None:
    """``int(text)`` as Django/DRF apply it to a query value (whitespace, signs, ``_`` accepted)."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _effective_limit_offset(query: Mapping[str, str]) -> tuple[int, int]:
    """DRF LimitOffsetPagination (§1.6): a limit that is not a positive integer reads as 100, an offset
    that is not a non-negative integer as 0 (``_positive_int``; the last of repeated values counts)."""
    limit = _python_int(query.get("limit"))
    offset = _python_int(query.get("offset"))
    return (limit if limit is not None and limit > 0 else 100), (offset if offset is not None and offset > 0 else 0)


def _same_origin_problem(link: str, run: GeneratedRun, request_path: str) -> str | None:
    parts, base = urlsplit(link), urlsplit(run.base_url)
    if not parts.scheme or not parts.netloc:
        return f"is not an absolute URL: {link!r}"
    linked = f"{parts.hostname}:{parts.port or _default_port(parts.scheme)}"
    answered = f"{base.hostname}:{base.port or _default_port(base.scheme)}"
    if linked != answered:
        return f"points at {linked}, not the host that answered ({answered})"
    if parts.path.rstrip("/") != request_path.rstrip("/"):
        return f"points at path {parts.path!r}, not the listed path {request_path!r}"
    if parts.scheme != base.scheme:
        LOG.warn(f"`next` uses scheme {parts.scheme} while the suite talks {base.scheme} (a TLS proxy?) (spec §1.6)")
    return None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


_LINK_FILTER_EXEMPT: Mapping[str, frozenset[str]] = {
    "events_list": frozenset({"before", "after"}),
    "dashboards_list": frozenset({"limit", "offset"}),
    "projects_list": frozenset({"limit", "offset"}),
    "organizations_members_list": frozenset({"limit", "offset"}),
}


@schemathesis.check
def next_links_are_absolute_and_keep_filters(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.6, §7.4: `next`/`previous` are absolute URLs on the host and path that answered, keeping every
    request parameter (events: all but before/after; limit/offset pages: all but limit/offset)."""
    op_id = _judged(case, *_LINK_FILTER_EXEMPT)
    run = _RUN
    if op_id is None or run is None or response.status_code != 200:
        return
    body = _json_or_none(response)
    if not isinstance(body, dict):
        return
    request_path = urlsplit(response.request.url).path
    sent = _last_values(_query_pairs(case, response))
    exempt = _LINK_FILTER_EXEMPT[op_id]
    for key in ("next", "previous"):
        link = body.get(key)
        if not isinstance(link, str):
            continue
        problem = _same_origin_problem(link, run, request_path)
        if problem:
            raise AssertionError(f"`{key}` {problem} (spec §1.6, §7.4)")
        linked = _last_values(parse_qsl(urlsplit(link).query, keep_blank_values=True))
        lost = {k: v for k, v in sent.items() if k not in exempt and linked.get(k) != v}
        if lost:
            shown = ", ".join(f"{k}={v!r} (link: {linked.get(k)!r})" for k, v in sorted(lost.items()))
            raise AssertionError(f"`{key}` does not keep the request's parameters: {shown} (spec §1.6, §7.4)")


@schemathesis.check
def dashboards_page_is_consistent(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.6: a limit/offset page holds min(limit, count - offset) items, `next` exactly while
    offset + limit < count (limit/offset advanced), `previous` exactly when offset > 0."""
    if _judged(case, "dashboards_list", "projects_list") is None or response.status_code != 200:
        return
    body = _json_or_none(response)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("results"), list)
        or not isinstance(body.get("count"), int)
    ):
        return
    limit, offset = _effective_limit_offset(_last_values(_query_pairs(case, response)))
    count, results = body["count"], body["results"]
    expected = max(0, min(limit, count - offset))
    if len(results) != expected:
        raise AssertionError(
            f"The page holds {len(results)} items; with count {count}, limit {limit} and offset "
            f"{offset} it must hold {expected} (spec §1.6)"
        )
    more = offset + limit < count
    if (body.get("next") is not None) != more:
        state = "links a next page" if body.get("next") is not None else "has no `next`"
        raise AssertionError(
            f"The page {state} although offset {offset} + limit {limit} "
            f"{'<' if more else '>='} count {count} (spec §1.6)"
        )
    if more:
        linked = _last_values(parse_qsl(urlsplit(body["next"]).query))
        if _as_int(linked.get("offset")) != offset + limit or _as_int(linked.get("limit")) != limit:
            raise AssertionError(
                f"`next` must ask for limit={limit}&offset={offset + limit}; it asks for "
                f"limit={linked.get('limit')}&offset={linked.get('offset')} (spec §1.6)"
            )
    if (body.get("previous") is not None) != (offset > 0):
        raise AssertionError(
            f"`previous` is {'set' if body.get('previous') else 'null'} at offset {offset}; "
            "it is null exactly on the first page (spec §1.6)"
        )


@schemathesis.check
def dashboard_list_items_have_no_tiles(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.1: list items MUST NOT carry `tiles` (test_listing_dashboards_does_not_include_tiles)."""
    if _judged(case, "dashboards_list") is None or response.status_code != 200:
        return
    body = _json_or_none(response)
    results = body.get("results") if isinstance(body, dict) else None
    for item in results or []:
        if isinstance(item, dict) and "tiles" in item:
            raise AssertionError(
                f"Dashboard {item.get('id')} in the list carries `tiles`; list items must not (spec §2.1)"
            )


def _events_limit(query: Mapping[str, str]) -> int | None:
    raw = query.get("limit")
    if raw is None:
        return 100
    limit = _python_int(raw)
    return limit if limit is not None and limit >= 1 else None  # otherwise a 400 (reference, §7.4)


def _events_page(case: schemathesis.Case, response: Any) -> tuple[dict[str, str], list[Any], Any] | None:
    if _judged(case, "events_list") is None or response.status_code != 200:
        return None
    body = _json_or_none(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return None
    return _last_values(_query_pairs(case, response)), body["results"], body.get("next")


#: PostHog caps `limit` at 1000 (§7.1); older releases allowed up to 10 000 (§11), so on external
#: hosts the cap only bounds when `next` may be set, and the exact cap is judged on the reference.
EVENTS_LIMIT_CAP = 1000


@schemathesis.check
def events_page_respects_limit(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.1, §7.4: at most min(limit, 1000) results (external hosts: at most limit); `next` is null
    when fewer than min(limit, 1000) came back."""
    page = _events_page(case, response)
    run = _RUN
    if page is None or run is None:
        return
    query, results, next_link = page
    limit = _events_limit(query)
    if limit is None:
        return
    cap = min(limit, EVENTS_LIMIT_CAP)
    bound = cap if run.settings.embedded else limit
    if len(results) > bound:
        asked = query.get("limit", "(default 100)")
        raise AssertionError(
            f"{len(results)} events returned for limit={asked}; at most {bound} may come back "
            f"(limit, capped at {EVENTS_LIMIT_CAP}) (spec §7.1, §11)"
        )
    if next_link is not None and len(results) < cap:
        raise AssertionError(
            f"`next` is set although only {len(results)} < {cap} events came back: nothing more matched (spec §7.4)"
        )


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "+")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _ascending(query: Mapping[str, str]) -> bool:
    return query.get("orderBy", "").replace(" ", "") == '["timestamp"]'


@schemathesis.check
def events_next_continues_after_last_event(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.4: `next` sets `before` (newest first) or `after` (oldest first) to the last returned timestamp."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, next_link = page
    if not isinstance(next_link, str) or not results or not isinstance(results[-1], dict):
        return
    key = "after" if _ascending(query) else "before"
    linked = _last_values(parse_qsl(urlsplit(next_link).query))
    last = _instant(results[-1].get("timestamp"))
    bound = _instant(linked.get(key))
    if last is not None and bound != last:
        raise AssertionError(
            f"`next` has {key}={linked.get(key)!r}; it must be the last returned event's timestamp "
            f"{results[-1].get('timestamp')!r} (spec §7.4)"
        )


@schemathesis.check
def events_match_exact_filters(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.1: `event` and `distinct_id` filter by exact value."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, _ = page
    for name in ("event", "distinct_id"):
        wanted = query.get(name)
        if not wanted:
            continue
        wrong = [e.get(name) for e in results if isinstance(e, dict) and e.get(name) != wanted]
        if wrong:
            raise AssertionError(f"{len(wrong)} events do not match {name}={wanted!r} (e.g. {wrong[0]!r}) (spec §7.1)")


@schemathesis.check
def events_are_ordered_by_timestamp(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: newest first by default and with orderBy ["-timestamp"]; oldest first with ["timestamp"]."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, _ = page
    stamps = [_instant(e.get("timestamp")) for e in results if isinstance(e, dict)]
    if None in stamps or len(stamps) < 2:
        return
    ascending = _ascending(query)
    for earlier, later in zip(stamps, stamps[1:], strict=False):
        if (later < earlier) if ascending else (later > earlier):  # type: ignore[operator]
            order = "oldest first" if ascending else "newest first"
            raise AssertionError(
                f"Events are not {order}: {earlier.isoformat()} precedes {later.isoformat()} "  # type: ignore[union-attr]
                "(spec §7.3)"
            )


@schemathesis.check
def events_stay_within_after_and_before(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.1: `after`/`before` are exclusive bounds (checked for absolute timestamps with an offset)."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, _ = page
    after, before = _instant(query.get("after")), _instant(query.get("before"))
    for event in results:
        stamp = _instant(event.get("timestamp")) if isinstance(event, dict) else None
        if stamp is None:
            continue
        if after is not None and stamp <= after:
            raise AssertionError(
                f"Event at {event['timestamp']} is not after after={query['after']!r} (exclusive, spec §7.1)"
            )
        if before is not None and stamp >= before:
            raise AssertionError(
                f"Event at {event['timestamp']} is not before before={query['before']!r} (exclusive, spec §7.1)"
            )


@schemathesis.check
def events_person_only_when_requested(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3, §8: `person` is null unless include_person is true/1."""
    op_id = _judged(case, "events_list", "events_retrieve")
    if op_id is None or response.status_code != 200:
        return
    query = _last_values(_query_pairs(case, response))
    if query.get("include_person", "").strip().lower() in ("true", "1"):
        return
    body = _json_or_none(response)
    events = body.get("results") if op_id == "events_list" and isinstance(body, dict) else [body]
    for event in events or []:
        if isinstance(event, dict) and event.get("person") is not None:
            raise AssertionError("An event carries `person` although include_person was not requested (spec §7.3)")


@schemathesis.check
def events_format_decides_content_type(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: `format=csv` answers text/csv, `format=json` (the default) application/json."""
    if _judged(case, "events_list") is None or response.status_code != 200:
        return
    wanted = _last_values(_query_pairs(case, response)).get("format") or "json"
    media = _content_type(response).split(";")[0].strip()
    expected = {"csv": "text/csv", "json": "application/json"}.get(wanted)
    if expected is not None and media != expected:
        raise AssertionError(
            f"format={wanted} answered Content-Type {media or '(none)'}; expected {expected} (spec §7.3)"
        )


@schemathesis.check
def events_csv_has_the_event_columns(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: the CSV export's header names the id, event, distinct_id and timestamp columns."""
    if _judged(case, "events_list") is None or response.status_code != 200:
        return
    if not _content_type(response).startswith("text/csv"):
        return
    header = response.content.decode("utf-8", errors="replace").splitlines()[:1]
    columns = {c.strip().strip('"') for c in header[0].split(",")} if header else set()
    missing = {"id", "event", "distinct_id", "timestamp"} - columns
    if missing:
        raise AssertionError(f"The CSV header lacks {', '.join(sorted(missing))} (spec §7.3); header: {header[:1]}")


def _normal_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


@schemathesis.check
def retrieved_object_is_the_one_asked_for(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.4, §2.5, §5, §8: the object in a 200 is the one the path names (move_tile: the source)."""
    op_id = _judged(
        case,
        "dashboards_retrieve",
        "dashboards_partial_update",
        "dashboards_update",
        "dashboards_move_tile_partial_update",
        "dashboards_move_tile_create",
        "events_retrieve",
    )
    if op_id is None or response.status_code != 200:
        return
    body = _json_or_none(response)
    if not isinstance(body, dict) or "id" not in body:
        return
    asked = (case.path_parameters or {}).get("id")
    if op_id == "events_retrieve":
        if _normal_uuid(asked) and _normal_uuid(body["id"]) != _normal_uuid(asked):
            raise AssertionError(f"GET events/{asked}/ answered event {body['id']!r} (spec §8)")
    elif _as_int(asked) is not None and body["id"] != _as_int(asked):
        raise AssertionError(
            f"{case.method.upper()} on dashboard {asked} answered dashboard {body['id']!r} (spec §2.4, §5)"
        )


@schemathesis.check
def patch_returns_the_written_values(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.5, §3: a 200 PATCH shows the booleans and levels it wrote (pinned, deleted, restriction_level;
    sharing `enabled`)."""
    op_id = _judged(case, "dashboards_partial_update", "dashboards_update", "dashboards_sharing_partial_update")
    if op_id is None or response.status_code != 200 or not isinstance(case.body, dict):
        return
    body = _json_or_none(response)
    if not isinstance(body, dict):
        return
    fields = (
        ("enabled",) if op_id == "dashboards_sharing_partial_update" else ("pinned", "deleted", "restriction_level")
    )
    for name in fields:
        sent = case.body.get(name)
        valid = (
            isinstance(sent, bool) if name != "restriction_level" else sent in (21, 37) and not isinstance(sent, bool)
        )
        if name in case.body and valid and name in body and body[name] != sent:
            raise AssertionError(
                f"PATCH sent {name}={sent!r} and answered 200 showing {name}={body[name]!r} (spec §2.5, §3)"
            )


# --- failures the spec accepts -----------------------------------------------------------------------


#: §5, §6: PostHog documents these as 200 "No response body"; an empty 200 is a warning, not a failure.
_EMPTY_200_IS_A_WARNING = frozenset(
    {
        "dashboards_move_tile_partial_update",
        "dashboards_move_tile_create",
        "dashboards_create_from_template_json_create",
    }
)


def _any_value(value: Any) -> bool:
    return True


def _empty(value: Any) -> bool:
    return value == ""


#: Query parameters whose invalid values the spec says the host accepts (value ignored or no match).
_LENIENT_QUERY: Mapping[str, Mapping[str, Callable[[Any], bool]]] = {
    # §7.1: include_person is true only for true/1; an unknown person_id or action_id matches
    # nothing; an empty after/before is no bound (PostHog tests the value's truthiness)
    "events_list": {
        "include_person": _any_value,
        "person_id": _any_value,
        "action_id": _any_value,
        "after": _empty,
        "before": _empty,
    },
    "events_retrieve": {"include_person": _any_value},
    # §1.6: DRF LimitOffsetPagination reads an invalid limit as 100 and an invalid offset as 0
    "dashboards_list": {"limit": _any_value, "offset": _any_value},
    "projects_list": {"limit": _any_value, "offset": _any_value},
}


def _relaxed_template_body() -> dict[str, Any]:
    """The template body as PostHog itself validates it (§6): its dashboard_template_schema.json types
    tile items only as objects and leaves is_featured untyped; creation_context / _create_in_folder
    are read unvalidated."""
    schema = contract.load_schema("create-from-template-json-body")
    schema.pop("$id", None)
    template = schema["properties"]["template"]["properties"]
    template["tiles"]["items"] = {"type": "object"}
    template["is_featured"] = {}
    schema["properties"]["creation_context"] = {}
    schema["properties"]["_create_in_folder"] = {}
    return schema


#: Request bodies as the host validates them, where that is looser than the contract's schema.
_LENIENT_BODY: Mapping[str, Callable[[], dict[str, Any]]] = {
    "dashboards_create_from_template_json_create": _relaxed_template_body,
}


# --- issue 13: move_tile's destination key is release behaviour (§5, §11) ------------------------------
# Newest PostHog reads only `to_dashboard` (products/dashboards/backend/api/dashboard.py,
# MoveTileRequestSerializer: `to_dashboard = IntegerField(required=True)`), so a `toDashboard`-only
# body is a 400 `required` on `to_dashboard`; mid-era releases read only `toDashboard`. A schema-valid
# body refused with `required` on the spelling it did not carry is release behaviour, reported as a
# warning; the move itself is judged by tests/test_move_tile.py with the key the host reads.
_MOVE_TILE_OPS = ("dashboards_move_tile_partial_update", "dashboards_move_tile_create")
_DESTINATION_KEYS = ("to_dashboard", "toDashboard")


def _move_tile_key_not_read(op_id: str, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    if op_id not in _MOVE_TILE_OPS or type(failure).__name__ != "RejectedPositiveData":
        return False
    if response.status_code != 400 or not isinstance(case.body, dict):
        return False
    body = _json_or_none(response)
    attr = body.get("attr") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("code") != "required" or attr not in _DESTINATION_KEYS:
        return False
    if attr in case.body:
        return False  # the key was sent: a `required` on it is a real refusal
    LOG.warn(f"move_tile refused a body without `{attr}` (400 required): this release does not read"
             f" {' / '.join(k for k in _DESTINATION_KEYS if k != attr)!s} (spec §5, §11)")
    return True


@schemathesis.hook("filter_failure")
def _filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure except an empty 200 the spec makes a warning, and negative cases the spec
    says the host accepts.

    A negative case whose only schema violations are lenient query values (`_LENIENT_QUERY`), or
    whose body the host's own looser validation accepts (`_LENIENT_BODY`), is accepted data, not a
    bug; any other violation, and any violation in the path or headers, still has to be rejected.
    """
    if _RUN is None or not _is_ours(case.operation):
        return True
    op_id = _operation_id(case.operation)
    if _move_tile_key_not_read(op_id, failure, case, response):  # issue 13 (§5, §11)
        return False
    if type(failure).__name__ != "AcceptedNegativeData":
        if op_id in _EMPTY_200_IS_A_WARNING and response.status_code == 200 and not response.content.strip():
            LOG.warn(
                f"{case.method.upper()} {case.formatted_path} answered 200 with an empty body, as PostHog "
                f"documents ('No response body'); the suite expects the Dashboard (spec §5, §6)"
            )
            return False
        return True
    lenient_query = _LENIENT_QUERY.get(op_id, {})
    lenient_body = _LENIENT_BODY.get(op_id)
    if not lenient_query and lenient_body is None:
        return True
    if _is_negative(case, ParameterLocation.PATH) or _is_negative(case, ParameterLocation.HEADER):
        return True
    query = case.query or {}
    invalid_query = _invalid_query_parameters(case)
    if any(name not in lenient_query or not lenient_query[name](query.get(name)) for name in invalid_query):
        return True
    if _is_negative(case, ParameterLocation.BODY):
        relaxed = lenient_body() if lenient_body is not None else None
        return relaxed is None or not _valid(case.body, relaxed)
    return not invalid_query


def _valid(instance: Any, schema: dict[str, Any]) -> bool:
    validator = jsonschema.Draft202012Validator(schema, format_checker=contract.FORMAT_CHECKER)
    return not any(True for _ in validator.iter_errors(instance))


def _invalid_query_parameters(case: schemathesis.Case) -> set[str]:
    """Names of sent query parameters whose wire value the parameter's schema rejects.

    A parameter whose schema cannot be judged here (JSON ``content`` parameters) counts as
    invalid, so a failure involving it is always kept.
    """
    invalid: set[str] = set()
    definitions = {p["name"]: p for p in case.operation.definition.raw.get("parameters", []) if p.get("in") == "query"}
    for name, value in (case.query or {}).items():
        definition = definitions.get(name)
        if definition is None:
            continue  # an undocumented extra parameter: schemathesis itself does not count it
        schema = definition.get("schema")
        if isinstance(schema, dict) and "$ref" not in schema:
            valid = _wire_value_valid(value, schema)
        else:
            valid = _json_parameter_valid(value, definition)
        if not valid:
            invalid.add(name)
    return invalid


def _json_parameter_valid(value: Any, definition: Mapping[str, Any]) -> bool:
    """A JSON-encoded (``content``) parameter, e.g. events ``properties``, against its contract shape."""
    ref = next(iter((definition.get("content") or {}).values()), {}).get("schema", {}).get("$ref", "")
    shape = _SHAPES_BY_COMPONENT.get(ref.rsplit("/", 1)[-1])
    if shape is None:
        return False
    try:
        decoded = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return False
    return not contract.errors(decoded, shape)


_SHAPES_BY_COMPONENT = {contract.component_name(name): name for name in contract.schema_names()}


def _wire_value_valid(value: Any, schema: Mapping[str, Any]) -> bool:
    """Whether the value, as the host reads it from the query string, satisfies ``schema``."""
    if isinstance(value, list | dict) or value is None:
        return False
    text = value if isinstance(value, str) else json.dumps(value)
    kind = schema.get("type")
    decoded: Any = text
    if kind == "boolean":
        if text not in ("true", "false"):
            return False
        decoded = text == "true"
    elif kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            return False
        decoded = int(text)
    elif kind != "string":
        return False
    return not list(
        jsonschema.Draft202012Validator(dict(schema), format_checker=contract.FORMAT_CHECKER).iter_errors(decoded)
    )
