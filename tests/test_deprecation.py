"""The documented prefix is deprecated: every documented operation, called once under /api/environments/,
announces its successor (contract §1.9).

PostHog documents its operations under ``/api/environments/{project_id}/`` and has deprecated that prefix
in favour of ``/api/projects/{project_id}/``. Its ``EnvironmentsRewriteMiddleware`` (today's build) and
``EnvironmentsRedirectMiddleware`` (the 307 build), ``posthog/middleware.py``, add to every answer of such
a path, whatever its status, ``Deprecation: true`` and ``Link: </api/projects/…?same query>;
rel="successor-version"``, and ``Sunset`` as an HTTP-date while ``API_ENVIRONMENTS_SUNSET_DATE`` is set
(PostHog's tests: ``TestEnvironmentsRedirect``, ``TestEnvironmentsRedirectKillSwitch``, ``TestSunsetHeader``).

Each documented operation is called once under the documented prefix, as cheaply as it can be: a read
with the key (a made-up id answers 404, the events list 200), a write without a key (refused with 401
before any lookup, §1.5: nothing on the host changes). What the transports record of the answers is the
run's deprecation finding (report.json ``deprecations``); what is judged here is the notice's form. A host
judged as an older release (``--posthog-baseline``) may send no notice at all: PostHog's releases before the
deprecation served the prefix directly.
"""

from __future__ import annotations

import httpx
import pytest

from posthog_contract import operations as ops
from posthog_contract import writes
from posthog_contract.assertions import expect_that
from posthog_contract.deprecations import notice_problems


def _case(op: ops.Operation) -> object:
    marks = [pytest.mark.operations(op.operation_id)]
    if op.method != "GET":
        marks.append(pytest.mark.writes)  # refused before any lookup, yet never sent in read-only mode
    return pytest.param(op, id=op.operation_id, marks=marks)


CASES = [_case(op) for op in ops.documented_operations()]


def _call(op: ops.Operation, client, anonymous_client, paths) -> httpx.Response:
    """The operation under /api/environments/, as cheaply as it can be called (one request)."""
    path = writes.path_for(op, paths.project_id, "environments")
    if op.method == "GET":
        return client.get(path, params={"limit": "1"} if op.operation_id == "events_list" else None)
    return anonymous_client.request(op.method, path)


@pytest.mark.check("shape")
@pytest.mark.parametrize("op", CASES)
def test_the_documented_prefix_announces_its_successor(op, client, anonymous_client, paths):
    """Today's PostHog answers every documented operation under /api/environments/ with ``Deprecation`` and a
    ``successor-version`` Link to the same project's ``/api/projects/`` path (query kept), and a ``Sunset``
    that is an HTTP-date; a 307 to the successor carries them on the redirect (§1.9)."""
    response = _call(op, client, anonymous_client, paths)
    answer = response.history[0] if response.history else response  # the 307 the transport followed
    required = client.baseline is None
    problems = notice_problems(str(answer.request.url), answer.headers, required=required)
    shown = {name: answer.headers.get(name) for name in ("Deprecation", "Link", "Sunset", "Location")
             if answer.headers.get(name) is not None}
    expect_that(
        not problems,
        f"{op.method} {op.full_path('environments')} announces its successor: Deprecation, a successor-version "
        "Link to the same project's /api/projects/ path, an HTTP-date Sunset (§1.9; posthog/middleware.py)"
        + ("" if required else f", as far as the release {client.baseline} sends them"),
        response,
        client.redactor.text("\n".join(problems) + f"\nthe answer to /api/environments/ ({answer.status_code}) "
                             f"carried {shown or 'no deprecation header'}"
                             + ("\n(a release from before the deprecation is judged with --posthog-baseline YYYY-MM)"
                                if required and not shown else "")),
    )
