"""The reference server under load: events list latency at 10k / 100k / 1M stored events, dashboard
retrieve latency, and batched capture throughput (the load itself, 1000 events per ``/batch/``).

One server (``--db`` on a temporary file, throttling off) is filled in stages; after each stage the
same queries are timed over keep-alive HTTP from one client, as the suite's client talks to it.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from bench_util import NO_THROTTLE, Summary, log, percentile, table, verdict

from posthog_contract import embedded

BATCH = 1000
DISTINCT_IDS = 10_000
#: event names and their weights: a few dominate, like a real product's events
EVENT_NAMES = [("$pageview", 40), ("$autocapture", 25), ("$pageleave", 15), ("$identify", 2)] + [
    (f"feature_{i}_used", 1) for i in range(18)
]
PLANS = [("free", 80), ("pro", 15), ("enterprise", 5)]
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge", "Opera"]
WINDOW = timedelta(hours=23)  # every event inside the list's default "last 24 h"

EVENTS_TARGET_MS = 20.0
CAPTURE_TARGET = 20_000.0


@dataclass
class Stage:
    events: int
    capture_events_per_s: float = 0.0  # events / seconds spent in POST /batch/ round trips
    capture_wall_events_per_s: float = 0.0  # including the benchmark building the bodies
    capture_server_events_per_s: float = 0.0  # events / the server's own time on those requests
    batch_ms: Summary | None = None
    db_mb: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)  # query name -> ms per request
    walks_ms: list[float] = field(default_factory=list)  # 10-page walks, total ms each


class Loader:
    """Sends 1000-event batches; timestamps increase over the final population, like a live stream."""

    def __init__(self, client: httpx.Client, base_url: str, project_key: str, final_total: int, seed: int) -> None:
        self.client, self.url, self.key = client, base_url.rstrip("/") + "/batch/", project_key
        self.rng = random.Random(seed)
        self.sent = 0
        self.start = datetime.now(UTC) - WINDOW
        self.step = WINDOW / final_total
        names, weights = zip(*EVENT_NAMES, strict=True)
        self.names, self.name_weights = list(names), list(weights)
        plans, plan_weights = zip(*PLANS, strict=True)
        self.plans, self.plan_weights = list(plans), list(plan_weights)

    def body(self, count: int) -> bytes:
        rng, events = self.rng, []
        names = rng.choices(self.names, self.name_weights, k=count)
        plans = rng.choices(self.plans, self.plan_weights, k=count)
        for i in range(count):
            seq = self.sent + i
            moment = self.start + self.step * seq + timedelta(milliseconds=rng.randint(-500, 500))
            events.append(
                {
                    "event": names[i],
                    "distinct_id": f"user-{rng.randrange(DISTINCT_IDS)}",
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "timestamp": moment.isoformat(),
                    "properties": {
                        "$browser": rng.choice(BROWSERS),
                        "plan": plans[i],
                        "amount": rng.randrange(1000),
                        "seq": seq,
                        "$current_url": f"https://example.com/page/{rng.randrange(200)}",
                        "$lib": "posthog-python",
                    },
                }
            )
        return json.dumps({"api_key": self.key, "batch": events}).encode()

    def load(self, count: int) -> tuple[float, float, list[float]]:
        """Send ``count`` events; returns (events/s over POSTs, events/s over wall, ms per POST)."""
        posts: list[float] = []
        wall = time.perf_counter()
        remaining = count
        while remaining > 0:
            size = min(BATCH, remaining)
            payload = self.body(size)
            started = time.perf_counter()
            response = self.client.post(self.url, content=payload, headers={"Content-Type": "application/json"})
            posts.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"/batch/ answered {response.status_code}: {response.text[:200]}")
            self.sent += size
            remaining -= size
        wall = time.perf_counter() - wall
        return count / (sum(posts) / 1000), count / wall, posts


def _timed(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url, params=params)
    body = response.content  # read fully
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {body[:200]!r}")
    return elapsed, response


def measure_events(client: httpx.Client, events_url: str, samples: int, rng: random.Random) -> dict[str, list[float]]:
    """p50/p95 inputs for each filter; every request asks for the default page (100 events)."""
    filters: dict[str, Callable[[], dict[str, str]]] = {
        "no filter": lambda: {},
        "event name": lambda: {"event": rng.choice(["$pageview", "$pageleave", "feature_3_used"])},
        "distinct_id": lambda: {"distinct_id": f"user-{rng.randrange(DISTINCT_IDS)}"},
        "properties (plan = enterprise, 5%)": lambda: {
            "properties": json.dumps([{"key": "plan", "value": "enterprise", "operator": "exact", "type": "event"}])
        },
    }
    results: dict[str, list[float]] = {}
    for name, make in filters.items():
        _timed(client, events_url, make())  # warm-up
        results[name] = [_timed(client, events_url, make())[0] for _ in range(samples)]
    return results


def measure_rare_property(
    client: httpx.Client, events_url: str, samples: int, rng: random.Random, total: int
) -> list[float]:
    """Informational: a property value held by one event, so the filter must look at every row."""
    out = []
    for _ in range(samples):
        params = {"properties": json.dumps([{"key": "seq", "value": rng.randrange(total), "type": "event"}])}
        out.append(_timed(client, events_url, params)[0])
    return out


def walk_pages(client: httpx.Client, events_url: str, walks: int, pages: int = 10) -> tuple[list[float], list[float]]:
    """Follow ``next`` from the first page, ``pages`` pages per walk; (ms per walk, ms per page)."""
    per_walk, per_page = [], []
    for _ in range(walks):
        url: str | None = events_url
        total = 0.0
        for _ in range(pages):
            if url is None:
                raise RuntimeError("the events list ended before 10 pages")
            elapsed, response = _timed(client, url)
            per_page.append(elapsed)
            total += elapsed
            url = response.json()["next"]
        per_walk.append(total)
    return per_walk, per_page


def measure_dashboard(client: httpx.Client, base: str, project_id: int, samples: int) -> list[float]:
    """GET one dashboard with five text tiles (created once)."""
    dashboards = f"{base}/api/projects/{project_id}/dashboards/"
    created = client.post(dashboards, json={"name": "bench dashboard", "description": "bench"}).json()
    url = f"{dashboards}{created['id']}/"
    tiles = [{"text": {"body": f"tile {i}"}} for i in range(5)]
    patched = client.patch(url, json={"tiles": tiles})
    if patched.status_code != 200:
        raise RuntimeError(f"PATCH dashboard tiles answered {patched.status_code}")
    _timed(client, url)
    return [_timed(client, url)[0] for _ in range(samples)]


def run(quick: bool, workdir: Path) -> dict[str, Any]:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    workdir.mkdir(parents=True, exist_ok=True)
    samples = 100 if quick else 200
    db_path = workdir / "server-bench.sqlite3"
    request_log = workdir / "server-requests.log"
    server = embedded.start([*NO_THROTTLE, "--db", str(db_path), "--request-log", str(request_log)])
    batches_logged = 0
    creds = server.credentials
    base = creds["base_url"]
    rng = random.Random(7)
    stages: list[Stage] = []
    try:
        with (
            httpx.Client(timeout=120) as capture_client,
            httpx.Client(timeout=120, headers={"Authorization": f"Bearer {creds['personal_api_key']}"}) as client,
        ):
            events_url = f"{base}/api/projects/{creds['project_id']}/events/"
            loader = Loader(capture_client, base, creds["project_api_key"], sizes[-1], seed=11)
            dashboard_ms = measure_dashboard(client, base, creds["project_id"], samples)
            previous = 0
            for size in sizes:
                log(f"  server bench: loading events up to {size:,} ...")
                stage = Stage(size)
                rate, wall_rate, posts = loader.load(size - loader.sent)
                stage.capture_events_per_s, stage.capture_wall_events_per_s = rate, wall_rate
                stage.batch_ms = Summary.of(posts)
                logged = [
                    float(line.rsplit(" ", 1)[1])
                    for line in request_log.read_text().splitlines()
                    if line.startswith("POST /batch/ 200 ")
                ]
                stage.capture_server_events_per_s = (size - previous) / (sum(logged[batches_logged:]) / 1000)
                batches_logged, previous = len(logged), size
                stage.db_mb = sum(p.stat().st_size for p in workdir.glob("server-bench.sqlite3*")) / 1e6
                log(f"  server bench: {size:,} events stored ({rate:,.0f} events/s); timing queries ...")
                stage.latencies = measure_events(client, events_url, samples, rng)
                stage.walks_ms, stage.latencies["walking 10 pages with next (per page)"] = walk_pages(
                    client, events_url, max(5, samples // 20)
                )
                stage.latencies["properties, a value held by one event (informational)"] = measure_rare_property(
                    client, events_url, 5, rng, size
                )
                stages.append(stage)
    finally:
        server.stop()
    return {"stages": stages, "dashboard_ms": dashboard_ms, "samples": samples}


def report(result: dict[str, Any]) -> tuple[str, list[tuple[str, bool, str]]]:
    """Markdown for RESULTS.md and the targets (name, met, figure)."""
    stages: list[Stage] = result["stages"]
    largest = stages[-1]
    lines = [
        f"One server, `--db` on a temporary file, throttling off (`{' '.join(NO_THROTTLE)}`); one keep-alive "
        f"client; {result['samples']} requests per filter and size after one warm-up (the one-event property "
        "filter: 5). Each request is a default page of 100 events from the default window (last 24 h), newest "
        "first. Events: 22 names (`$pageview` 40%, `feature_N_used` ~1% each), 10,000 distinct ids, 6 "
        "properties each, timestamps spread over the last 23 h in arrival order.",
        "",
    ]
    names = list(largest.latencies)
    rows = []
    for name in names:
        row = [name]
        for stage in stages:
            values = stage.latencies.get(name, [])
            row.append(f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}" if values else "n/a")
        rows.append(row)
    rows.append(
        ["walking 10 pages with next (whole walk)"]
        + [f"{percentile(s.walks_ms, 50):.1f} / {percentile(s.walks_ms, 95):.1f}" for s in stages]
    )
    lines.append("Events list latency, ms, p50 / p95:\n")
    lines.append(table(["query"] + [f"{s.events:,} events" for s in stages], rows))
    lines.append("")
    dash = result["dashboard_ms"]
    lines.append(
        f"Dashboard retrieve (one dashboard, 5 text tiles, {len(dash)} requests): p50 {percentile(dash, 50):.2f} ms, "
        f"p95 {percentile(dash, 95):.2f} ms.\n"
    )
    capture_rows = []
    previous = 0
    for stage in stages:
        capture_rows.append(
            [
                f"{previous:,} → {stage.events:,}",
                f"{stage.capture_events_per_s:,.0f}",
                f"{stage.capture_server_events_per_s:,.0f}",
                f"{stage.capture_wall_events_per_s:,.0f}",
                stage.batch_ms.fmt(1) if stage.batch_ms else "n/a",
                f"{stage.db_mb:,.0f}",
            ]
        )
        previous = stage.events
    lines.append("Batched capture (`POST /batch/`, 1000 events per request, sequential):\n")
    lines.append(
        table(
            [
                "stored events",
                "events/s (POST round trips)",
                "events/s (server's own time)",
                "events/s (incl. building bodies)",
                "ms per batch, median (min–max)",
                "database MB after",
            ],
            capture_rows,
        )
    )
    targets: list[tuple[str, bool, str]] = []
    for name in names:
        if "informational" in name:
            continue
        p50 = percentile(largest.latencies[name], 50)
        targets.append(
            (
                f"events list p50 <= {EVENTS_TARGET_MS:.0f} ms at {largest.events:,} events: {name}",
                p50 <= EVENTS_TARGET_MS,
                f"{p50:.1f} ms",
            )
        )
    previous = 0
    for stage in stages:
        targets.append(
            (
                f"batched capture >= {CAPTURE_TARGET:,.0f} events/s, {previous:,} → {stage.events:,} stored events",
                stage.capture_events_per_s >= CAPTURE_TARGET,
                f"{stage.capture_events_per_s:,.0f} events/s",
            )
        )
        previous = stage.events
    lines.append("")
    lines.append(table(["target", "figure", "verdict"], [(t, f, verdict(m)) for t, m, f in targets]))
    return "\n".join(lines), targets


if __name__ == "__main__":  # python bench/bench_server.py [--quick]: this part alone
    import sys

    with tempfile.TemporaryDirectory(prefix="posthog-bench-") as tmp:
        text, _ = report(run("--quick" in sys.argv, Path(tmp)))
        print(text)
