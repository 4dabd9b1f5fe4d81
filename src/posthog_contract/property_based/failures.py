"""The failure filter: what PostHog itself does is not the host's failure (contract §1.7, §5, §6).

Three kinds of failure are not violations:

- an empty 200 where PostHog documents "No response body" (§5, §6): a warning;
- a generated *negative* case the host accepted, where PostHog's own reading of every input accepts it
  too (:mod:`.readings`: DRF's coercions, Django's ``QueryDict``, the events list's readers, the older
  releases that dropped an unreadable filter);
- a 5xx to an input PostHog itself raises on: PostHog's known defect, a warning citing the source.

Anything else stays a failure: a negative case PostHog refuses, and every 5xx to well-formed input.

Which of schemathesis' own fixes for false positives of ``negative_data_rejection`` the pinned release
carries (4.32.5, ``specs/openapi/checks.py``), and what this filter adds:

- #2312 (pull #2315): only undeclared extra parameters: carried
  (``has_only_additional_properties_in_non_body_parameters``); :func:`.readings.judge` ignores them too;
- #2900: negative values that became positive on the wire (``charset=null``): carried (``_query_as_sent``);
- #3073: cases a hook changed after generation: carried (revalidation of dirty components); the suite's
  steering hooks touch positive cases only;
- #3730 (pull #4087): query-level ``additionalProperties`` mutations: carried;
- #4600 (pull #4601): non-numeric query/path values whose serialized text is valid: carried
  (``_type_mutation_is_valid_on_wire``);
- pull #4762: another location's negation that only adds undeclared parameters: carried
  (``_has_other_negated_location``).

What none of them can know, and :mod:`.readings` does: how *PostHog* reads a value. An object-valued
query parameter reaches the host as its keys (``requests`` iterates a dict) or as an empty value, and
Django reads the last of them, an empty one as absent; a JSON ``content`` parameter (``properties``) is
read by PostHog's pydantic models; ``limit``, ``action_id``, dates and ``orderBy`` by the events list's
own code; bodies by DRF's fields. A negative case is judged on that reading of what was sent.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.core.failures import Failure

from ..outcomes import OutcomeLog
from .cases import is_ours, json_or_none, operation_id
from .readings import judge
from .run import run_of

#: The failures an empty body causes by itself (no body to parse, type or content-type); only these
#: are excused by a documented empty 200. Anything else (an unauthenticated request that succeeded,
#: a 5xx, an undocumented status) is still the host's failure.
_EMPTY_BODY_FAILURES = frozenset(
    {
        "JsonSchemaError",
        "MalformedJson",
        "MissingContentType",
        "UndefinedContentType",
        "MalformedMediaType",
        "ContentDeserializationError",
    }
)

#: §5, §6: PostHog documents these as 200 "No response body"; an empty 200 is a warning, not a failure.
_EMPTY_200_IS_A_WARNING = frozenset(
    {
        "dashboards_move_tile_partial_update",
        "dashboards_move_tile_create",
        "dashboards_create_from_template_json_create",
    }
)

#: The failures a 5xx causes by itself: the server error and its status being undocumented.
_SERVER_ERROR_FAILURES = frozenset({"ServerError", "UndefinedStatusCode"})


#: §5, §11: newest PostHog reads only `to_dashboard` (products/dashboards/backend/api/dashboard.py,
#: MoveTileRequestSerializer: `to_dashboard = IntegerField(required=True)`), so a `toDashboard`-only
#: body is a 400 `required` on `to_dashboard`; mid-era releases read only `toDashboard`. A
#: schema-valid body refused with `required` on the spelling it did not carry is release behaviour,
#: reported as a warning; the move itself is judged by tests/test_move_tile.py with the key the host reads.
_MOVE_TILE_OPS = ("dashboards_move_tile_partial_update", "dashboards_move_tile_create")
_DESTINATION_KEYS = ("to_dashboard", "toDashboard")


def _move_tile_key_not_read(op_id: str, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    if op_id not in _MOVE_TILE_OPS or type(failure).__name__ != "RejectedPositiveData":
        return False
    if response.status_code != 400 or not isinstance(case.body, dict):
        return False
    body = json_or_none(response)
    attr = body.get("attr") if isinstance(body, dict) else None
    if not isinstance(body, dict) or body.get("code") != "required" or attr not in _DESTINATION_KEYS:
        return False
    if attr in case.body:
        return False  # the key was sent: a `required` on it is a real refusal
    other = " / ".join(key for key in _DESTINATION_KEYS if key != attr)
    _log(case).warn(
        f"move_tile refused a body without `{attr}` (400 required): this release does not read {other}"
        " (contract §5, §11)"
    )
    return True


def _known_posthog_crash(failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    """A 5xx to an input PostHog itself raises on (contract §1.7): reported as PostHog's known defect with
    its source, not failed. Every other 5xx, to well-formed input above all, stays a failure."""
    if type(failure).__name__ not in _SERVER_ERROR_FAILURES or response.status_code < 500:
        return False
    crash = judge(case, response).known_crash()
    if crash is None:
        return False
    note = (
        f"{case.method.upper()} {case.formatted_path} answered {response.status_code} to input PostHog itself"
        f" raises on, a known PostHog defect (contract §1.7): {crash}"
    )
    run = run_of(case)
    if run is not None and note not in run.warned:  # schemathesis reports one 5xx as two failures
        run.warned.add(note)
        run.log.warn(note)
    return True


def _log(case: schemathesis.Case) -> OutcomeLog:
    """The outcome log of the run the case belongs to (a throwaway one outside a run)."""
    run = run_of(case)
    return run.log if run is not None else OutcomeLog()


def _accepted_as_posthog_reads_it(case: schemathesis.Case, response: Any) -> bool:
    """A negative case every input of which some PostHog release reads (as valid, as absent, or by
    dropping it): accepting it is PostHog's behaviour, not a violation."""
    return not judge(case, response).refusals


@schemathesis.hook("filter_failure")
def _filter_failure(
    context: schemathesis.HookContext, failure: Failure, case: schemathesis.Case, response: Any
) -> bool:
    """Keep every failure except an empty 200 the spec makes a warning, PostHog's own crash on an input
    it raises on, and negative cases PostHog's reading accepts (see the module docstring)."""
    run = run_of(case)
    if run is None or not is_ours(case.operation):
        return True
    op_id = operation_id(case.operation)
    kind = type(failure).__name__
    if _move_tile_key_not_read(op_id, failure, case, response) or _known_posthog_crash(failure, case, response):
        return False
    if kind == "AcceptedNegativeData":
        return not _accepted_as_posthog_reads_it(case, response)
    if (
        op_id in _EMPTY_200_IS_A_WARNING
        and response.status_code == 200
        and not response.content.strip()
        and kind in _EMPTY_BODY_FAILURES
    ):
        run.log.warn(
            f"{case.method.upper()} {case.formatted_path} answered 200 with an empty body, as PostHog "
            f"documents ('No response body'); the suite expects the Dashboard (contract §5, §6)"
        )
        return False
    return True
