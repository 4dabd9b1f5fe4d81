"""DRF's ``LimitOffsetPagination`` exactly (§1.6): absolute links, parameters re-encoded sorted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request

from . import mutants

NEXT_MISSING = mutants.declare(
    "list_next_missing", "dashboards list `next` must link the following page while one exists (§1.6)"
)
NEXT_RELATIVE = mutants.declare("list_next_relative", "dashboards list `next` must be an absolute URL (§1.6)")
COUNT_WRONG = mutants.declare("list_count_is_page_size", "dashboards list `count` counts every visible row (§1.6)")
COUNT_DRIFTS = mutants.declare(
    "dashboard_count_drifts_between_pages", "`count` is all visible items, the same on every page (§1.6)",
    killed_by=(
        "tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list_in_order",
        "tests/test_dashboard_lifecycle.py",
        "tests/test_property_based.py",
        "tests/test_stateful.py",
    ),
)

OFFSET_IN_PAGES = mutants.declare(
    "dashboards_offset_counts_pages", "`offset` counts rows, not pages of `limit` (§1.6)",
    killed_by=("tests/test_pagination.py::test_limit_and_offset_together_select_a_slice",
               "tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list_in_order"),
)

DEFAULT_LIMIT = 100


def _positive_int(raw: str | None, *, strict: bool) -> int | None:
    try:
        value = int(raw) if raw is not None else None
    except ValueError:
        return None
    if value is None or value < 0 or (strict and value == 0):
        return None
    return value


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def window(request: Request) -> Window:
    limit = _positive_int(request.query_params.get("limit"), strict=True) or DEFAULT_LIMIT
    offset = _positive_int(request.query_params.get("offset"), strict=False) or 0
    if mutants.active(OFFSET_IN_PAGES) and "offset" in request.query_params and "limit" in request.query_params:
        offset *= limit
    return Window(limit, offset)


def _with_params(url: str, **changes: Any) -> str:
    """DRF's replace_query_param/remove_query_param: a value of None removes the parameter."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = [str(value)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items()), doseq=True), ""))


def page(request: Request, results: list[Any], count: int, win: Window) -> dict[str, Any]:
    url = str(request.url)
    next_url = None
    if win.offset + win.limit < count and not mutants.active(NEXT_MISSING):
        next_url = _with_params(url, limit=win.limit, offset=win.offset + win.limit)
        if mutants.active(NEXT_RELATIVE):
            next_url = urlunsplit(("", "", *urlsplit(next_url)[2:]))
    previous_url = None
    if win.offset > 0:
        previous_offset = win.offset - win.limit
        previous_url = _with_params(url, limit=win.limit, offset=previous_offset if previous_offset > 0 else None)
    if mutants.active(COUNT_WRONG):
        count = len(results)
    if mutants.active(COUNT_DRIFTS) and win.offset:
        count += 1
    return {"count": count, "next": next_url, "previous": previous_url, "results": results}
