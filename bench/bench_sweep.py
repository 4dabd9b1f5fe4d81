"""The seed sweep: the suite over N consecutive seeds, to prove it never fails at random (issue 24).

``python bench/bench_sweep.py --seeds 200`` runs the seeded part of the suite (the property-based
tests and the state machine: the only tests whose requests depend on ``--contract-seed``) once per
seed, ``--start``, ``--start + 1``, ..., against the reference server, and reports every seed that
failed with the command that reproduces it. A conformant host must pass every seed: one failure is a
flake, a judgement that disagrees with PostHog or state shared between tests, to be fixed at its source.

- ``--target embedded`` (default): the suite starts its own server per run, as a user's first run does.
- ``--target external``: one reference server started as a separate host (``POSTHOG_HOST`` and the
  keys it announces), which the suite paces as it paces any external host; the server is unthrottled
  unless ``--server-arg`` says otherwise (a sweep sends more than PostHog's hourly limit).
- ``--server-arg=ARG`` (repeatable) passes flags to the reference server in either target:
  ``--malformed-input=500``, ``--release=2024-01``, ``--clock-offset=-30`` (where the server has it);
  ``--suite-arg=ARG`` (repeatable) passes flags to the suite
  (``--suite-arg=--posthog-baseline=2024-01`` for a server started as an older release).
- ``--part all`` runs the whole suite per seed instead of the seeded part.

``--record`` adds the sweep to ``bench/sweeps.json`` and rewrites the "Seed sweeps" section of
``bench/RESULTS.md`` (the rest of the file is left as it is); ``python bench/run.py --only sweep``
runs the standard set (the default mode and every ``--malformed-input`` mode) and records it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench_util import ROOT, log, table

from posthog_contract.mutation import external_environment, read_failures, start_server, suite_environment

HERE = Path(__file__).resolve().parent
SEEDED = ["tests/test_property_based.py", "tests/test_stateful.py"]
SWEEPS_JSON = HERE / "sweeps.json"
RESULTS_MD = HERE / "RESULTS.md"
BEGIN, END = "<!-- seed-sweeps:begin -->", "<!-- seed-sweeps:end -->"
#: the sweeps ``python bench/run.py --only sweep`` records: (label, server arguments, share of --seeds)
STANDARD = (
    ("default mode", [], 1.0),
    ("--malformed-input 500", ["--malformed-input=500"], 0.25),
    ("--malformed-input drop", ["--malformed-input=drop"], 0.25),
)


@dataclass
class SeedRun:
    seed: int
    exit_code: int
    seconds: float
    failed: list[str] = field(default_factory=list)  # failing test ids, with the first line of each message

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass
class Sweep:
    label: str
    target: str
    part: str
    server_args: list[str]
    start: int
    count: int
    jobs: int
    suite_args: list[str] = field(default_factory=list)
    date: str = ""
    commit: str = ""
    minutes: float = 0.0
    runs: list[SeedRun] = field(default_factory=list)

    @property
    def failures(self) -> list[SeedRun]:
        return [run for run in self.runs if not run.passed]

    def reproduce(self, seed: int) -> str:
        """The command that replays one seed of this sweep."""
        targets = " ".join(SEEDED) if self.part == "seeded" else "tests"
        command = " ".join([f"python -m pytest {targets} --contract-seed {seed}", *map(shlex.quote, self.suite_args)])
        if self.target == "embedded":
            return command + "".join(f" --reference-arg={shlex.quote(arg)}" for arg in self.server_args)
        server = " ".join(["python -m posthog_contract.reference", *map(shlex.quote, self.server_args)])
        return f"{server}  # then, with POSTHOG_HOST and the keys it prints: {command}"


#: what a sweep runs: a change here (not yet committed) is marked "+changes" beside the commit
_UNDER_TEST = ("src", "tests", "schemas", "conftest.py", "pyproject.toml")


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *_UNDER_TEST], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return (done.stdout.strip() or "unknown") + ("+changes" if dirty else "")


def run_seed(sweep: Sweep, seed: int, workdir: Path, env: dict[str, str], timeout: float) -> SeedRun:
    junit = workdir / f"seed-{seed}.xml"
    output = workdir / f"seed-{seed}.log"
    targets = SEEDED if sweep.part == "seeded" else ["tests"]
    command = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
               f"--contract-seed={seed}", *sweep.suite_args]  # fmt: skip
    if sweep.target == "embedded":
        command += [f"--reference-arg={arg}" for arg in sweep.server_args]
    started = time.monotonic()
    try:
        with open(output, "w") as handle:
            code = subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout).returncode  # fmt: skip
    except subprocess.TimeoutExpired:
        code = -1
    seconds = time.monotonic() - started
    failed = [f"{f.nodeid}: {f.message.strip().splitlines()[0][:200] if f.message.strip() else f.kind}"
              for f in read_failures(junit)]  # fmt: skip
    if code != 0 and not failed:
        failed = [f"exit {code} (see {output})"]
    if code == 0:
        junit.unlink(missing_ok=True)
        output.unlink(missing_ok=True)
    return SeedRun(seed, code, seconds, failed)


def sweep(
    label: str,
    *,
    seeds: int,
    start: int = 1,
    target: str = "embedded",
    part: str = "seeded",
    server_args: list[str] | None = None,
    jobs: int = 1,
    suite_args: list[str] | None = None,
    workdir: Path,
    timeout: float = 900,
) -> Sweep:
    """Run the suite once per seed and collect every failure (logs of failing seeds stay in ``workdir``)."""
    result = Sweep(label, target, part, list(server_args or []), start, seeds, jobs, list(suite_args or []),
                   date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), commit=_commit())  # fmt: skip
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    env = suite_environment()
    if target == "external":
        server, credentials = start_server(server_args=result.server_args)
        env = external_environment(credentials)
    started = time.monotonic()
    done = 0
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            seed_range = range(start, start + seeds)
            futures = [pool.submit(run_seed, result, seed, workdir, env, timeout) for seed in seed_range]
            for future in futures:
                run = future.result()
                result.runs.append(run)
                done += 1
                mark = "ok" if run.passed else "FAILED: " + "; ".join(run.failed)[:300]
                log(f"[{label}] seed {run.seed} ({done}/{seeds}) {run.seconds:.0f} s {mark}")
    finally:
        if server is not None:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=10)
    result.minutes = (time.monotonic() - started) / 60
    return result


# --- reporting ----------------------------------------------------------------------------------------


def summary_rows(sweeps: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    rows = []
    for s in sweeps:
        failures = [r for r in s["runs"] if r["exit_code"] != 0]
        seconds = sorted(r["seconds"] for r in s["runs"]) or [0.0]
        args = " ".join(s["server_args"]) or "(none)"
        if s.get("suite_args"):
            args += "; suite: " + " ".join(s["suite_args"])
        rows.append((s["label"], s["target"], s["part"], args, f"{s['start']}–{s['start'] + s['count'] - 1}",
                     s["count"], len(failures), f"{seconds[len(seconds) // 2]:.1f}", f"{s['minutes']:.0f}",
                     s["date"], s["commit"]))  # fmt: skip
    return rows


def render_section(sweeps: list[dict[str, Any]]) -> str:
    """The "Seed sweeps" section of RESULTS.md, from ``bench/sweeps.json``."""
    lines = [
        BEGIN,
        "## Seed sweeps",
        "",
        "`python bench/bench_sweep.py` (issue 24): the seeded part of the suite (`tests/test_property_based.py`,"
        " `tests/test_stateful.py`, the only tests whose requests depend on `--contract-seed`) once per seed over"
        " consecutive seeds, against the reference server in each mode. A conformant host must pass every seed;"
        " each failure is listed with the command that replays it.",
        "",
        table(["sweep", "target", "part", "server arguments", "seeds", "runs", "failures", "s per seed (median)",
               "minutes", "date", "commit"], summary_rows(sweeps)),  # fmt: skip
    ]
    failing = [(s, r) for s in sweeps for r in s["runs"] if r["exit_code"] != 0]
    if failing:
        lines += ["", "Failing seeds:", ""]
        for s, r in failing:
            lines.append(f"- {s['label']}, seed {r['seed']}: {'; '.join(r['failed'])[:400]}")
    lines += ["", END]
    return "\n".join(lines)


def load_sweeps(path: Path = SWEEPS_JSON) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else []


def record(result: Sweep, path: Path = SWEEPS_JSON, results_md: Path = RESULTS_MD) -> None:
    """Keep the sweep (replacing an earlier one of the same label, target, part and server arguments) and
    rewrite the RESULTS.md section from all kept sweeps."""
    kept = [s for s in load_sweeps(path)
            if (s["label"], s["target"], s["part"], s["server_args"], s.get("suite_args", []))
            != (result.label, result.target, result.part, result.server_args, result.suite_args)]  # fmt: skip
    kept.append(asdict(result))
    path.write_text(json.dumps(kept, indent=1) + "\n")
    write_section(render_section(kept), results_md)


def write_section(section: str, results_md: Path = RESULTS_MD) -> None:
    text = results_md.read_text(encoding="utf-8") if results_md.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    results_md.write_text(text, encoding="utf-8")


def report(result: Sweep) -> str:
    """The sweep as printed on the terminal: the summary and every failing seed with its reproduce command."""
    lines = [table(["sweep", "target", "part", "server arguments", "seeds", "runs", "failures",
                    "s per seed (median)", "minutes", "date", "commit"], summary_rows([asdict(result)]))]  # fmt: skip
    for run in result.failures:
        lines += ["", f"seed {run.seed} failed (exit {run.exit_code}):", *(f"  {line}" for line in run.failed),
                  f"  reproduce: {result.reproduce(run.seed)}"]  # fmt: skip
    if not result.failures:
        lines += ["", f"0 failures over {len(result.runs)} consecutive seeds"]
    return "\n".join(lines)


def standard(seeds: int, workdir: Path, *, jobs: int = 1, start: int = 1) -> list[Sweep]:
    """The standard set: ``seeds`` in the default mode, a quarter of that in each ``--malformed-input`` mode."""
    results = []
    for label, server_args, share in STANDARD:
        count = max(1, int(seeds * share))
        results.append(sweep(label, seeds=count, start=start, server_args=server_args, jobs=jobs,
                             workdir=workdir / label.replace(" ", "_").strip("-")))  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bench_sweep.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seeds", type=int, default=200, help="how many consecutive seeds (default 200)")
    parser.add_argument("--start", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--target", choices=("embedded", "external"), default="embedded")
    parser.add_argument("--part", choices=("seeded", "all"), default="seeded",
                        help="seeded: the property-based tests and the state machine (default); all: tests/")
    parser.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                        help="a flag for the reference server, e.g. --server-arg=--malformed-input=500 (repeatable)")
    parser.add_argument("--suite-arg", action="append", default=[], metavar="ARG",
                        help="a flag for the suite, e.g. --suite-arg=--posthog-baseline=2024-01 (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run in parallel (default 1)")
    parser.add_argument("--label", help="the sweep's name in the results (default: its server arguments)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/posthog-contract-sweep"),
                        help="logs and JUnit files of failing seeds (default /tmp/posthog-contract-sweep)")
    parser.add_argument("--record", action="store_true", help="keep it in bench/sweeps.json and bench/RESULTS.md")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per seed run (default 900)")
    args = parser.parse_args(argv)
    label = args.label or (" ".join(args.server_arg) or "default mode")
    result = sweep(label, seeds=args.seeds, start=args.start, target=args.target, part=args.part,
                   server_args=args.server_arg, jobs=args.jobs, suite_args=args.suite_arg, workdir=args.workdir,
                   timeout=args.timeout)  # fmt: skip
    print(report(result))
    if args.record:
        record(result)
        log(f"recorded in {SWEEPS_JSON} and {RESULTS_MD}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())
