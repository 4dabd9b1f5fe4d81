"""The one `next` walker and its invariants (contract §1.6, §7.4).

It follows ``next`` verbatim, never building a URL itself (the client sends nothing to another
origin, whatever ``next`` says), and checks on every page: size within ``limit``; ``next``
absolute, on the configured host and path (or its ``/api/projects/`` successor, §1.9); the first
request's parameters kept; no item twice; a bounded number of pages (a loop is reported, not
followed). For events it also checks the keyset cursor and ordering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .assertions import expect_shape, expect_that, fail
from .client import ContractClient
from .outcomes import OutcomeLog
from .wire import link_problem, parse_instant, scheme_note

__all__ = ["CURSOR_PARAMS", "Walk", "parse_instant", "walk", "walk_dashboards", "walk_events"]

CURSOR_PARAMS = ("before", "after")


@dataclass
class Walk:
    pages: list[list[dict[str, Any]]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for page in self.pages for item in page]


def _check_next_link(
    next_url: str,
    base_url: str,
    first_path: str,
    sent: dict[str, str],
    response: httpx.Response,
    ignore: tuple[str, ...],
    log: OutcomeLog,
) -> None:
    """The one link rule (`wire.link_problem`), judged with the page's evidence."""
    note = scheme_note(next_url, base_url)
    if note:
        log.warn(note)
    problem = link_problem(next_url, base_url=base_url, request_path=first_path, sent=sent, exempt=ignore)
    if problem is not None:
        raise fail(problem.rule, response, f"{problem.detail}; next = {next_url}")


def walk(
    client: ContractClient,
    path: str,
    params: dict[str, str],
    *,
    shape: str,
    limit: int,
    max_pages: int = 100,
    identity: Callable[[dict[str, Any]], Any] = lambda item: item.get("id"),
    ignore_changes: tuple[str, ...] = (),
    on_page: Callable[[httpx.Response, Any, int], None] | None = None,
) -> Walk:
    """Follow ``next`` from ``path?params`` until null, checking the generic invariants."""
    result = Walk()
    seen: dict[Any, int] = {}
    response = client.get(path, params=params)
    first_path = urlsplit(str(response.request.url)).path
    for number in range(1, max_pages + 1):
        body = expect_shape(response, 200, shape, rule=f"page {number} of {path} is a {shape}")
        page = body["results"]
        expect_that(
            len(page) <= limit,
            f"a page holds at most `limit` ({limit}) items",
            response,
            f"page {number} holds {len(page)}",
        )
        expect_that(
            number == 1 or bool(page),
            "`next` is null when no further item matches (no empty last page)",
            response,
            f"page {number} is empty",
        )
        for item in page:
            key = identity(item)
            expect_that(
                key not in seen,
                "no item appears twice across pages",
                response,
                f"{key!r} on page {seen.get(key)} and page {number}",
            )
            seen[key] = number
        result.pages.append(page)
        result.urls.append(str(response.request.url))
        result.bodies.append(body)
        if on_page is not None:
            on_page(response, body, number)
        next_url = body.get("next")
        if next_url is None:
            return result
        _check_next_link(next_url, client.base_url, first_path, params, response, ignore_changes, client.log)
        expect_that(
            next_url not in result.urls, "`next` never links a page already visited", response, f"next = {next_url}"
        )
        response = client.get(next_url)
    raise fail(f"pagination ends within {max_pages} pages", response, "`next` kept linking further pages")


def walk_events(
    client: ContractClient,
    path: str,
    params: dict[str, str],
    *,
    limit: int,
    descending: bool = True,
    max_pages: int = 100,
) -> Walk:
    """Events keyset pages: cursor = last returned timestamp; pages strictly older (or newer)."""
    cursor = "before" if descending else "after"
    state: dict[str, Any] = {"last": None}

    def check_page(response: httpx.Response, body: Any, number: int) -> None:
        stamps = [parse_instant(e["timestamp"]) for e in body["results"]]
        ordered = (
            all(a >= b for a, b in zip(stamps, stamps[1:], strict=False))
            if descending
            else all(a <= b for a, b in zip(stamps, stamps[1:], strict=False))
        )
        expect_that(
            ordered,
            f"events are ordered by timestamp {'newest' if descending else 'oldest'} first",
            response,
            f"page {number} timestamps: {[s.isoformat() for s in stamps]}",
        )
        if stamps and state["last"] is not None:
            newer = stamps[0] < state["last"] if descending else stamps[0] > state["last"]
            expect_that(
                newer,
                f"each page is strictly {'older' if descending else 'newer'} than the previous one",
                response,
                f"page {number} starts at {stamps[0].isoformat()}, previous ended at {state['last'].isoformat()}",
            )
        if body.get("next") and stamps:
            query = dict(parse_qsl(urlsplit(body["next"]).query, keep_blank_values=True))
            expect_that(cursor in query, f"`next` carries the `{cursor}` cursor", response, f"next = {body['next']}")
            try:
                moment = parse_instant(query[cursor])
            except ValueError:
                raise fail(
                    f"`next`'s `{cursor}` is an ISO 8601 timestamp", response, f"{cursor} = {query[cursor]!r}"
                ) from None
            expect_that(
                moment == stamps[-1],
                f"`next`'s `{cursor}` equals the last returned event's timestamp",
                response,
                f"{cursor} = {query[cursor]}, last timestamp = {body['results'][-1]['timestamp']}",
            )
        if stamps:
            state["last"] = stamps[-1]

    return walk(
        client,
        path,
        params,
        shape="event-list-page",
        limit=limit,
        max_pages=max_pages,
        ignore_changes=CURSOR_PARAMS,
        on_page=check_page,
    )


def walk_dashboards(
    client: ContractClient,
    path: str,
    *,
    limit: int,
    max_pages: int = 200,
    on_page: Callable[[httpx.Response, Any, int], None] | None = None,
) -> Walk:
    """Limit/offset pages: `count` stable, `previous` present after the first page, `next` keeps `limit`."""
    counts: list[int] = []

    def check_page(response: httpx.Response, body: Any, number: int) -> None:
        counts.append(body["count"])
        expect_that(
            body["count"] == counts[0],
            "`count` is the same on every page of one walk (§1.6)",
            response,
            f"page 1 said count {counts[0]}, page {number} says {body['count']}",
        )
        if number > 1:
            expect_that(
                body.get("previous") is not None, "`previous` links back from every page after the first", response
            )
        else:
            expect_that(body.get("previous") is None, "the first page has no `previous`", response)
        if body.get("next"):
            query = dict(parse_qsl(urlsplit(body["next"]).query))
            expect_that(query.get("limit") == str(limit), "`next` keeps `limit`", response, f"next = {body['next']}")
        if on_page is not None:
            on_page(response, body, number)

    return walk(
        client,
        path,
        {"limit": str(limit)},
        shape="dashboard-list-page",
        limit=limit,
        max_pages=max_pages,
        ignore_changes=("offset",),
        on_page=check_page,
    )
