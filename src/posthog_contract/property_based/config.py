"""The schemathesis configuration of a run, built in code, and the run's data (pool, trash, absent ids, events)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import schemathesis

from .. import contract
from .. import operations as ops
from ..config import Settings
from ..redaction import Redactor
from ..resources import RunResources
from .cases import ENV_SUFFIX
from .profiles import PROFILES
from .run import GeneratedRun
from .session import http_session, use_policy_transport


def _operation_entry(operation_ids: Iterable[str], **settings: Any) -> dict[str, Any]:
    """One ``[[operations]]`` entry matching the given operation ids under both prefixes."""
    names = sorted({op for base in operation_ids for op in (base, base + ENV_SUFFIX)})
    return {"include-operation-id-regex": "^(" + "|".join(map(re.escape, names)) + ")$", **settings}


def build_config(run: GeneratedRun) -> dict[str, Any]:
    """The schemathesis configuration of a run, as the dict a ``schemathesis.toml`` would parse to.

    Built in code (not discovered from a file) so that a stray ``schemathesis.toml`` in the
    working directory cannot change what the suite checks.
    """
    settings, profile = run.settings, run.profile
    checks_off = {"enabled": False}
    chosen = "|".join(map(re.escape, sorted(contract.operation_ids(settings.operations))))
    operations: list[dict[str, Any]] = [
        # Environments twins reach the same handlers (§1.1): sampled less, or not at all (the
        # hand-written prefix checks compare the two) unless --contract-operation names one.
        {"include-operation-id-regex": f"{ENV_SUFFIX}$", "generation": {"max-examples": profile.twin_max_examples}}
        if profile.twin_max_examples
        else {"include-operation-id-regex": f"^(?!({chosen})$).*{ENV_SUFFIX}$" if chosen else f"{ENV_SUFFIX}$",
              "enabled": False},
        # the operations the profile samples more (parameter-rich; see profiles.Profile.focus)
        *(
            _operation_entry([op_id], generation={"max-examples": examples})
            for op_id, examples in sorted(profile.focus.items())
        ),
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
        # negative_data_rejection stays on everywhere, judged as PostHog reads each input (readings.judge,
        # issue 22): §1.1 "Unknown and read-only body keys are silently ignored", and DRF coerces scalars
        # (a number is a valid CharField, "true"/1 a valid BooleanField, "12" a valid IntegerField), so
        # write bodies are judged against their DRF reading (body_readings.BODY_READERS), not the
        # contract's schema. For the dashboard body (PostHog source: products/dashboards/backend/api/dashboard.py,
        # DashboardSerializer.create / update / _update_tiles) that reading is: `tiles` and
        # `duplicate_tiles` walked with `for ... in` on PATCH, so {} is no work (§2.5, §2.6); a tile item
        # with neither an id nor a truthy text is skipped (§2.6); `filters`/`variables` read only when
        # truthy, create never reads `variables`/`tiles`; CharFields take numbers, never booleans (§2.3).
    ]
    if settings.read_only:
        operations.append({"include-method-regex": "^(?!GET$)", "enabled": False})
    if chosen:
        # --contract-operation: every other operation is switched off in the configuration, the one
        # filter schemathesis' pytest integration keeps (it replaces a schema's include() filters
        # with the test's own); the document stays whole, so the undeclared-method probes of each
        # route are the same as in a full run
        operations.append({"include-operation-id-regex": f"^(?!({chosen})$)", "enabled": False})
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
            "coverage": {"enabled": profile.coverage},
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
    document = contract.openapi_document(baseline=settings.baseline)
    # Capture is authenticated by the project key in the body and its events cannot be deleted:
    # generated capture traffic would pollute the host for good. tests/test_capture.py covers it.
    document["paths"] = {path: item for path, item in document["paths"].items() if not _is_capture(item)}
    config = schemathesis.Config.from_dict(build_config(run))
    # the hooks and checks find the run through the schema they are given (and its clones)
    schema = use_policy_transport(schemathesis.openapi.from_dict(document, config=config), run)
    if run.session is None:
        run.session = http_session(settings, redactor=run.redactor, ledger=run.ledger, log=run.log)
    run.schema = schema
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
        response = resources.create_dashboard(label, client=client, paths=paths)  # registered for cleanup
        body = body_of(response) if 200 <= response.status_code < 300 else None
        return body["id"] if isinstance(body, dict) and type(body.get("id")) is int else None

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


def generated_operations(*, reads: bool) -> tuple[str, ...]:
    """The catalogue operations the generated cases reach (``reads``: the GETs, else the writes); never
    capture, whose events cannot be deleted (`load_schema` leaves it out)."""
    return tuple(
        op.operation_id
        for op in ops.OPERATIONS
        if "capture" not in op.tags and (op.method == "GET") == reads
    )


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
