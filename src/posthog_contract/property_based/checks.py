"""The suite's own schemathesis checks, one rule each, named after it (registered on import)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis

from .. import contract
from .. import operations as ops
from ..wire import ENVELOPE_CODES, instant_or_none, link_problem, refuses_personal_keys, scheme_note
from .cases import as_int, content_type, json_or_none, judged, last_values, query_pairs
from .run import GeneratedRun, run_of


# --- checks ------------------------------------------------------------------------------------------
# Each check is one rule, named after it; it returns quietly for responses it does not judge.
# Failure messages name the rule and the spec section; schemathesis adds the response and curl.
def _envelope_exception(op_id: str, method: str, status: int, body: Any, sent: Any) -> bool:
    """The documented exceptions to the envelope (§1.2): the catalogue's ``error_alternatives``, each
    only in the case the spec names."""
    if op_id == "dashboards_destroy" and method == "DELETE" and status == 405:
        return True  # judged by dashboard_delete_is_405_with_empty_body
    alternatives = ops.by_id(op_id).error_alternatives.get(status, ())
    if not isinstance(body, dict) or not any(not contract.errors(body, shape) for shape in alternatives):
        return False
    if op_id == "events_retrieve":
        return body.get("detail") == "Invalid UUID"  # §8
    if op_id == "dashboards_sharing_partial_update":
        # §1.2, §3: only the refusal of password_required without the feature leaves the envelope
        return isinstance(sent, dict) and sent.get("password_required") is True and "password" in body["error"].lower()
    return True


@schemathesis.check
def error_body_is_the_envelope(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.2: every 4xx body is {type, code, detail, attr}, type/code matching the status."""
    op_id = judged(case)
    status = response.status_code
    if op_id is None or not 400 <= status < 500:
        return
    body = json_or_none(response)
    if _envelope_exception(op_id, str(response.request.method).upper(), status, body, case.body):
        return
    if not isinstance(body, dict):
        shown = (
            "an empty body"
            if not response.content
            else f"a non-JSON body ({content_type(response) or 'no content type'})"
        )
        raise AssertionError(f"A {status} answer must carry the JSON error envelope (contract §1.2); got {shown}")
    problems = contract.errors(body, "error-envelope")
    if problems:
        raise AssertionError(
            "The error body is not the envelope {type, code, detail, attr} (contract §1.2): " + "; ".join(problems)
        )
    types, codes = ENVELOPE_CODES.get(status, (None, None))
    if types is not None and body["type"] not in types:
        raise AssertionError(
            f"A {status} envelope has type {body['type']!r}; contract §1.2 says {' or '.join(sorted(types))}"
        )
    if codes is not None and body["code"] not in codes:
        raise AssertionError(
            f"A {status} envelope has code {body['code']!r}; contract §1.2 says {' or '.join(sorted(codes))}"
        )
    if status != 400 and body["attr"] is not None:
        raise AssertionError(f"A {status} envelope names attr {body['attr']!r}; only 400s name a field (contract §1.2)")


@schemathesis.check
def undeclared_method_403_is_the_personal_key_refusal(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.4: an undeclared method is 405 (+ Allow) or the personal-key 403 refusal, nothing else.

    A scoped personal key on a method the route declares no action for is refused by PostHog's
    APIScopePermission with 403 "This action does not support Personal API Key access" (any
    capitalisation) before DRF's 405 (posthog/permissions.py, APIScopePermission.has_permission).
    schemathesis' unsupported_method accepts any 401/403 there; this check narrows a 403 to exactly
    that refusal. A 405 with `Allow` stays judged by unsupported_method.
    """
    from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

    data = getattr(getattr(case.meta, "phase", None), "data", None)
    if judged(case) is None or not isinstance(data, CoveragePhaseData):
        return
    if data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD or response.status_code != 403:
        return
    body = json_or_none(response)
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, str) or not refuses_personal_keys(403, detail):
        raise AssertionError(
            f"{response.request.method} is not declared for this route: the answer must be 405 with `Allow`"
            " or 403 'This action does not support personal API key access' (contract §1.4); got 403"
            f" {detail!r}"
        )


@schemathesis.check
def ignored_auth_once_per_operation(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """§1.3: the built-in ignored_auth (no credentials / invalid credentials must not succeed),
    probing each operation once per run as schemathesis' own engine does."""
    run = run_of(case)
    if run is None or judged(case) is None:
        return None
    if getattr(ctx, "auth_enforced_operations", None) is None:
        ctx.auth_enforced_operations = run.auth_enforced
    return schemathesis.checks.ignored_auth(ctx, response, case)


@schemathesis.check
def dashboard_delete_is_405_with_empty_body(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.8: DELETE dashboards/{id} is 405 with an empty body for any id; a 2xx, a 404 or a body fails."""
    if judged(case, "dashboards_destroy") is None or response.request.method != "DELETE":
        return
    status = response.status_code
    if status in (401, 403, 429):
        return  # authentication and scope come first (§1.5)
    if status != 405:
        raise AssertionError(
            f"DELETE of a dashboard answered {status}; hard delete is forbidden: 405 for any id (contract §2.8)"
        )
    if response.content.strip():
        raise AssertionError("DELETE of a dashboard answered 405 with a body; PostHog sends it empty (contract §2.8)")


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
    op_id = judged(case, *_LINK_FILTER_EXEMPT)
    run = run_of(case)
    if op_id is None or run is None or response.status_code != 200:
        return
    body = json_or_none(response)
    if not isinstance(body, dict):
        return
    request_path = urlsplit(response.request.url).path
    sent = last_values(query_pairs(case, response))
    exempt = _LINK_FILTER_EXEMPT[op_id]
    for key in ("next", "previous"):
        link = body.get(key)
        if not isinstance(link, str):
            continue
        problem = link_problem(link, base_url=run.base_url, request_path=request_path, sent=sent, exempt=exempt,
                               key=key)
        if problem is not None:
            raise AssertionError(f"{problem.rule}: {problem.detail} (contract §1.6, §7.4)")
        note = scheme_note(link, run.base_url)
        if note:
            run.log.warn(note)


@schemathesis.check
def dashboards_page_is_consistent(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§1.6: a limit/offset page holds min(limit, count - offset) items, `next` exactly while
    offset + limit < count (limit/offset advanced), `previous` exactly when offset > 0."""
    if judged(case, "dashboards_list", "projects_list") is None or response.status_code != 200:
        return
    body = json_or_none(response)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("results"), list)
        or not isinstance(body.get("count"), int)
    ):
        return
    limit, offset = _effective_limit_offset(last_values(query_pairs(case, response)))
    count, results = body["count"], body["results"]
    expected = max(0, min(limit, count - offset))
    if len(results) != expected:
        raise AssertionError(
            f"The page holds {len(results)} items; with count {count}, limit {limit} and offset "
            f"{offset} it must hold {expected} (contract §1.6)"
        )
    more = offset + limit < count
    if (body.get("next") is not None) != more:
        state = "links a next page" if body.get("next") is not None else "has no `next`"
        raise AssertionError(
            f"The page {state} although offset {offset} + limit {limit} "
            f"{'<' if more else '>='} count {count} (contract §1.6)"
        )
    if more:
        linked = last_values(parse_qsl(urlsplit(body["next"]).query))
        if as_int(linked.get("offset")) != offset + limit or as_int(linked.get("limit")) != limit:
            raise AssertionError(
                f"`next` must ask for limit={limit}&offset={offset + limit}; it asks for "
                f"limit={linked.get('limit')}&offset={linked.get('offset')} (contract §1.6)"
            )
    if (body.get("previous") is not None) != (offset > 0):
        raise AssertionError(
            f"`previous` is {'set' if body.get('previous') else 'null'} at offset {offset}; "
            "it is null exactly on the first page (contract §1.6)"
        )


@schemathesis.check
def dashboard_list_items_have_no_tiles(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.1: list items MUST NOT carry `tiles` (test_listing_dashboards_does_not_include_tiles)."""
    if judged(case, "dashboards_list") is None or response.status_code != 200:
        return
    body = json_or_none(response)
    results = body.get("results") if isinstance(body, dict) else None
    for item in results or []:
        if isinstance(item, dict) and "tiles" in item:
            raise AssertionError(
                f"Dashboard {item.get('id')} in the list carries `tiles`; list items must not (contract §2.1)"
            )


@schemathesis.check
def dashboards_list_pinned_first(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.2: the list shows pinned dashboards first (no unpinned item before a pinned one on a page)."""
    if judged(case, "dashboards_list") is None or response.status_code != 200:
        return
    body = json_or_none(response)
    results = body.get("results") if isinstance(body, dict) else None
    pins = [item.get("pinned") for item in results or [] if isinstance(item, dict)]
    if True in pins and False in pins and pins.index(False) < len(pins) - 1 - pins[::-1].index(True):
        raise AssertionError("An unpinned dashboard is listed before a pinned one; pinned come first (contract §2.2)")


def _events_limit(query: Mapping[str, str]) -> int | None:
    """The page size a 200 was asked for: absent or empty is the default 100 (posthog/api/event.py,
    ``if request.GET.get("limit")``); 0 or less is not judged (current PostHog serves the default
    page, older builds their own slice: §7.1); anything else never gets a 200 from PostHog."""
    raw = query.get("limit")
    if not raw:
        return 100
    limit = _python_int(raw)
    return limit if limit is not None and limit >= 1 else None


def _events_page(case: schemathesis.Case, response: Any) -> tuple[dict[str, str], list[Any], Any] | None:
    if judged(case, "events_list") is None or response.status_code != 200:
        return None
    body = json_or_none(response)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        return None
    return last_values(query_pairs(case, response)), body["results"], body.get("next")


#: PostHog caps `limit` at 1000 (§7.1); older releases allowed up to 10 000 (§11), so on external
#: hosts the cap only bounds when `next` may be set, and the exact cap is judged on the reference.
EVENTS_LIMIT_CAP = 1000


@schemathesis.check
def events_page_respects_limit(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.1, §7.4: at most min(limit, 1000) results (external hosts: at most limit); `next` is null
    when fewer than min(limit, 1000) came back."""
    page = _events_page(case, response)
    run = run_of(case)
    if page is None or run is None:
        return
    query, results, next_link = page
    limit = _events_limit(query)
    if limit is None:
        return
    cap = min(limit, EVENTS_LIMIT_CAP)
    # Embedded-only strictness, as the contract says (§11 "exact cap checked on the reference only"):
    # older releases cap at 10 000, so elsewhere the cap only bounds when `next` may be set.
    bound = cap if run.settings.embedded else limit
    if len(results) > bound:
        asked = query.get("limit", "(default 100)")
        raise AssertionError(
            f"{len(results)} events returned for limit={asked}; at most {bound} may come back "
            f"(limit, capped at {EVENTS_LIMIT_CAP}) (contract §7.1, §11)"
        )
    if next_link is not None and len(results) < cap:
        raise AssertionError(
            f"`next` is set although only {len(results)} < {cap} events came back: nothing more matched (contract §7.4)"
        )


def _order(query: Mapping[str, str]) -> tuple[bool, str] | None:
    """``(oldest first, the bound next sets)`` as PostHog reads ``orderBy`` (posthog/api/event.py):
    ``list(json.loads(orderBy))``, descending only for exactly ``["-timestamp"]``; ``_build_next_url``
    sets ``before`` whenever the list holds ``"-timestamp"``, else ``after``. Absent or empty: newest
    first. ``None``: PostHog cannot read it (it raises), so a 200 is not judged here."""
    raw = query.get("orderBy")
    if not raw:
        return False, "before"
    try:
        listed = list(json.loads(raw))
    except (ValueError, TypeError, RecursionError):
        return None
    return not (len(listed) == 1 and listed[0] == "-timestamp"), "before" if "-timestamp" in listed else "after"


@schemathesis.check
def events_next_continues_after_last_event(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.4: `next` sets `before` (newest first) or `after` (oldest first) to the last returned timestamp
    (as PostHog picks the bound: :func:`_order`)."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, next_link = page
    order = _order(query)
    if not isinstance(next_link, str) or not results or not isinstance(results[-1], dict) or order is None:
        return
    key = order[1]
    linked = last_values(parse_qsl(urlsplit(next_link).query))
    last = instant_or_none(results[-1].get("timestamp"))
    bound = instant_or_none(linked.get(key))
    if last is not None and bound != last:
        raise AssertionError(
            f"`next` has {key}={linked.get(key)!r}; it must be the last returned event's timestamp "
            f"{results[-1].get('timestamp')!r} (contract §7.4)"
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
            raise AssertionError(f"{len(wrong)} events do not match {name}={wanted!r} (e.g. {wrong[0]!r}; §7.1)")


@schemathesis.check
def events_are_ordered_by_timestamp(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: newest first by default and with orderBy ["-timestamp"]; oldest first with ["timestamp"] (and
    with any other orderBy PostHog reads: :func:`_order`)."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, _ = page
    stamps = [instant_or_none(e.get("timestamp")) for e in results if isinstance(e, dict)]
    order = _order(query)
    if None in stamps or len(stamps) < 2 or order is None:
        return
    ascending = order[0]
    for earlier, later in zip(stamps, stamps[1:], strict=False):
        if (later < earlier) if ascending else (later > earlier):  # type: ignore[operator]
            order = "oldest first" if ascending else "newest first"
            raise AssertionError(
                f"Events are not {order}: {earlier.isoformat()} precedes {later.isoformat()} "  # type: ignore[union-attr]
                "(contract §7.3)"
            )


@schemathesis.check
def events_stay_within_after_and_before(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.1: `after`/`before` are exclusive bounds (checked for absolute timestamps with an offset)."""
    page = _events_page(case, response)
    if page is None:
        return
    query, results, _ = page
    after, before = instant_or_none(query.get("after")), instant_or_none(query.get("before"))
    for event in results:
        stamp = instant_or_none(event.get("timestamp")) if isinstance(event, dict) else None
        if stamp is None:
            continue
        if after is not None and stamp <= after:
            raise AssertionError(
                f"Event at {event['timestamp']} is not after after={query['after']!r} (exclusive, contract §7.1)"
            )
        if before is not None and stamp >= before:
            raise AssertionError(
                f"Event at {event['timestamp']} is not before before={query['before']!r} (exclusive, contract §7.1)"
            )


@schemathesis.check
def events_person_only_when_requested(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3, §8: `person` is null unless include_person is true/1."""
    op_id = judged(case, "events_list", "events_retrieve")
    if op_id is None or response.status_code != 200:
        return
    query = last_values(query_pairs(case, response))
    if query.get("include_person", "").strip().lower() in ("true", "1"):
        return
    body = json_or_none(response)
    events = body.get("results") if op_id == "events_list" and isinstance(body, dict) else [body]
    for event in events or []:
        if isinstance(event, dict) and event.get("person") is not None:
            raise AssertionError("An event carries `person` although include_person was not requested (contract §7.3)")


@schemathesis.check
def events_format_decides_content_type(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: `format=csv` answers text/csv, `format=json` (the default) application/json."""
    if judged(case, "events_list") is None or response.status_code != 200:
        return
    wanted = last_values(query_pairs(case, response)).get("format") or "json"
    media = content_type(response).split(";")[0].strip()
    expected = {"csv": "text/csv", "json": "application/json"}.get(wanted)
    if expected is not None and media != expected:
        raise AssertionError(
            f"format={wanted} answered Content-Type {media or '(none)'}; expected {expected} (contract §7.3)"
        )


@schemathesis.check
def events_csv_has_the_event_columns(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§7.3: the CSV export's header names the id, event, distinct_id and timestamp columns."""
    if judged(case, "events_list") is None or response.status_code != 200:
        return
    if not content_type(response).startswith("text/csv"):
        return
    header = response.content.decode("utf-8", errors="replace").splitlines()[:1]
    columns = {c.strip().strip('"') for c in header[0].split(",")} if header else set()
    missing = {"id", "event", "distinct_id", "timestamp"} - columns
    if missing:
        raise AssertionError(f"The CSV header lacks {', '.join(sorted(missing))} (contract §7.3); header: {header[:1]}")


def _normal_uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


@schemathesis.check
def retrieved_object_is_the_one_asked_for(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.4, §2.5, §5, §8: the object in a 200 is the one the path names (move_tile: the source)."""
    op_id = judged(
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
    body = json_or_none(response)
    if not isinstance(body, dict) or "id" not in body:
        return
    asked = (case.path_parameters or {}).get("id")
    if op_id == "events_retrieve":
        if _normal_uuid(asked) and _normal_uuid(body["id"]) != _normal_uuid(asked):
            raise AssertionError(f"GET events/{asked}/ answered event {body['id']!r} (contract §8)")
    elif as_int(asked) is not None and body["id"] != as_int(asked):
        raise AssertionError(
            f"{case.method.upper()} on dashboard {asked} answered dashboard {body['id']!r} (contract §2.4, §5)"
        )


@schemathesis.check
def patch_returns_the_written_values(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """§2.5, §3: a 200 PATCH shows the booleans and levels it wrote (pinned, deleted, restriction_level;
    sharing `enabled`)."""
    op_id = judged(case, "dashboards_partial_update", "dashboards_update", "dashboards_sharing_partial_update")
    if op_id is None or response.status_code != 200 or not isinstance(case.body, dict):
        return
    body = json_or_none(response)
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
                f"PATCH sent {name}={sent!r} and answered 200 showing {name}={body[name]!r} (contract §2.5, §3)"
            )


def validate_exchange(
    run: GeneratedRun,
    op_id: str,
    response: Any,
    *,
    prefix: str = "projects",
    path_parameters: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
    body: Any = None,
) -> None:
    """Run schemathesis' checks (built-in and the suite's) on an answer the project's client got.

    For hand-driven flows (the state machine): the case is built from what was sent, so status,
    content type, schema, headers and every custom check judge the answer exactly as in the generated
    tests. Auth probing is left to the generated tests.
    """
    case = run.make_case(op_id, prefix=prefix, path_parameters=path_parameters, query=query, body=body)
    with run.redacted_failures():
        case.validate_response(response, excluded_checks=[ignored_auth_once_per_operation])
