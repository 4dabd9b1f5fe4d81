"""PostHog's progressive time windows on newest-first events lists (contract §7.4).

PostHog source: ``posthog/api/event.py`` (``EVENT_LIST_TIME_WINDOWS``, ``_get_event_list_cache_key``)
and, in the newest releases, ``LegacyEventsListQuery.run`` / ``run_page``. A newest-first request
first probes ``after = before - W`` for each window W shorter than the request's own
``before - after`` span (all windows when either bound is missing), serves the first window that
returns at least ``max(limit // 2, 1)`` rows, and runs the full range only when none does. The
successful window is cached for 24 h per (project, has ``event``, has ``distinct_id``, limit size)
and tried first next time, if its cached result count clears the new request's threshold.
Consequence: ``next`` may be null while older events match.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import mutants

#: seconds: 1 min, 5 min, 15 min, 1 h, 6 h, 24 h (PostHog: EVENT_LIST_TIME_WINDOWS)
TIME_WINDOWS = (60, 300, 900, 3600, 21600, 86400)
CACHE_TTL_S = 86400  # PostHog: EVENT_LIST_CACHE_TTL

WINDOWS_ASCENDING = mutants.declare(
    "events_windows_ascending", "progressive time windows apply to newest-first lists only (§7.4)",
    killed_by=("tests/test_pagination.py::test_events_walk_oldest_first_uses_after",),
)


def size_category(limit: int) -> str:
    """PostHog's ``_get_limit_size_category``: s < 1000 <= m < 10000 <= l."""
    return "s" if limit < 1000 else "m" if limit < 10000 else "l"


@dataclass
class WindowCache:
    """PostHog keeps ``{"window", "result_count"}`` in Django's cache; here one dict per server."""

    entries: dict[tuple[int, bool, bool, str], tuple[int, int, float]] = field(default_factory=dict)

    def get(self, key: tuple[int, bool, bool, str]) -> tuple[int, int] | None:
        found = self.entries.get(key)
        if found is None or found[2] < time.monotonic():
            return None
        return found[0], found[1]

    def put(self, key: tuple[int, bool, bool, str], window: int, count: int) -> None:
        self.entries[key] = (window, count, time.monotonic() + CACHE_TTL_S)


#: runs one page query for a lower bound (µs) and answers (rows read, up to limit + 1)
PageQuery = Callable[[int], list[Any]]


def windowed_page(
    cache: WindowCache,
    *,
    key: tuple[int, bool, bool, str],
    after: int,
    before: int,
    request_span_s: float | None,
    ascending: bool,
    limit: int,
    run: PageQuery,
    half_limit: int | None = None,
) -> list[Any]:
    """The rows PostHog serves: the first window holding half a page (``max(limit // 2, 1)`` of the limit
    the request gave: ``half_limit``), else the full range."""
    if ascending and not mutants.active(WINDOWS_ASCENDING):
        return run(after)  # run_page applies no window to ASC order
    windows = [w for w in TIME_WINDOWS if request_span_s is None or w < request_span_s]
    half_limit = max(limit // 2, 1) if half_limit is None else half_limit
    cached = cache.get(key)
    if cached is not None and cached[1] >= half_limit and cached[0] in windows:
        windows.remove(cached[0])
        windows.insert(0, cached[0])
    for window in windows:
        window_us = window * 1_000_000
        if before - after <= window_us:  # run_page: the window would not narrow this range
            break
        rows = run(before - window_us)
        if len(rows[:limit]) >= half_limit:
            if cached != (window, len(rows[:limit])):
                cache.put(key, window, len(rows[:limit]))
            return rows
    return run(after)
