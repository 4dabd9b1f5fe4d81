"""Run the contract suite, as users run it, against each mutant of the reference server.

``python -m posthog_contract.mutation [--jobs 2] [--only NAME ...] [--out DIR]`` prints one line per
mutant and ``mutation score: K/N``, and writes ``kill-table.md`` and ``kill-table.json``. A mutant
is *killed* when the suite exits non-zero because tests failed (exit 1) or the preflight refused
the host (exit 4); a clean run must exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

KILLING_EXIT_CODES = (1, 4)
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    mutant: str | None
    rule: str
    exit_code: int
    seconds: float
    failed_tests: list[str] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.exit_code in KILLING_EXIT_CODES


def catalogue() -> dict[str, str]:
    """Every mutant the reference server declares, asked over its CLI (no import of the server)."""
    out = subprocess.run(
        [sys.executable, "-m", "posthog_contract.reference", "--list-mutants"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def _failed_tests(junit: Path) -> list[str]:
    if not junit.exists():
        return []
    failed = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname', '')}::{case.get('name', '')}".removeprefix("tests."))
    return failed


def suite_environment() -> dict[str, str]:
    """The caller's environment without any host configuration: the suite starts its own server."""
    kept = ("POSTHOG_CONTRACT_PROFILE", "POSTHOG_CONTRACT_SEED")
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_") or k in kept}


def suite_targets() -> list[str]:
    """``tests/`` with the generated (schemathesis) modules last: with ``--maxfail`` a mutant that a
    scenario kills stops before the slower property-based part."""
    modules = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    slow = [m for m in modules if m in ("test_generated.py", "test_stateful.py")]
    return [f"tests/{m}" for m in [m for m in modules if m not in slow] + slow]


def run_suite(
    mutant: str | None,
    rule: str,
    workdir: Path,
    pytest_args: list[str],
    *,
    server_args: list[str] | None = None,
    timeout: float = 900,
) -> SuiteRun:
    """One run of ``pytest tests`` in a subprocess, against a server with ``mutant`` switched on."""
    label = mutant or "clean"
    junit = workdir / f"{label}.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        *pytest_args,
    ]
    if mutant:
        command.append(f"--reference-arg=--mutant={mutant}")
    command += [f"--reference-arg={arg}" for arg in server_args or []]
    started = time.monotonic()
    try:
        with open(workdir / f"{label}.log", "w") as log:
            code = subprocess.run(
                command,
                cwd=ROOT,
                env=suite_environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
            ).returncode
    except subprocess.TimeoutExpired:
        code = -1
    return SuiteRun(mutant, rule, code, time.monotonic() - started, _failed_tests(junit))


def run_all(
    mutants: dict[str, str], workdir: Path, *, jobs: int = 2, pytest_args: list[str] | None = None, echo: bool = True
) -> list[SuiteRun]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = list(pytest_args or [])

    def one(item: tuple[str, str]) -> SuiteRun:
        result = run_suite(item[0], item[1], workdir, args)
        if echo:
            verdict = (
                "killed " if result.killed else "SURVIVED" if result.exit_code == 0 else f"error {result.exit_code}"
            )
            print(
                f"{verdict:9} {result.mutant:45} {result.seconds:6.1f}s  {', '.join(result.failed_tests[:3])}",
                flush=True,
            )
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, sorted(mutants.items())))


def write_table(results: list[SuiteRun], out: Path) -> str:
    killed = sum(r.killed for r in results)
    score = f"mutation score: {killed}/{len(results)}"
    lines = [
        f"# Kill table\n\n{score}\n",
        "| mutant | rule broken | killed | failing tests (first 5) |",
        "|---|---|---|---|",
    ]
    for r in results:
        tests = "<br>".join(r.failed_tests[:5]) or (f"exit {r.exit_code}" if r.exit_code else "—")
        lines.append(f"| `{r.mutant}` | {r.rule} | {'yes' if r.killed else 'NO'} | {tests} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "kill-table.md").write_text("\n".join(lines) + "\n")
    (out / "kill-table.json").write_text(json.dumps([asdict(r) | {"killed": r.killed} for r in results], indent=2))
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posthog_contract.mutation", description=__doc__)
    parser.add_argument("--only", nargs="*", help="mutant names (default: every mutant)")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs in parallel (default 2)")
    parser.add_argument("--out", default="artifacts/mutation", help="folder for logs and the kill table")
    parser.add_argument("--pytest-arg", action="append", default=[], help="extra pytest argument (repeatable)")
    args = parser.parse_args(argv)
    everything = catalogue()
    unknown = sorted(set(args.only or []) - everything.keys())
    if unknown:
        print(f"error: unknown mutant(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = {name: everything[name] for name in (args.only or everything)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    clean = run_suite(None, "none (clean server)", out, args.pytest_arg)
    print(f"clean run: exit {clean.exit_code} in {clean.seconds:.1f}s {', '.join(clean.failed_tests[:5])}", flush=True)
    results = run_all(chosen, out, jobs=args.jobs, pytest_args=args.pytest_arg)
    score = write_table(results, out)
    print(score)
    return 0 if clean.exit_code == 0 and all(r.killed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
