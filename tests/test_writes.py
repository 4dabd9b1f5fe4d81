"""Every write of the catalogue, judged on every field it stores and every refusal it owes (contract §1.3-§1.5, §2-§5).

Nothing here lists an operation or a field: the parameters come from the operation catalogue
(`posthog_contract.operations`: method, path, scope, ``read_back``, ``effect``) and the request schemas
(``x-contract-write`` beside each field, read by `posthog_contract.writes`), so a new writable field
or write operation gets its checks without anyone adding one. Per write operation:

- one write carrying every stored field (a value that differs from the current one and from the
  host's default) and every read-only field (a value no host produces), then one read-back: each
  field is its own test item (``[dashboards_partial_update-filters]``), stored ones read back equal,
  ignored and read-only ones never shown; a release-, plan- or host-data-dependent field is
  *unavailable* with the reason and the setting;
- the refusals: without a key (401), with a read-only key (403, scope checked before any lookup),
  in a project of another organisation (403);
- for writes whose body names only what to act on (or that have none): the whole state they touch,
  before and after, against the catalogue's ``effect``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from posthog_contract import operations as ops
from posthog_contract import state, writes
from posthog_contract.assertions import expect_empty, expect_error, expect_shape, expect_that, fail
from posthog_contract.pagination import walk_dashboards
from posthog_contract.wire import refuses_personal_keys

LOWEST_LEVEL = "cannot add collaborators to a dashboard on the lowest restriction level"

#: contract §2.3 (create defaults) and §3 (an unsaved sharing configuration): the state before a write
#: that makes a new object, so a stored value is shown to differ from what the host would default to
DEFAULTS: dict[str, dict[str, Any]] = {
    "dashboards_create": {"description": "", "pinned": False, "deleted": False, "is_shared": False, "tags": [],
                          "creation_mode": "default", "restriction_level": 21, "filters": {}, "tiles": [],
                          "last_accessed_at": None, "last_refresh": None},
    "dashboards_sharing_partial_update": {"enabled": False, "settings": None, "password_required": False},
}


def _param(op: ops.Operation, *rest: Any, test_id: str, writes_: bool = True) -> Any:
    marks = [pytest.mark.operations(op.operation_id)]
    if writes_:
        marks.append(pytest.mark.writes)
    return pytest.param(op, *rest, id=test_id, marks=marks)


FIELD_CASES = [
    _param(op, fact, test_id=fact.test_id)
    for op in writes.write_operations()
    for fact in writes.stored_and_ignored(op)
]


# --- one write per operation, shared by its field items ------------------------------------------------------


@dataclass
class Written:
    """A write carrying every judged field of one operation, its answer and its read-back."""

    op: ops.Operation
    before: dict[str, Any]
    body: dict[str, Any]
    answer: httpx.Response
    shown: dict[str, Any]
    read: httpx.Response | None = None
    stored: Any = None
    target: dict[str, Any] = field(default_factory=dict)  # path parameters of the write
    listed: dict[str, Any] | None = None  # the object's row in the dashboards list, once read
    alone: dict[str, tuple[Any, httpx.Response, Any]] = field(default_factory=dict)


@pytest.fixture(scope="module")
def written_cache() -> dict[str, Any]:
    return {}


@pytest.fixture
def placeholders(resources, run_id, settings) -> dict[str, Any]:
    """The run's values for x-contract-write placeholders; the host's own objects come from settings
    (POSTHOG_DATA_COLOR_THEME_ID, POSTHOG_QUICK_FILTER_ID; the reference hands its own over)."""
    return {"$name": resources.name("depth fields"), "$text": f"posthog-contract {run_id} tile read back",
            "$data_color_theme": settings.data_color_theme_id, "$quick_filter": settings.quick_filter_id}


def _collaborator(request) -> str:
    return request.getfixturevalue("collaborator_uuid")


def _located(op: ops.Operation, response: httpx.Response, user_uuid: str | None) -> Any:
    """The object a read-back answer shows for this write (the collaborator's row of the list)."""
    read_op = ops.by_id(op.read_back or "")
    body = expect_shape(response, read_op.success_status, read_op.success_shape or "",
                        rule=f"{read_op.method} {read_op.path} reads back what {op.operation_id} wrote")
    if read_op.operation_id != "dashboards_collaborators_list":
        return body
    rows = [row for row in body if row.get("user", {}).get("uuid") == user_uuid]
    if len(rows) != 1:
        raise fail(f"the collaborator {op.operation_id} added is listed once (§4.1)", response,
                   f"{len(rows)} rows for user {user_uuid}")
    return rows[0]


def _send(client, op: ops.Operation, path: str, body: Any) -> httpx.Response:
    return client.request(op.method, path, json=body) if body is not None else client.request(op.method, path)


def _unavailable_answers(op: ops.Operation, response: httpx.Response, client, outcomes) -> None:
    """The answers that make a write unjudgeable on this host, each named with what enables it."""
    if op.scopeless_on and refuses_personal_keys(response.status_code, response.text):
        outcomes.unavailable(f"{op.operation_id} refuses personal API keys on {op.scopeless_on}; nothing the suite"
                             " can set enables it", client.describe(response))
    if op.operation_id.startswith("dashboards_collaborators") and response.status_code == 400 \
            and LOWEST_LEVEL in response.text.lower():
        outcomes.unavailable("organisation lacks PostHog's access-control feature: adding a collaborator answers"
                             " rule 4 (§4.2); run against an organisation with the feature", client.describe(response))
    if op.operation_id.startswith("dashboards_collaborators") and response.status_code == 404:
        outcomes.unavailable("collaborators route absent on this host (EE-only, §4.2); nothing to enable on the"
                             " suite's side", client.describe(response))


def _write(request, op: ops.Operation, client, paths, resources, new_dashboard, outcomes,
           placeholders: dict[str, Any]) -> Written:
    """Send ``op`` once with every stored and read-only field, then read the object back."""
    facts = writes.stored_and_ignored(op)
    user = _collaborator(request) if any(f.value == "$collaborator" for f in facts) else None
    names = {**placeholders, "$name": resources.name(f"depth {op.operation_id}"), "$collaborator": user}
    target: dict[str, Any] = {}
    before: dict[str, Any] = dict(DEFAULTS.get(op.operation_id, {}))
    if "id" in op.path_params or "dashboard_id" in op.path_params:
        setup = {"restriction_level": 37} if op.operation_id == "dashboards_collaborators_create" else {}
        created = new_dashboard(f"depth {op.operation_id} before", **setup)
        target = {"id": created["id"], "dashboard_id": created["id"]}
        if op.read_back == "dashboards_retrieve":
            before = created
    body: dict[str, Any] = {}
    for fact in facts:
        if not writes.supplied(fact, names) or fact.alone:
            continue
        current = writes.read_path(before, fact.read_as[0]) if fact.read_as[0] in before else None
        writes.put_path(body, fact.path, writes.sent_value(fact, names, current))
    if op.operation_id.startswith("dashboards_sharing"):
        resources.track_sharing(target["dashboard_id"])
    path = writes.path_for(op, paths.project_id, paths.prefix, **target)
    answer = _send(client, op, path, body)
    _track_wrongly_created(op, answer, resources)  # here rightly: a create's dashboard is the run's at once
    if answer.status_code == 201 and op.operation_id == "dashboards_collaborators_create":
        resources.track_collaborator(target["dashboard_id"], user)
    _unavailable_answers(op, answer, client, outcomes)
    if op.scopeless_on and answer.status_code == 200 and not answer.content.strip():
        # PostHog documents "No response body" here (§6, §10): a warning; the dashboard is found by name
        outcomes.warn(f"{op.operation_id} answered 200 with an empty body (documented 'No response body')")
        shown = _found_by_name(client, paths, resources, names["$name"], answer)
    else:
        shown = expect_shape(answer, op.success_status, op.success_shape or "",
                             rule=f"{op.method} {op.path} with every writable field answers {op.success_status}")
    if not target:
        target = {"id": shown["id"], "dashboard_id": shown["id"]}
    done = Written(op, before, body, answer, shown, target=target)
    if any(f.read_via == "dashboards_list" for f in facts):
        _listed_row(done, client, paths, shown)  # before the read-back: a retrieve sets last_accessed_at (§2.1)
    _read_back(done, client, paths, user)
    for fact in facts:
        if fact.alone and fact.fate == "stored":
            alone_body: dict[str, Any] = {}
            writes.put_path(alone_body, fact.path, writes.sent_value(fact, names))
            response = _send(client, op, path, alone_body)
            stored = None
            if response.status_code == op.success_status:
                stored = _located(op, client.get(_read_path(op, paths, done.target)), user)
            done.alone[fact.name] = (alone_body, response, stored)
    return done


def _found_by_name(client, paths, resources, name: str, response: httpx.Response) -> dict[str, Any]:
    """§6: after an empty 200 the dashboard is looked up in the list by its run-tagged name."""
    listed = walk_dashboards(client, paths.dashboards(), limit=100).items
    matches = [item for item in listed if item.get("name") == name]
    if not matches:
        raise fail("a 200 without a body still creates the dashboard: it is listed under its name (§6)", response,
                   f"no dashboard named {name!r}")
    resources.track_dashboard(matches[0]["id"])
    return expect_shape(client.get(paths.dashboard(matches[0]["id"])), 200, "dashboard")


def _read_path(op: ops.Operation, paths, target: dict[str, Any]) -> str:
    return writes.path_for(ops.by_id(op.read_back or ""), paths.project_id, paths.prefix, **target)


def _read_back(done: Written, client, paths, user: str | None) -> None:
    done.read = client.get(_read_path(done.op, paths, done.target))
    done.stored = _located(done.op, done.read, user)


def written_for(request, op: ops.Operation) -> Written:
    """The operation's one write, sent by the first of its field items (the others judge it too)."""
    cache = request.getfixturevalue("written_cache")
    if op.operation_id not in cache:
        try:
            cache[op.operation_id] = _write(request, op, *(request.getfixturevalue(name) for name in (
                "client", "paths", "resources", "new_dashboard", "outcomes", "placeholders")))
        except BaseException as exc:  # every field item of the operation reports the same answer
            cache[op.operation_id] = (exc, request.node.nodeid)
            raise
    found = cache[op.operation_id]
    if isinstance(found, tuple):
        exc, first = found
        if isinstance(exc, AssertionError):  # the host failed the shared write: this field was not stored
            headline = str(exc).splitlines()[0].removeprefix("Contract rule broken: ")
            raise fail(f"{op.operation_id}'s write of every field failed, so no field of it is stored (§2.5)",
                       None, f"first failure in {first}: {headline}")
        raise exc  # unavailable or a tool error: the same for every field
    return found


def _listed_row(done: Written, client, paths, shown: dict[str, Any] | None = None) -> dict[str, Any]:
    """The object's row in the dashboards list: found by searching its name, else by walking."""
    if done.listed is None:
        obj = shown or done.stored
        wanted = obj["id"]
        response = client.get(paths.dashboards(), params={"search": obj.get("name") or "", "limit": "20"})
        rows = [r for r in expect_shape(response, 200, "dashboard-list-page")["results"] if r.get("id") == wanted]
        if not rows:
            rows = [r for r in walk_dashboards(client, paths.dashboards(), limit=200, max_pages=100).items
                    if r.get("id") == wanted]
        expect_that(len(rows) == 1, "a live dashboard is listed (§2.2)", response, f"dashboard {wanted} not listed")
        done.listed = rows[0]
    return done.listed


def tagging_unavailable(client, outcomes, response) -> None:
    """`tags: []` after a tag write is PostHog without the paid tagging feature (§2.1: writes silently
    ignored, posthog/api/tagged_item.py) unless the organisation lists `tagging` among its
    `available_product_features` (PostHog: OrganizationSerializer); then the write was lost: fail."""
    org = client.get("/api/organizations/@current/")
    body = org.json() if org.status_code == 200 and "json" in org.headers.get("content-type", "") else {}
    features = body.get("available_product_features") if isinstance(body, dict) else None
    if isinstance(features, list):
        keys = {f.get("key") if isinstance(f, dict) else f for f in features}
        expect_that("tagging" not in keys, "tags written on an organisation with the tagging feature are stored (§2.1)",
                    response, "the organisation lists `tagging` among its available_product_features")
        outcomes.unavailable("tagging is a paid feature this organisation lacks (`tags` reads [] after a tag write,"
                             " `tagging` not among its available_product_features); a plan with tagging enables it")
    outcomes.unavailable("tagging is a paid feature this organisation seems to lack (`tags` reads [] after a tag"
                         f" write; GET /api/organizations/@current/ answered {org.status_code} without"
                         " available_product_features): give the key organization:read to tell a lost write apart")


def _before_the_baseline(fact: writes.FieldFact, read_as: str, obj: Any, baseline: str | None) -> str | None:
    """Why ``read_as`` cannot be read on this host: a field PostHog added after the release the host is
    judged as (``baseline``: x-posthog-added, contract §11) and that it does not return; None when it can."""
    added = fact.added.get(read_as)
    if baseline and added and added > baseline and read_as.split(".")[0] not in (obj or {}):
        return (f"`{read_as}` arrived in PostHog {added} (x-posthog-added) and the host is judged as release"
                f" {baseline}: judge it as a later release (--posthog-baseline)")
    return None


@pytest.mark.check("persistence", "shape")
@pytest.mark.parametrize(("op", "fact"), FIELD_CASES)
def test_write_stores_each_field_and_ignores_the_rest(request, client, paths, outcomes, placeholders, op, fact):
    """Each writable field the contract says is stored is answered and read back as sent; each field
    it says is ignored or read-only is never shown, in the answer or the read-back. A field only the
    host's own objects can fill is stored once a setting names one."""
    if not writes.supplied(fact, placeholders):
        outcomes.unavailable(f"`{fact.name}` of {op.operation_id} cannot be judged without one of the host's objects:"
                             f" {fact.why}; set {writes.setting_hint(fact)} to enable it")
    done = written_for(request, op)
    if fact.alone:
        alone_body, response, stored = done.alone[fact.name]
        if fact.feature == "advanced-permissions" and response.status_code == 403 and "password" in response.text:
            outcomes.unavailable(f"the organisation lacks PostHog's Advanced Permissions feature, so {op.operation_id}"
                                 f" refuses `{fact.name}` with 403 {{error}} (§1.2, §3); run against an organisation"
                                 " with it", client.describe(response))
        shown = expect_shape(response, op.success_status, op.success_shape or "",
                             rule=f"{op.method} {op.path} with `{fact.name}` answers {op.success_status}")
        sent, reread = writes.read_path(alone_body, fact.name), response
    else:
        shown, stored, reread = done.shown, done.stored, done.read
        sent = writes.read_path(done.body, fact.name)
    where = "written alone" if fact.alone else "written with every other field"
    judged = []
    for read_as in fact.read_as:
        source, label = (stored, "read back")
        if fact.read_via == "dashboards_list":
            source, label = _listed_row(done, client, paths), "listed"
        if _before_the_baseline(fact, read_as, source, client.baseline):
            continue
        judged.append(read_as)
        try:
            answered, kept = writes.read_path(shown, read_as), writes.read_path(source, read_as)
        except KeyError:
            if fact.fate == "ignored":
                continue  # not shown at all: ignored
            raise fail(f"{op.operation_id} answers and stores `{read_as}` (§2.1)", reread,
                       f"`{read_as}` is missing from the answer or the object {label}") from None
        if fact.fate == "ignored":
            for what, value, response in (("answer", answered, done.answer), (label, kept, reread)):
                expect_that(not writes.shows(fact, sent, value),
                            f"{op.operation_id} ignores `{fact.name}`: the {what} never shows the value sent ({where}):"
                            f" {fact.why}", response, f"sent {sent!r}, shown {value!r}")
            continue
        current = done.before.get(read_as) if read_as in done.before else None
        if read_as in done.before and writes.same(fact, sent, current):
            raise RuntimeError(f"the suite's value for {fact.test_id} equals the current one ({current!r}):"
                               " fix x-contract-write in its schema")  # a tool error, not a finding
        if fact.feature == "tagging" and kept == [] and answered == []:
            tagging_unavailable(client, outcomes, reread)
        expect_that(writes.same(fact, sent, answered),
                    f"{op.operation_id} answers the `{fact.name}` it was sent as `{read_as}` ({where})",
                    done.answer if not fact.alone else reread, f"sent {sent!r}, answered {answered!r}")
        expect_that(writes.same(fact, sent, kept),
                    f"{op.operation_id} stores `{fact.name}`: {label} as `{read_as}` ({where}, §2.5)"
                    + (f" ({fact.why})" if fact.why else ""), reread, f"sent {sent!r}, {label} {kept!r}")
    if not judged:
        outcomes.unavailable(_before_the_baseline(fact, fact.read_as[0], {}, client.baseline) or "",
                             client.describe(reread))


# --- refusals: no key, a read-only key, another organisation's project -----------------------------------------


def _auth_placeholders(resources) -> dict[str, Any]:
    return {"$name": resources.name("forbidden"), "$text": "forbidden", "$collaborator": writes.ABSENT_UUID,
            "$tile": writes.ABSENT_ID, "$destination": writes.ABSENT_ID}


def _track_wrongly_created(op: ops.Operation, response: httpx.Response, resources) -> None:
    """A dashboard a create answered for is registered for cleanup at once (the run's own, or one a host
    wrongly made on a refused request: run-tagged, so the final sweep finds it too)."""
    if response.status_code in (200, 201) and response.content.strip() and op.path.startswith("/dashboards/") \
            and "{" not in op.path and "json" in response.headers.get("content-type", ""):
        created = response.json()
        if isinstance(created, dict) and isinstance(created.get("id"), int):
            resources.track_dashboard(created["id"])


def _undo_foreign_create(client, op: ops.Operation, response: httpx.Response, project_id: str, prefix: str) -> None:
    """A host that wrongly creates a dashboard in another organisation's project: soft-delete it there at
    once (cleanup only walks the run's own project), before the check fails."""
    if response.status_code in (200, 201) and response.content.strip() and op.path.startswith("/dashboards/") \
            and "{" not in op.path:
        created = response.json()
        if isinstance(created, dict) and isinstance(created.get("id"), int):
            update = ops.by_id("dashboards_partial_update")
            client.patch(writes.path_for(update, project_id, prefix, id=created["id"]), json={"deleted": True})


@pytest.mark.check("auth")
@pytest.mark.parametrize("op", [_param(op, test_id=op.operation_id, writes_=op.method != "GET")
                                for op in writes.keyed_operations()])
def test_every_operation_refuses_a_request_without_a_key(anonymous_client, paths, resources, settings, outcomes, op):
    if settings.read_only and op.method != "GET":
        outcomes.unavailable("read-only mode sends no write, even unauthenticated: run without --read-only")
    path = writes.path_for(op, paths.project_id, paths.prefix)
    response = _send(anonymous_client, op, path, writes.example_body(op, _auth_placeholders(resources)))
    _track_wrongly_created(op, response, resources)
    expect_error(response, 401, code="not_authenticated", type_="authentication_error",
                 detail="Authentication credentials were not provided.",
                 rule=f"{op.method} {op.path} without credentials is 401 not_authenticated, whatever the body (§1.3)")


@pytest.mark.check("auth")
@pytest.mark.parametrize("op", [_param(op, test_id=op.operation_id) for op in writes.write_operations()])
def test_every_write_refuses_a_read_only_key(readonly_client, paths, resources, op):
    """The scope is checked before any lookup (§1.5), so the made-up ids never matter: a host that
    lets the write through answers something else than 403 and nothing of the run is touched."""
    path = writes.path_for(op, paths.project_id, paths.prefix)
    response = _send(readonly_client, op, path, writes.example_body(op, _auth_placeholders(resources)))
    _track_wrongly_created(op, response, resources)
    if op.scopeless_on and refuses_personal_keys(response.status_code, response.text):
        return  # PostHog refuses every personal key here (§1.4): a refusal all the same
    expect_error(response, 403, code="permission_denied", detail_contains="missing required scope",
                 rule=f"{op.method} {op.path} with a read-only key is 403 missing scope '{op.scope}' (§1.4)")
    expect_that(str(op.scope) in response.json()["detail"], f"the 403 names the scope {op.operation_id} needs (§1.4)",
                response)


@pytest.mark.check("auth")
@pytest.mark.parametrize("op", [_param(op, test_id=op.operation_id) for op in writes.write_operations()
                                if op.prefixed])
def test_every_write_to_another_organisations_project_is_403(client, resources, settings, outcomes, paths, op):
    if not settings.other_project_id:
        outcomes.unavailable("no project of another organisation is configured: set POSTHOG_OTHER_PROJECT_ID to one"
                             " the key owner is not a member of")
    path = writes.path_for(op, settings.other_project_id, paths.prefix)
    response = _send(client, op, path, writes.example_body(op, _auth_placeholders(resources)))
    _undo_foreign_create(client, op, response, settings.other_project_id, paths.prefix)
    if op.scopeless_on and refuses_personal_keys(response.status_code, response.text):
        return  # the scope check comes before membership (§1.5) and refuses personal keys here (§1.4)
    if response.status_code == 404:
        raise fail(f"{op.method} {op.path} in a project of another organisation is refused with 403, not 404 (§1.5)",
                   response, "membership is checked before any object lookup, for writes as for reads")
    expect_error(response, 403, code="permission_denied",
                 rule=f"{op.method} {op.path} in a project of another organisation is 403 permission_denied (§1.5)")


# --- whole-state effects of the writes whose body names only what to act on ------------------------------------

EFFECT_CASES = [_param(op, test_id=op.operation_id) for op in writes.write_operations() if op.effect is not None]


@dataclass
class World:
    """Two dashboards with realistic content: tiles, filters, sharing with settings, collaborators."""

    source: int
    destination: int
    tiles: dict[str, int]  # operation id -> the source tile it moves
    collaborators: bool  # whether the member could be added (PostHog's access-control feature)


@pytest.fixture(scope="module")
def world_cache() -> dict[str, Any]:
    return {}


def _text_tiles(bodies: list[str]) -> list[dict[str, Any]]:
    return [{"text": {"body": body}, "color": ("blue", "green", None)[i % 3],
             "layouts": {"sm": {"x": 6 * (i % 2), "y": 5 * (i // 2), "w": 6, "h": 5}}} for i, body in enumerate(bodies)]


def _world(request, client, paths, resources, new_dashboard, run_id) -> World:
    cache = request.getfixturevalue("world_cache")
    if "world" in cache:
        return cache["world"]
    movers = [op.operation_id for op in writes.write_operations() if op.effect and any("tiles" in k for k in op.effect)]
    rich = {"pinned": True, "filters": {"date_from": "-7d"}, "restriction_level": 37, "tags": ["posthog-contract"]}
    source, destination = new_dashboard("depth world source", **rich), new_dashboard("depth world destination", **rich)
    bodies = {op_id: f"posthog-contract {run_id} tile moved by {op_id}" for op_id in movers}
    made: dict[int, list[dict[str, Any]]] = {}
    for dashboard, texts in ((source, [*bodies.values(), f"posthog-contract {run_id} tile that stays"]),
                             (destination, [f"posthog-contract {run_id} tile already there"])):
        answer = client.patch(paths.dashboard(dashboard["id"]), json={"tiles": _text_tiles(texts)})
        made[dashboard["id"]] = expect_shape(answer, 200, "dashboard",
                                             rule="PATCH with text tile payloads creates the tiles (§2.6)")["tiles"]
    by_text = {(t.get("text") or {}).get("body"): t["id"] for t in made[source["id"]]}
    missing = [body for body in bodies.values() if body not in by_text]
    expect_that(not missing, "a text tile payload without id creates one text tile each (§2.6)", None,
                f"no tile for {missing}")
    tiles = {op_id: by_text[body] for op_id, body in bodies.items()}
    resources.track_sharing(source["id"])
    enabled = client.patch(paths.sharing(source["id"]), json={"enabled": True, "settings": {"whitelabel": True}})
    expect_shape(enabled, 200, "sharing-configuration", rule="PATCH sharing enables it with settings (§3)")
    collaborators = False
    try:
        member = request.getfixturevalue("collaborator_uuid")
    except pytest.skip.Exception:
        member = None
    if member:
        for dashboard in (source, destination):
            added = client.post(paths.collaborators(dashboard["id"]), json={"user_uuid": member, "level": 37})
            if added.status_code == 201:
                resources.track_collaborator(dashboard["id"], member)
                collaborators = True
    cache["world"] = World(source["id"], destination["id"], tiles, collaborators)
    return cache["world"]


def _read_state(
    client, paths, world: World, parts: tuple[str, ...], known: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The parts of the world's state, read (those ``known`` from the last check are taken as they are)."""
    readers = {
        "dashboard": (paths.dashboard(world.source), "dashboard"),
        "destination": (paths.dashboard(world.destination), "dashboard"),
        "sharing": (paths.sharing(world.source), "sharing-configuration"),
        "collaborators": (paths.collaborators(world.source), "collaborator-list"),
        "destination_collaborators": (paths.collaborators(world.destination), "collaborator-list"),
    }
    read = {}
    for part in parts:
        if known and part in known:
            continue
        url, shape = readers[part]
        read[part] = expect_shape(client.get(url), 200, shape, rule=f"the {part} can be read (whole-state check)")
    return {**{p: v for p, v in (known or {}).items() if p in parts}, **state.snapshot(read)}


def _move_resent(client, op: ops.Operation, path: str, body: dict[str, Any], outcomes) -> httpx.Response:
    """A release that reads only the other destination spelling (400 `required` naming it) gets it (§5, §11)."""
    response = _send(client, op, path, body)
    try:
        refused = response.json() if response.status_code == 400 else {}
    except ValueError:
        refused = {}
    if isinstance(refused, dict) and refused.get("code") == "required" and refused.get("attr") == "toDashboard":
        outcomes.warn("move_tile reads only `toDashboard` on this release (400 required otherwise, §5, §11)")
        resent = {"tile": body["tile"], "toDashboard": body["to_dashboard"]}
        response = _send(client, op, path, resent)
    return response


@pytest.mark.check("persistence", "status")
@pytest.mark.parametrize("op", EFFECT_CASES)
def test_write_changes_only_what_the_contract_says(request, client, paths, resources, new_dashboard, outcomes,
                                                   run_id, op):
    """The whole state the write touches (both dashboards field by field and tile by tile, the sharing
    configuration, the collaborators of both) before and after: changed exactly where the catalogue's
    ``effect`` says, as it was everywhere else."""
    world = _world(request, client, paths, resources, new_dashboard, run_id)
    # the state the previous effect check read last (the world is private to these checks, so nothing
    # else wrote to it since); dropped now, kept again only once this check has read its own after
    known = request.getfixturevalue("world_cache").pop("state", {})
    user = request.getfixturevalue("collaborator_uuid") if "collaborators" in op.path else None
    if user is not None and not world.collaborators:
        outcomes.unavailable("the member could not be added as a collaborator (PostHog's access-control feature or"
                             " the EE-only route, §4.2); run against an organisation with the feature")
    names = {"tile": world.tiles.get(op.operation_id), "user": user}
    parts = ("dashboard", "destination", "sharing")
    if any(key.startswith("collaborators") for key in op.effect or {}):
        parts += ("collaborators", "destination_collaborators")
        listed = known.get("collaborators")
        if listed is None:
            listed = state.normalise("collaborators", client.get(paths.collaborators(world.source)).json())
        member_is_listed = user in listed
        known.pop("collaborators", None)  # read again below: the step just before may change it
        if (op.effect or {}).get("collaborators[user]") == "removed" and not member_is_listed:
            added = client.post(paths.collaborators(world.source), json={"user_uuid": user, "level": 37})
            expect_shape(added, 201, "collaborator", rule="the member can be added back before the removal (§4.1)")
            resources.track_collaborator(world.source, user)
        if (op.effect or {}).get("collaborators[user]") == "added" and member_is_listed:
            client.delete(paths.collaborator(world.source, user))
    before = _read_state(client, paths, world, parts, known)
    placeholders = {"$collaborator": user, "$tile": names["tile"], "$destination": world.destination}
    body = writes.example_body(op, {**placeholders, "$name": resources.name("effect"), "$text": "effect"})
    if body is not None and "tile" in body:
        body = {"tile": {"id": names["tile"]}, "to_dashboard": world.destination}
    path = writes.path_for(op, paths.project_id, paths.prefix, id=world.source, dashboard_id=world.source,
                           **({"user_uuid": user} if user else {}))
    response = _move_resent(client, op, path, body, outcomes) if body and "tile" in body else \
        _send(client, op, path, body)
    if response.status_code == 201 and user:
        resources.track_collaborator(world.source, user)
    _unavailable_answers(op, response, client, outcomes)
    if op.success_shape is None:
        expect_empty(response, op.success_status, rule=f"{op.method} {op.path} answers {op.success_status}, empty")
    elif not (op.operation_id.startswith("dashboards_move_tile") and response.status_code == 200
              and not response.content.strip()):  # PostHog documents 'No response body' (§5): judged by the state
        expect_shape(response, op.success_status, op.success_shape,
                     rule=f"{op.method} {op.path} answers {op.success_status} with a {op.success_shape}")
    after = _read_state(client, paths, world, parts)
    expected, missed = state.expected_after(before, after, op.effect or {}, names)
    expect_that(not missed, f"{op.operation_id} does what the contract says it does ({op.summary})", response,
                "\n".join(missed))
    wrong = state.differences(expected, after)
    expect_that(not wrong, f"{op.operation_id} changes nothing else in the dashboards, tiles, sharing and"
                f" collaborators it touches", response, "\n".join(wrong[:20]))
    if user and (op.effect or {}).get("collaborators[user]") == "added":
        row = after["collaborators"][user]
        expect_that(row["dashboard_id"] == world.source and row["level"] == 37 and row["user"]["uuid"] == user,
                    "the added collaborator's row names its dashboard, its level 37 and the user (§4.1)", response,
                    f"row {row!r}")
    request.getfixturevalue("world_cache")["state"] = after
