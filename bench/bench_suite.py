"""The default contract run against the embedded server, as users run it: ``python -m pytest tests -q``.

Each run is a subprocess with no host configured (so the suite starts its own reference server),
plus ``--reference-arg=--request-log=PATH``: the server appends ``METHOD path status duration_ms``
per request, which gives the requests sent and the time the server spent answering them. The rest
of the wall time is the suite's own: interpreter start, collection, generating cases (schemathesis,
Hypothesis), validating answers, the loopback round trips, and any 429 ``Retry-After`` sleeps.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_util import ROOT, RequestLog, Summary, log, table

from posthog_contract.mutation import suite_environment

WALL_TARGET_S = 60.0
_OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")
_WAITED = re.compile(r"waited (\d+(?:\.\d+)?) s")


@dataclass(frozen=True)
class SuiteRun:
    exit_code: int
    wall_s: float
    requests: int
    server_s: float
    statuses: dict[str, int]
    outcome: str
    slept_on_429_s: float

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    @property
    def suite_s(self) -> float:
        return self.wall_s - self.server_s


def run_once(workdir: Path, label: str, extra: list[str] | None = None, timeout: float = 1800) -> SuiteRun:
    request_log = workdir / f"{label}.requests.log"
    output = workdir / f"{label}.out"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--reference-arg=--request-log={request_log}",
        *(extra or []),
    ]
    started = time.monotonic()
    with open(output, "w") as out:
        try:
            code = subprocess.run(
                command,
                cwd=ROOT,
                env=suite_environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    wall = time.monotonic() - started
    text = output.read_text(errors="replace")
    last = [line for line in text.splitlines() if " in " in line and _OUTCOME.search(line)]
    outcome = ", ".join(f"{n} {kind}" for n, kind in _OUTCOME.findall(last[-1])) if last else f"exit {code}"
    slept = sum(float(x) for x in _WAITED.findall(text))
    logged = RequestLog.read(request_log)
    return SuiteRun(code, wall, logged.requests, logged.server_seconds, logged.statuses, outcome, slept)


def run(quick: bool, workdir: Path) -> dict[str, Any]:
    runs = 2 if quick else 3
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(runs):
        log(f"  contract run {i + 1}/{runs} ...")
        result = run_once(workdir, f"suite-{i}")
        log(
            f"  contract run {i + 1}/{runs}: exit {result.exit_code}, {result.wall_s:.1f} s, {result.requests} requests"
        )
        results.append(result)
    return {"runs": results}


def report(result: dict[str, Any]) -> tuple[str, list[tuple[str, bool, str]]]:
    runs: list[SuiteRun] = result["runs"]
    wall = Summary.of(r.wall_s for r in runs)
    rows = [
        ("wall time, s", wall.fmt(1)),
        ("requests sent", Summary.of(r.requests for r in runs).fmt(0)),
        ("requests/s (over wall time)", Summary.of(r.requests_per_s for r in runs).fmt(0)),
        ("server time, s (sum of per-request durations)", Summary.of(r.server_s for r in runs).fmt(2)),
        ("server time, ms per request", Summary.of(1000 * r.server_s / max(r.requests, 1) for r in runs).fmt(2)),
        ("suite time, s (wall − server)", Summary.of(r.suite_s for r in runs).fmt(1)),
        ("share of wall time in the server", Summary.of(100 * r.server_s / r.wall_s for r in runs).fmt(1, " %")),
        ("429 answers", Summary.of(r.statuses.get("429", 0) for r in runs).fmt(0)),
        ("seconds slept on 429 Retry-After", Summary.of(r.slept_on_429_s for r in runs).fmt(0)),
    ]
    per_run = [
        (i + 1, r.exit_code, f"{r.wall_s:.1f}", r.requests, f"{r.server_s:.2f}", r.outcome) for i, r in enumerate(runs)
    ]
    lines = [
        f"`python -m pytest tests -q` in a subprocess, no host configured, {len(runs)} runs; "
        "median (min–max). Server time is what the reference server measured per request (from receiving "
        "it to sending the last byte); suite time is everything else.",
        "",
        table(["measure", "value"], rows),
        "",
        table(["run", "exit", "wall s", "requests", "server s", "outcome"], per_run),
    ]
    ok = all(r.exit_code == 0 for r in runs)
    targets = [
        (
            f"default contract run <= {WALL_TARGET_S:.0f} s wall (median)",
            wall.median <= WALL_TARGET_S,
            wall.fmt(1, " s"),
        ),
        ("default contract run passes on the clean server (exit 0)", ok, ", ".join(str(r.exit_code) for r in runs)),
    ]
    return "\n".join(lines), targets


if __name__ == "__main__":  # python bench/bench_suite.py [--quick]: this part alone
    with tempfile.TemporaryDirectory(prefix="posthog-bench-") as tmp:
        text, _ = report(run("--quick" in sys.argv, Path(tmp)))
        print(text)
