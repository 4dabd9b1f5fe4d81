"""Detection per second: the project's default run vs plain ``st run`` on the same OpenAPI document,
each given the same time on each mutant of the reference server.

* Project: ``python -m pytest tests`` exactly as ``python -m posthog_contract.mutation`` runs it
  (``mutation.run_suite``): it starts its own server with ``--mutant NAME``; killed = exit 1 (violations found).
  Its time on the mutant, T, is that mutant's budget.
* ``st run``: ``st run openapi.json --url BASE --header "Authorization: Bearer KEY" --max-time ⌈T⌉
  --seed 1`` (plus ``--report json`` to read its failures) against a server started the same way
  (``embedded.start``, the same flags as the project's server), in a fresh directory each time (no
  example database carried over). The document is ``contract.write_openapi``'s.

Plain ``st run`` also fails on the *clean* server (the contract's deliberate departures from generic
REST expectations: DRF accepting schema-violating bodies, 400 for bodies the schema allows, 405 for
DELETE, ...), so "exits non-zero" alone would kill every mutant. As with st's own ``--baseline``, the
clean server's failures are recorded first (several clean runs, different seeds, twice the budget),
keyed by (failure code, operation); a mutant is killed when st exits 1 with a failure outside that
baseline. Control runs on the clean server measure how often that happens by chance (generation
reaching a clean-server failure the baseline runs missed); the second st row also discounts the
failures the controls showed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_util import Summary, log, table

from posthog_contract import contract, embedded, mutation

#: one mutant per area of the contract, for --quick
QUICK_MUTANTS = (
    "capture_drops_events",
    "dashboard_delete_returns_204",
    "deleted_listed",
    "event_properties_string",
    "events_filter_event_ignored",
    "events_next_missing",
    "invalid_key_is_403",
    "list_count_is_page_size",
    "move_tile_missing_field_500",
    "sharing_token_not_rotated",
    "unknown_dashboard_500",
)
ST_SEED = 1
Key = tuple[str, str]  # (st failure code, operation)


@dataclass
class StRun:
    label: str
    exit_code: int
    seconds: float
    failures: set[Key] = field(default_factory=set)
    test_cases: int = 0

    def beyond(self, known: set[Key]) -> set[Key]:
        return self.failures - known

    def kills(self, known: set[Key]) -> bool:
        return self.exit_code == 1 and bool(self.beyond(known))


@dataclass
class Row:
    mutant: str
    project: mutation.SuiteRun
    st: StRun


def fmt_keys(keys: set[Key]) -> str:
    """``ST101 GET /api/…/dashboards/{id}/`` lines, short."""
    shown = sorted(keys)
    short = {"/api/projects/{project_id}": "…", "/api/environments/{project_id}": "env…"}

    def name(op: str) -> str:
        for long, abbreviation in short.items():
            op = op.replace(long, abbreviation)
        return op

    text = "<br>".join(f"{code} {name(op)}" for code, op in shown[:3])
    return text + (f"<br>(+{len(shown) - 3})" if len(shown) > 3 else "")


def run_st(
    label: str,
    workdir: Path,
    document: Path,
    budget: int,
    *,
    mutant: str | None = None,
    seed: int = ST_SEED,
    limit: list[str] | None = None,
    server_args: list[str] | None = None,
) -> StRun:
    """One ``st run`` in a fresh directory, against a fresh server (its start counts in the seconds).

    ``limit`` replaces ``--max-time budget`` (e.g. ``--phases fuzzing --max-examples 3``: a request
    count instead of a time); ``budget`` then only bounds the wall time.
    """
    cwd = workdir / f"st-{label}"
    cwd.mkdir(parents=True, exist_ok=True)
    report = cwd / "report.json"
    st = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    started = time.monotonic()
    server = embedded.start([*(["--mutant", mutant] if mutant else []), *(server_args or [])])
    try:
        command = [
            st,
            "run",
            str(document),
            "--url",
            server.base_url,
            "--header",
            f"Authorization: Bearer {server.credentials['personal_api_key']}",
            *(limit if limit is not None else ["--max-time", str(budget)]),
            "--seed",
            str(seed),
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ]
        with open(cwd / "st.out", "w") as out:
            try:
                code = subprocess.run(
                    command,
                    cwd=cwd,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=budget + 120,
                ).returncode
            except subprocess.TimeoutExpired:
                code = -1
    finally:
        server.stop()
    seconds = time.monotonic() - started
    failures: set[Key] = set()
    cases = 0
    if report.exists():
        data = json.loads(report.read_text())
        cases = int(data.get("test_cases", {}).get("generated", 0))
        for failure in data.get("failures", []):
            failures |= {(failure["code"], op) for op in failure.get("operations", [])}
        for error in data.get("errors", []):
            failures.add(("error", str(error.get("title") or error.get("type") or "error")))
    return StRun(label, code, seconds, failures, cases)


def clean_runs(prefix: str, workdir: Path, document: Path, budget: int, seeds: list[int], jobs: int) -> list[StRun]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda s: run_st(f"{prefix}-{s}", workdir, document, budget, seed=s), seeds))


def run(
    quick: bool,
    workdir: Path,
    clean_seconds: float | None = None,
    jobs: int = 2,
    mutants: list[str] | None = None,
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    document = workdir / "openapi.json"
    contract.write_openapi(document)
    everything = mutation.catalogue()
    names = [m for m in QUICK_MUTANTS if m in everything] if quick else sorted(everything)
    if mutants:
        unknown = sorted(set(mutants) - everything.keys())
        if unknown:
            raise SystemExit(f"unknown mutant(s): {', '.join(unknown)}")
        names = sorted(mutants)
    project_dir = workdir / "project"
    project_dir.mkdir(exist_ok=True)
    if clean_seconds is None:
        log("  project run on the clean server (it sets the budget of the clean st runs) ...")
        clean_seconds = mutation.run_suite(None, "clean", project_dir, []).seconds
    budget = max(1, math.ceil(clean_seconds))
    baseline_seeds = list(range(ST_SEED, ST_SEED + (2 if quick else 6)))
    log(f"  st baseline: {len(baseline_seeds)} runs on the clean server, {2 * budget} s each ...")
    baseline_runs = clean_runs("baseline", workdir, document, 2 * budget, baseline_seeds, jobs)
    baseline: set[Key] = set().union(*(r.failures for r in baseline_runs))
    control_seeds = [100 + i for i in range(2 if quick else 4)]
    log(f"  st control: {len(control_seeds)} runs on the clean server, {budget} s each ...")
    controls = clean_runs("control", workdir, document, budget, control_seeds, jobs)

    def one(name: str) -> Row:
        project = mutation.run_suite(name, everything[name], project_dir, [])
        st = run_st(name, workdir, document, max(1, math.ceil(project.seconds)), mutant=name)
        log(
            f"  {name:45} project {'killed' if project.killed else 'survived'} {project.seconds:5.1f} s | "
            f"st {'killed' if st.kills(baseline) else 'survived'} {st.seconds:5.1f} s "
            f"{sorted(st.beyond(baseline))[:3]}"
        )
        return Row(name, project, st)

    log(f"  {len(names)} mutants, {jobs} at a time ...")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, names))
    return {
        "rows": rows,
        "baseline": baseline,
        "baseline_runs": baseline_runs,
        "controls": controls,
        "budget": budget,
        "which": " (chosen with --mutant)" if mutants else " (the --quick subset)" if quick else " (every mutant)",
    }


def report(result: dict[str, Any]) -> tuple[str, list[tuple[str, bool, str]]]:
    rows: list[Row] = result["rows"]
    baseline: set[Key] = result["baseline"]
    controls: list[StRun] = result["controls"]
    noise: set[Key] = baseline.union(*(c.failures for c in controls))
    n = len(rows)
    p_killed = sum(r.project.killed for r in rows)
    s_killed = sum(r.st.kills(baseline) for r in rows)
    s_killed_strict = sum(r.st.kills(noise) for r in rows)
    p_seconds = sum(r.project.seconds for r in rows)
    s_seconds = sum(r.st.seconds for r in rows)

    def rate(killed: int, seconds: float) -> tuple[str, str]:
        per_s = killed / seconds if seconds else 0.0
        return f"{per_s:.4f}", f"{60 * per_s:.2f}"

    false_alarms = [c for c in controls if c.kills(baseline)]
    lines = [
        f"{n} mutants{result['which']}, two at a time. Project: "
        "`python -m pytest tests` via `mutation.run_suite` (killed = exit 1). Its time T on each mutant is the "
        "budget `st run` gets on that mutant (`--max-time ⌈T⌉ --seed 1`). Seconds include starting the server. "
        f"st's clean-server baseline: {len(baseline)} (failure code, operation) pairs from "
        f"{len(result['baseline_runs'])} clean runs of {2 * result['budget']} s (seeds "
        f"{', '.join(r.label.rsplit('-', 1)[1] for r in result['baseline_runs'])}).",
        "",
        f"Project time per mutant: median {Summary.of([r.project.seconds for r in rows]).fmt(1, ' s')}; "
        f"st test cases per mutant: median {Summary.of([r.st.test_cases for r in rows]).fmt(0)}.",
        "",
        table(
            ["tool", "mutants killed", "seconds (sum)", "kills per second", "kills per minute"],
            [
                ("project (`pytest tests`)", f"{p_killed}/{n}", f"{p_seconds:.0f}", *rate(p_killed, p_seconds)),
                (
                    "plain `st run`: a failure outside the clean baseline",
                    f"{s_killed}/{n}",
                    f"{s_seconds:.0f}",
                    *rate(s_killed, s_seconds),
                ),
                (
                    "plain `st run`: … and outside what the clean controls showed",
                    f"{s_killed_strict}/{n}",
                    f"{s_seconds:.0f}",
                    *rate(s_killed_strict, s_seconds),
                ),
            ],
        ),
        "",
        f"Control: {len(controls)} `st run` on the clean server ({result['budget']} s each, seeds "
        f"{', '.join(c.label.rsplit('-', 1)[1] for c in controls)}): {len(false_alarms)} of them would count as a "
        "kill (a failure outside the baseline: "
        f"{'; '.join(fmt_keys(c.beyond(baseline)).replace('<br>', ', ') for c in false_alarms) or 'none'}). "
        "That is st's false-kill rate on this API at this budget.",
        "",
        table(
            ["mutant", "project", "project s", "first failing tests", "st run", "st s", "st failures beyond baseline"],
            [
                (
                    f"`{r.mutant}`",
                    "killed" if r.project.killed else f"survived (exit {r.project.exit_code})",
                    f"{r.project.seconds:.1f}",
                    "<br>".join(r.project.failed_tests[:2]) or "—",
                    ("killed" if r.st.kills(noise) else "killed (noise only)")
                    if r.st.kills(baseline)
                    else f"survived (exit {r.st.exit_code})",
                    f"{r.st.seconds:.1f}",
                    fmt_keys(r.st.beyond(baseline)) or "—",
                )
                for r in rows
            ],
        ),
    ]
    p_rate = p_killed / p_seconds if p_seconds else 0.0
    s_rate = s_killed / s_seconds if s_seconds else 0.0
    targets = [
        (
            "the project's run kills more mutants per second than plain `st run` (st counted generously)",
            p_rate > s_rate,
            f"{60 * p_rate:.2f} vs {60 * s_rate:.2f} kills/min",
        )
    ]
    return "\n".join(lines), targets


if __name__ == "__main__":  # python bench/bench_detection.py [--quick]: this part alone
    with tempfile.TemporaryDirectory(prefix="posthog-bench-") as tmp:
        text, _ = report(run("--quick" in sys.argv, Path(tmp)))
        print(text)
