"""Shared helpers of the benchmarks: statistics, Markdown tables, the machine, a reference server."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from posthog_contract.policy import EVENTS_PATH

ROOT = Path(__file__).resolve().parents[1]
#: the reference server's PostHog-like throttle (480/min, events 240/min) is not what these measure
NO_THROTTLE = ["--rate-limit", "1000000000/min"]


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary:
        items = list(values)
        if not items:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(statistics.median(items), min(items), max(items), len(items))

    def fmt(self, digits: int = 1, unit: str = "") -> str:
        """``median (min–max)``; one run: just the value."""
        if self.n == 0:
            return "n/a"
        if self.n == 1:
            return f"{self.median:.{digits}f}{unit}"
        return f"{self.median:.{digits}f}{unit} ({self.low:.{digits}f}–{self.high:.{digits}f})"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (also readable as plain text on the terminal)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    try:
        cores = str(len(os.sched_getaffinity(0)))
    except AttributeError:
        cores = str(os.cpu_count())
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": cores,
        "cpu": cpu,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "load average at start (1, 5, 15 min)": load,
        "sqlite": __import__("sqlite3").sqlite_version,
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RequestLog:
    """The reference server's ``--request-log``: ``METHOD path status duration_ms`` per request."""

    requests: int
    server_seconds: float
    statuses: dict[str, int]
    events: int = 0  # requests to the events list and retrieve (PostHog's events throttle class)

    @classmethod
    def read(cls, path: Path) -> RequestLog:
        count, total, statuses, events = 0, 0.0, {}, 0
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.rsplit(" ", 2)  # the path may hold spaces; status and duration never do
                if len(parts) != 3:
                    continue
                try:
                    total += float(parts[2])
                except ValueError:
                    continue
                count += 1
                statuses[parts[1]] = statuses.get(parts[1], 0) + 1
                events += bool(EVENTS_PATH.match(parts[0].partition(" ")[2].split("?", 1)[0]))
        return cls(count, total / 1000, statuses, events)
