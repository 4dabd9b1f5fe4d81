"""Requests are the cost on a real host (issue 15): what a run sends, what each kill costs, and how long
the default run takes against a host throttled at PostHog's burst limits.

* **Paced host.** The default run (``python -m pytest tests -q``) against a reference server started
  as an *external* host (the suite paces its generated part and honours ``Retry-After``, as against
  PostHog) with ``--rate-limit 8/s --events-rate-limit 4/s``: PostHog Cloud's burst limits of
  480/min and 240/min on the events endpoints (contract §1.8), answered with 429 + ``Retry-After``
  as PostHog answers them. Requests, 429s and wall time come from the server's ``--request-log``.
* **Cost per kill.** On the same mutants: the default profile, the ``thorough`` profile and plain
  ``st run`` (``--phases examples,fuzzing --max-examples K``, with K chosen on the clean server so
  that st sends about as many requests as the default run; its coverage phase alone sends more than
  the whole default run). Requests per run, requests per kill and seconds per kill. A mutant counts
  as killed by the project when a declared killer fails (``mutation.run_suite``); by st when it
  exits 1 with a failure outside its clean-server baseline (``bench_detection``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_detection import QUICK_MUTANTS, StRun, run_st
from bench_util import ROOT, RequestLog, log, table

from posthog_contract import contract, embedded, mutation

PACE = ("--rate-limit", "8/s", "--events-rate-limit", "4/s")
REQUESTS_TARGET, EVENTS_TARGET, PACED_WALL_TARGET_S = 600, 150, 120.0
ST_EXAMPLES = (2, 4, 8, 12, 16, 20)
ST_PHASES = ("--phases", "examples,fuzzing")


@dataclass(frozen=True)
class Measured:
    exit_code: int
    seconds: float
    requests: int
    events: int
    throttled: int
    killed: bool = False


def paced_run(workdir: Path) -> Measured:
    """The default run against an external-mode reference server throttled at PostHog's burst limits."""
    request_log = workdir / "paced.requests.log"
    server = embedded.start([*PACE, f"--request-log={request_log}"])
    started = time.monotonic()
    try:
        with open(workdir / "paced.out", "w") as out:
            code = subprocess.run(
                [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"],
                cwd=ROOT,
                env=mutation.external_environment(server.credentials),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=1800,
            ).returncode
    finally:
        server.stop()
    seconds = time.monotonic() - started
    logged = RequestLog.read(request_log)
    return Measured(code, seconds, logged.requests, logged.events, logged.statuses.get("429", 0))


def project_run(name: str | None, workdir: Path, profile: str, extra: tuple[str, ...] = ()) -> Measured:
    request_log = workdir / f"{profile}-{name or 'clean'}.requests.log"
    request_log.unlink(missing_ok=True)
    run = mutation.run_suite(
        name,
        mutation.catalogue().get(name or "", "clean"),
        workdir / profile,
        [f"--contract-profile={profile}", *extra],
        server_args=[f"--request-log={request_log}"],
        timeout=1800,
        expected=mutation.killers().get(name or "", ()),
    )
    logged = RequestLog.read(request_log)
    return Measured(run.exit_code, run.seconds, logged.requests, logged.events, 0, bool(name) and run.killed)


def _st(label: str, workdir: Path, document: Path, examples: int, *, mutant: str | None = None,
        seed: int = 1) -> tuple[StRun, int]:
    request_log = workdir / f"st-{label}.requests.log"
    request_log.unlink(missing_ok=True)
    limit = [*ST_PHASES, "--max-examples", str(examples)]
    result = run_st(label, workdir, document, 600, mutant=mutant, seed=seed, limit=limit,
                    server_args=[f"--request-log={request_log}"])
    return result, RequestLog.read(request_log).requests


def run(quick: bool, workdir: Path, jobs: int = 2) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    for profile in ("default", "thorough"):
        (workdir / profile).mkdir(exist_ok=True)
    log("  the default run against a host throttled at 8/s, events 4/s ...")
    paced = paced_run(workdir)
    log(f"  paced: exit {paced.exit_code}, {paced.seconds:.0f} s, {paced.requests} requests, {paced.throttled} 429s")
    everything = mutation.catalogue()
    names = [m for m in QUICK_MUTANTS if m in everything]
    if quick:
        names = names[:5]
    report_dir = workdir / "default-clean-report"
    clean = {
        "default": project_run(None, workdir, "default", (f"--report={report_dir}",)),
        "thorough": project_run(None, workdir, "thorough"),
    }
    spending = spending_per_module(report_dir / "report.json", ROOT / "artifacts" / "mutation" / "kill-table.json")
    log(f"  clean: default {clean['default'].requests} requests, thorough {clean['thorough'].requests}")
    document = workdir / "openapi.json"
    contract.write_openapi(document)
    calibration = {k: _st(f"calibrate-{k}", workdir, document, k)[1] for k in ST_EXAMPLES}
    examples = max((k for k, n in calibration.items() if n <= clean["default"].requests), default=ST_EXAMPLES[0])
    log(f"  st --max-examples {examples}: {calibration[examples]} requests on the clean server ({calibration})")
    baseline_runs = [_st(f"baseline-{seed}", workdir, document, examples, seed=seed)[0] for seed in range(1, 5)]
    baseline = set().union(*(r.failures for r in baseline_runs))

    def one(name: str) -> dict[str, Any]:
        default = project_run(name, workdir, "default")
        thorough = project_run(name, workdir, "thorough")
        st, st_requests = _st(name, workdir, document, examples, mutant=name)
        st_measured = Measured(st.exit_code, st.seconds, st_requests, 0, 0, st.kills(baseline))
        log(f"  {name:45} default {default.killed} {default.requests}r | thorough {thorough.killed} "
            f"{thorough.requests}r | st {st_measured.killed} {st_requests}r")
        return {"mutant": name, "default": default, "thorough": thorough, "st": st_measured}

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(one, names))
    return {"paced": paced, "clean": clean, "rows": rows, "st_examples": examples, "calibration": calibration,
            "baseline": len(baseline), "spending": spending}


def spending_per_module(report: Path, kill_table: Path) -> list[tuple[str, int, str]]:
    """(module, requests in the clean default run, mutants only that module killed in the committed
    full-set kill table): where the requests go against what they alone find."""
    by_test = json.loads(report.read_text())["run"]["cost"]["by_test"] if report.exists() else {}
    sent: dict[str, int] = {}
    for test, count in by_test.items():
        module = test.split("::", 1)[0] if "::" in test else "(preflight, session setup)"
        sent[module] = sent.get(module, 0) + count
    sole: dict[str, list[str]] = {}
    if kill_table.exists():
        for row in json.loads(kill_table.read_text()):
            modules = {t.split("::", 1)[0] for t in row.get("killing_tests", [])}
            if row.get("killed") and len(modules) == 1:
                sole.setdefault(modules.pop(), []).append(row["mutant"])
    return [(module, count, str(len(sole.get(module, []))) if kill_table.exists() else "?")
            for module, count in sorted(sent.items(), key=lambda kv: -kv[1])]


def report(result: dict[str, Any]) -> tuple[str, list[tuple[str, bool, str]]]:
    paced: Measured = result["paced"]
    rows: list[dict[str, Any]] = result["rows"]
    tools = [("default profile", "default"), ("thorough profile", "thorough"),
             (f"plain `st run` (`--phases examples,fuzzing --max-examples {result['st_examples']}`)", "st")]
    cost_rows = []
    for label, key in tools:
        runs = [row[key] for row in rows]
        kills = sum(r.killed for r in runs)
        sent = sum(r.requests for r in runs)
        seconds = sum(r.seconds for r in runs)
        cost_rows.append((
            label, f"{kills}/{len(runs)}", f"{sent / max(len(runs), 1):.0f}",
            f"{sent / kills:.0f}" if kills else "—", f"{seconds / kills:.1f}" if kills else "—",
        ))
    lines = [
        "### The default run against a host throttled at PostHog's burst limits",
        "",
        "`python -m pytest tests -q` against a reference server started as an external host with "
        f"`{' '.join(PACE)}` (429 + `Retry-After` past 8 requests/s, 4/s on the events endpoints; "
        "PostHog Cloud's 480/min and 240/min, contract §1.8).",
        "",
        table(["measure", "value"], [
            ("exit status", paced.exit_code), ("wall time, s", f"{paced.seconds:.0f}"),
            ("requests the host answered", paced.requests), ("… to the events endpoints", paced.events),
            ("… answered 429", paced.throttled),
        ]),
        "",
        "### Requests per kill: default, thorough, plain `st run`",
        "",
        f"{len(rows)} mutants (one per area of the contract), each run by every tool against a fresh server. "
        f"Clean server: the default run sends {result['clean']['default'].requests} requests, thorough "
        f"{result['clean']['thorough'].requests} (its budget: 4,000). st's `--max-examples` was chosen on the "
        f"clean server as the largest of {', '.join(map(str, ST_EXAMPLES))} sending no more requests than the "
        f"default run (requests per value: {result['calibration']}); its kills exclude the "
        f"{result['baseline']} (failure, operation) pairs it also reports on the clean server (4 seeds).",
        "",
        table(["tool", "mutants killed", "requests per run", "requests per kill", "seconds per kill"], cost_rows),
        "",
        table(["mutant", "default (requests)", "thorough (requests)", "st (requests)"], [
            (f"`{row['mutant']}`", *(f"{'killed' if row[k].killed else 'survived'} ({row[k].requests})"
                                     for k in ("default", "thorough", "st")))
            for row in rows
        ]),
    ]
    lines += [
        "",
        "### Where the default run's requests go",
        "",
        "Requests per test module in the clean default run (the report's `run.cost.by_test`; session fixtures "
        "count for the first test that needs them) against the mutants only that module killed in the "
        "committed full-set kill table (`artifacts/mutation/kill-table.json`, `python -m pytest selftests`).",
        "",
        table(["module", "requests", "mutants only it killed"], result.get("spending", [])),
    ]
    targets = [
        (f"default run <= {REQUESTS_TARGET} requests, <= {EVENTS_TARGET} on events (paced host)",
         paced.requests <= REQUESTS_TARGET and paced.events <= EVENTS_TARGET,
         f"{paced.requests} requests, {paced.events} on events"),
        (f"default run <= {PACED_WALL_TARGET_S:.0f} s against a host throttled at 8/s, events 4/s, and passes",
         paced.seconds <= PACED_WALL_TARGET_S and paced.exit_code == 0,
         f"{paced.seconds:.0f} s, exit {paced.exit_code}"),
    ]
    return "\n".join(lines), targets


if __name__ == "__main__":  # python bench/bench_budget.py [--quick]: this part alone
    with tempfile.TemporaryDirectory(prefix="posthog-bench-") as tmp:
        text, _ = report(run("--quick" in sys.argv, Path(tmp)))
        print(text)
