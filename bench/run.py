"""Benchmarks of the suite and the reference server: ``python bench/run.py [--quick]``.

Prints the tables and writes ``bench/RESULTS.md`` (machine, every figure of this run, each target
met or explained in ``bench/NOTES.md``). Parts: ``suite`` (the default contract run), ``budget``
(requests: the default run against a host throttled at PostHog's burst limits; requests and seconds
per kill for the default and thorough profiles and plain ``st run``), ``server`` (events list
latency at 10k/100k/1M events, dashboard retrieve, batched capture), ``detection`` (mutants killed
per second, the project's run vs plain ``st run``), and, only when asked for with ``--only sweep``,
``sweep`` (the seeded part of the suite over consecutive seeds in the default and every
``--malformed-input`` mode: ``bench_sweep.py``; it rewrites only its own section of RESULTS.md).
``--quick`` runs fewer repetitions, stops the server part at 100k events, compares on a subset of
mutants and sweeps 20 seeds. ``--render run.json`` rebuilds RESULTS.md from a kept run (e.g. after
editing NOTES.md) without measuring again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_budget
import bench_detection
import bench_server
import bench_suite
import bench_sweep
from bench_util import log, machine, table, verdict

PARTS = ("suite", "budget", "server", "detection")
#: parts that run only when named with --only (long, and recorded in their own section)
ON_REQUEST = ("sweep",)
HERE = Path(__file__).resolve().parent
TITLES = {
    "suite": "The default contract run",
    "budget": "Requests: the rate-limit budget and the cost per kill",
    "server": "The reference server",
    "detection": "Detection per second: the project's run vs plain `st run`",
}


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run the chosen parts; returns what RESULTS.md is rendered from (also saved as run.json)."""
    started = time.monotonic()
    run: dict[str, Any] = {"machine": machine(), "command": " ".join(["python bench/run.py", *sys.argv[1:]])}
    sections: dict[str, tuple[str, list[tuple[str, bool, str]]]] = {}
    clean_seconds = None
    parts = args.only or list(PARTS)
    if "suite" in parts:
        log("== the default contract run ==")
        result = bench_suite.run(args.quick, workdir / "suite")
        passing = [r.wall_s for r in result["runs"] if r.exit_code == 0]
        clean_seconds = min(passing) if passing else None
        sections["suite"] = bench_suite.report(result)
    if "budget" in parts:
        log("== requests: paced host, cost per kill ==")
        sections["budget"] = bench_budget.report(bench_budget.run(args.quick, workdir / "budget", jobs=args.jobs))
    if "server" in parts:
        log("== the reference server ==")
        sections["server"] = bench_server.report(bench_server.run(args.quick, workdir / "server"))
    if "detection" in parts:
        log("== detection: the project's run vs st run ==")
        result = bench_detection.run(
            args.quick, workdir / "detection", clean_seconds, jobs=args.jobs, mutants=args.mutant
        )
        sections["detection"] = bench_detection.report(result)
    run["minutes"] = (time.monotonic() - started) / 60
    run["sections"] = sections
    return run


def render(run: dict[str, Any]) -> str:
    sections = run["sections"]
    targets = [target for part in PARTS if part in sections for target in sections[part][1]]
    summary = table(["target", "figure", "verdict"], [(name, figure, verdict(met)) for name, met, figure in targets])
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{run['command']}` in {run['minutes']:.0f} min; every figure below comes from that one run. "
        "Other work was running on the machine at the same time (see the load average), so absolute timings "
        "are noisy; where the time goes is the stable part.",
        "",
        table(["machine", ""], list(run["machine"].items())),
        "",
        "## Targets",
        "",
        summary,
        "",
        "Each target is discussed, with what was changed to meet it, in [Findings](#findings) below.",
    ]
    for part in PARTS:
        if part in sections:
            lines += ["", f"## {TITLES[part]}", "", sections[part][0]]
    sweeps = bench_sweep.load_sweeps()
    if sweeps:  # kept across runs: the section is rewritten only by a sweep
        lines += ["", bench_sweep.render_section(sweeps)]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs, 100k events at most, a subset of mutants")
    parser.add_argument("--only", action="append", choices=PARTS + ON_REQUEST, help="run only this part (repeatable)")
    parser.add_argument("--sweep-seeds", type=int, help="seeds of the default-mode sweep (default 200, --quick 20)")
    parser.add_argument("--mutant", action="append", help="compare on this mutant only (repeatable; default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants compared in parallel (default 2)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md", help="default: bench/RESULTS.md")
    parser.add_argument("--keep", type=Path, help="keep every log, request log and run.json in this folder")
    parser.add_argument("--render", type=Path, help="only re-render RESULTS.md from a kept run.json")
    args = parser.parse_args(argv)
    if args.only and "sweep" in args.only:
        seeds = args.sweep_seeds or (20 if args.quick else 200)
        with tempfile.TemporaryDirectory(prefix="posthog-sweep-") as tmp:
            for result in bench_sweep.standard(seeds, args.keep or Path(tmp), jobs=args.jobs):
                print(bench_sweep.report(result))
                bench_sweep.record(result)
        log(f"recorded the sweeps in {bench_sweep.SWEEPS_JSON} and {bench_sweep.RESULTS_MD}")
        args.only = [part for part in args.only if part != "sweep"]
        if not args.only:
            return 0
    if args.render:
        run = json.loads(args.render.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="posthog-bench-") as tmp:
            workdir = args.keep or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            run = json.loads(json.dumps(measure(args, workdir)))  # tuples -> lists, as a re-render sees them
            (workdir / "run.json").write_text(json.dumps(run, indent=2))
    text = render(run)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
