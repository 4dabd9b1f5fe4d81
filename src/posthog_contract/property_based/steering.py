"""Steering hooks: every generated id points at the run's data, every write at the run's own dashboards.

Path and body steering is idempotent: ``map_case`` shapes the data, ``before_call`` repeats the
safety part as the last word before anything is sent; ``after_call`` registers what the host created.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from ..wire import instant_or_none
from .cases import WRITE_METHODS, as_int, is_negative, is_ours, is_positive, operation_id, pick, stable_hash, steer_id
from .run import GeneratedRun, run_of

# --- steering: path parameters ------------------------------------------------------------------------


def _steer_path(run: GeneratedRun, case: schemathesis.Case) -> None:
    params = case.path_parameters
    if not params:
        return
    write = case.method.upper() in WRITE_METHODS
    targets = run.write_targets() if write else run.read_targets()
    for name in ("id", "dashboard_id"):
        if name in params and "/dashboards/" in case.path:
            if write and not targets and as_int(params[name]) is not None:
                raise RuntimeError(
                    f"posthog-contract refuses to send {case.method.upper()} {case.path} with {name}="
                    f"{params[name]!r}: the run created no dashboard to write to"
                )
            params[name] = steer_id(params[name], targets)
    if "user_uuid" in params and run.collaborator_uuid and not is_negative(case, ParameterLocation.PATH):
        params["user_uuid"] = pick((run.collaborator_uuid, params["user_uuid"]), params["user_uuid"])
    if "/events/{id}" in case.path and "id" in params and run.event_ids:
        value = params["id"]
        if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F-]{32,36}", value):
            chosen = pick((*run.event_ids, value), value)
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
    if operator in _DATE_OPERATORS and (not isinstance(value, str) or instant_or_none(value) is None):
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
    if not isinstance(query, dict) or not is_positive(case):
        return
    roll = stable_hash(query)
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
            query["event"] = pick(run.event_names, query["event"])
        if run.distinct_ids and "distinct_id" in query and (roll >> 3) % 2 == 0:
            query["distinct_id"] = pick(run.distinct_ids, query["distinct_id"])
        limit = as_int(query.get("limit"))
        if limit is not None and limit > 50 and (roll >> 5) % 4 != 0:
            query["limit"] = limit % 9 + 1  # small pages exercise `next`
    elif op_id in ("dashboards_list", "projects_list"):
        offset = as_int(query.get("offset"))
        if offset is not None and offset > 20:
            query["offset"] = offset % 5
        limit = as_int(query.get("limit"))
        if limit is not None and limit > 20 and roll % 2 == 0:
            query["limit"] = limit % 4 + 1


# --- steering: bodies --------------------------------------------------------------------------------------


def _run_name(run: GeneratedRun, value: Any) -> str:
    label = f"generated {stable_hash(value) % 100000:05d}"
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
    positive = not is_negative(case, ParameterLocation.BODY)
    body.pop("_create_in_folder", None)  # would create an untracked file-system folder on the host
    if op_id == "dashboards_create" or "name" in body:
        _tag_name(run, body, "name", positive=positive)
    if "use_dashboard" in body:
        body["use_dashboard"] = steer_id(body["use_dashboard"], run.pool or run.read_targets())
    if positive:
        if body.get("use_template") not in (None, "", "DEFAULT_APP"):
            body["use_template"] = pick(("", "DEFAULT_APP"), body["use_template"])
        if body.get("use_template") and "use_dashboard" in body:
            del body["use_dashboard"]
        if body.get("data_color_theme_id") is not None:
            body["data_color_theme_id"] = None  # a random id names no theme: a business-rule 400
        if body.get("quick_filter_ids"):
            # random UUIDs name no quick filter of the project: 400 "Quick filters not found: ..." (PostHog:
            # DashboardSerializer.validate_quick_filter_ids), and personal keys cannot list the real ones
            body["quick_filter_ids"] = []
    target = as_int(case.path_parameters.get("id")) if case.path_parameters else None
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
    target = as_int(case.path_parameters.get("id")) if case.path_parameters else None
    known = run.tile_ids(target)
    kept = []
    for item in tiles:
        if isinstance(item, dict) and "id" in item:
            number = as_int(item["id"])
            if number is not None and number not in known:
                if not known:
                    continue
                item = {**item, "id": pick(tuple(known), number)}
        kept.append(item)
    body["tiles"] = kept


def _steer_move_tile_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    for key in ("to_dashboard", "toDashboard"):
        if key in body:  # the destination is written to: only run-created dashboards (all modes)
            if not run.write_targets() and as_int(body[key]) is not None:
                raise RuntimeError("posthog-contract refuses to move a tile: the run created no dashboard")
            body[key] = steer_id(body[key], run.pool or run.write_targets())
    tile = body.get("tile")
    if isinstance(tile, dict) and "id" in tile and not is_negative(case, ParameterLocation.BODY):
        source = as_int(case.path_parameters.get("id")) if case.path_parameters else None
        known = run.tile_ids(source)
        number = as_int(tile["id"])
        if known and number is not None and number not in known and stable_hash(tile) % 4 != 0:
            tile["id"] = pick(tuple(known), number)


def _steer_template_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    body.pop("_create_in_folder", None)
    template = body.get("template")
    if isinstance(template, dict):
        positive = not is_negative(case, ParameterLocation.BODY)
        if positive or "template_name" in template:
            _tag_name(run, template, "template_name", positive=positive)


def _steer_collaborator_body(run: GeneratedRun, case: schemathesis.Case, body: dict[str, Any]) -> None:
    if run.collaborator_uuid and not is_negative(case, ParameterLocation.BODY) and "user_uuid" in body:
        body["user_uuid"] = pick((run.collaborator_uuid, body["user_uuid"]), body["user_uuid"])
        if stable_hash(body) % 3 != 0:
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
    run = run_of(case)
    if run is None or not is_ours(case.operation):
        return case
    op_id = operation_id(case.operation)
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
    run = run_of(case)
    if run is None or not is_ours(case.operation) or run.write_targets():
        return True
    if case.method.upper() not in WRITE_METHODS or "/dashboards/{" not in case.path:
        return True
    return all(as_int(v) is None for k, v in (case.path_parameters or {}).items() if k in ("id", "dashboard_id"))


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
    run = run_of(case)
    if run is None or not is_ours(case.operation):
        return
    record_response(run, operation_id(case.operation), case.path_parameters or {}, case.body, response)


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
            as_int((body or {}).get("to_dashboard", (body or {}).get("toDashboard")))
            if isinstance(body, dict)
            else None
        )
        tile = (body or {}).get("tile") if isinstance(body, dict) else None
        if destination is not None and isinstance(tile, dict) and as_int(tile.get("id")) is not None:
            with run._lock:
                run.tiles.setdefault(destination, set()).add(as_int(tile["id"]))  # type: ignore[arg-type]
    elif op_id in ("dashboards_sharing_partial_update", "dashboards_sharing_refresh_create") and status == 200:
        dashboard = as_int(path_parameters.get("dashboard_id"))
        if dashboard is not None and run.resources is not None:
            run.resources.track_sharing(dashboard)
    elif op_id == "dashboards_collaborators_create" and status == 201:
        dashboard = as_int(path_parameters.get("dashboard_id"))
        user = data.get("user") if isinstance(data, dict) else None
        user_uuid = user.get("uuid") if isinstance(user, dict) else None
        if dashboard is not None and isinstance(user_uuid, str) and run.resources is not None:
            run.resources.track_collaborator(dashboard, user_uuid)
    elif op_id == "dashboards_collaborators_destroy" and status == 204:
        dashboard = as_int(path_parameters.get("dashboard_id"))
        if dashboard is not None and run.resources is not None:
            run.resources.forget_collaborator(dashboard, str(path_parameters.get("user_uuid")))
