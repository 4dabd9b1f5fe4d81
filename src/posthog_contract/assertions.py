"""The one way the suite judges a response: status, content type, shape, error envelope.

Every failure message names the rule, then shows the redacted exchange that proves it. The helpers
set ``__tracebackhide__`` so a failure's traceback ends in the test that broke, not in here.

They judge with the run that sent the request: the client a response came from (`client.client_of`)
gives the redactor, the release baseline (contract §11) and the outcome log for version findings.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from . import contract
from .client import client_of, describe
from .redaction import Redactor

_ANY = object()


def evidence(response: httpx.Response) -> str:
    """The redacted exchange, scrubbed of every key the run that sent it knows."""
    client = client_of(response)
    return describe(response, client.redactor if client is not None else Redactor(()))


def fail(rule: str, response: httpx.Response | None = None, detail: str = "") -> AssertionError:
    parts = [f"Contract rule broken: {rule}"]
    if detail:
        parts.append(detail)
    if response is not None:
        parts.append(evidence(response))
    return AssertionError("\n".join(parts))


def json_body(response: httpx.Response, rule: str = "the body is JSON") -> Any:
    __tracebackhide__ = True
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        raise fail(f"{rule} (Content-Type application/json)", response, f"Content-Type was {content_type!r}")
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(rule, response, f"body is not valid JSON: {exc}") from None


def expect_status(response: httpx.Response, *statuses: int, rule: str = "") -> None:
    __tracebackhide__ = True
    if response.status_code not in statuses:
        wanted = " or ".join(map(str, statuses))
        raise fail(rule or f"status {wanted}", response, f"expected {wanted}, got {response.status_code}")


def expect_shape(response: httpx.Response, status: int, shape: str, *, rule: str = "") -> Any:
    """Status, JSON content type and ``schemas/<shape>.json``; returns the parsed body."""
    __tracebackhide__ = True
    expect_status(response, status, rule=rule or f"status {status}")
    body = json_body(response, rule or f"a {shape} body")
    client = client_of(response)
    baseline = client.baseline if client is not None else None
    problems = contract.errors(body, shape, baseline=baseline)
    if problems:
        raise fail(rule or f"the body matches schemas/{shape}.json", response, "\n".join(problems[:15]))
    if baseline is not None and client is not None:
        # each finding once per run, as a warning naming the baseline (terminal summary, report)
        fresh = [f for f in contract.version_findings(body, shape, baseline) if client.log.first_time((shape, f))]
        if fresh:
            client.log.warn(
                f"version finding: {shape} lacks {', '.join(fresh)}: fields PostHog added after the baseline"
                f" {baseline}, type-checked when present (contract §11)"
            )
    return body


def expect_empty(response: httpx.Response, status: int, *, rule: str = "") -> None:
    __tracebackhide__ = True
    expect_status(response, status, rule=rule or f"status {status} with an empty body")
    if response.content.strip():
        raise fail(rule or f"status {status} has an empty body", response, "the body is not empty")


def expect_error(
    response: httpx.Response,
    status: int,
    *,
    code: str | tuple[str, ...] | None = None,
    attr: Any = _ANY,
    detail: str | None = None,
    detail_contains: str | None = None,
    type_: str | None = None,
    rule: str = "",
) -> dict[str, Any]:
    """A PostHog error envelope (§1.2) with the given status and, optionally, code/attr/detail."""
    __tracebackhide__ = True
    body = expect_shape(response, status, "error-envelope", rule=rule or f"{status} with the error envelope")
    checks: list[tuple[str, Any, Any]] = []
    if code is not None:
        codes = (code,) if isinstance(code, str) else code
        if body["code"] not in codes:
            checks.append(("code", " or ".join(codes), body["code"]))
    if attr is not _ANY and body["attr"] != attr:
        checks.append(("attr", attr, body["attr"]))
    if type_ is not None and body["type"] != type_:
        checks.append(("type", type_, body["type"]))
    if detail is not None and body["detail"] != detail:
        checks.append(("detail", detail, body["detail"]))
    if detail_contains is not None and detail_contains.lower() not in str(body["detail"]).lower():
        checks.append(("detail containing", detail_contains, body["detail"]))
    if checks:
        lines = [f"{name}: expected {json.dumps(want)}, got {json.dumps(got)}" for name, want, got in checks]
        raise fail(rule or f"{status} error envelope fields", response, "\n".join(lines))
    return body


def expect_that(condition: bool, rule: str, response: httpx.Response | None = None, detail: str = "") -> None:
    """A semantic rule (persistence, filters, ordering): fail with the rule and the evidence."""
    __tracebackhide__ = True
    if not condition:
        raise fail(rule, response, detail)
