"""Run the contract suite, as users run it, against each mutant of the reference server.

``python -m posthog_contract.mutation [--jobs 2] [--only NAME ...] [--out DIR]`` prints one line per
mutant and ``mutation score: K/N``, and writes ``kill-table.md`` and ``kill-table.json``.

Honest accounting: each mutant declares the tests expected to kill it (``mutants.declare(...,
killed_by=...)``, else ``reference/mutant_killers.py``). A mutant is *killed* only when the suite
exits 1 and one of those tests *fails* with an assertion about the host: an exit 4 (preflight), a
fixture or tool error, or a failure of an undeclared test is not a kill. For each kill the
hand-written killing tests are run again against the same mutant served as an *external* host
(``POSTHOG_HOST``): the table says whether the kill needed the embedded server. The score is
printed only when the clean run passes. By default each mutant first meets the hand-written
scenarios alone (``-m "not property_based"``: the tests marked as the property-based part are left
out); the whole suite runs only for a mutant they leave alive whose declared killers did not run in
that first phase. Which tests are property-based is what their marks say, never their file names.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .embedded import UNTHROTTLED

ROOT = Path(__file__).resolve().parents[2]
#: phase one: the hand-written scenarios only (seconds per mutant); the property-based part (the tests
#: marked ``property_based``) runs in phase two, for the mutants phase one leaves alive whose declared
#: killers did not run in phase one
SCENARIOS_ONLY = ["-m", "not property_based"]
#: pytest's exit status when no test was selected
_NO_TESTS = 5
#: failure messages that name the tool or the transport, not the host's behaviour
TOOL_ERRORS = (
    "RateLimitExhausted",
    "ReadOnlyViolation",
    "ConnectError",
    "ConnectTimeout",
    "ReadTimeout",
    "RemoteProtocolError",
    "posthog-contract refuses",
)
#: the suite's assertions about the host (AssertionError and its subclasses the suite raises)
_HOST_ASSERTIONS = ("AssertionError", "ContractViolation", "EventsNotListable", "HostViolation", "Contract rule broken")


@dataclass
class TestFailure:
    """One failed or erroring test of a run, from its JUnit XML."""

    nodeid: str
    kind: str  # "failure" (the test's assertion) or "error" (setup, teardown, collection)
    message: str = ""

    @property
    def about_the_host(self) -> bool:
        if any(marker in self.message for marker in TOOL_ERRORS):
            return False
        if self.kind == "failure":
            return True
        # a fixture that judges the host (seeding events: "captured events never became listable")
        # fails in setup; JUnit calls that an error, but it is an assertion about the host all the same
        return self.message.startswith("failed on setup with") and any(
            name in self.message for name in _HOST_ASSERTIONS
        )


@dataclass
class SuiteRun:
    mutant: str | None
    rule: str
    exit_code: int
    seconds: float
    failed_tests: list[str] = field(default_factory=list)  # "test_module::name", failures and errors
    failures: list[TestFailure] = field(default_factory=list)
    expected: tuple[str, ...] = ()  # the declared killers
    needs_embedded: str = ""  # "yes", "no", "generated only: not re-run", "" (not judged)
    ran: list[str] = field(default_factory=list, repr=False)  # every test id the run's JUnit XML lists

    @property
    def killing_tests(self) -> list[str]:
        """Declared killers that failed with an assertion about the host (any such failure when none
        are declared, for ad-hoc runs)."""
        return [
            f.nodeid
            for f in self.failures
            if f.about_the_host and (not self.expected or any(_matches(f.nodeid, k) for k in self.expected))
        ]

    @property
    def killed(self) -> bool:
        return self.exit_code == 1 and bool(self.killing_tests)

    @property
    def verdict(self) -> str:
        if self.killed:
            return "killed"
        if self.exit_code == 0:
            return "SURVIVED"
        if self.exit_code == 1 and any(f.about_the_host for f in self.failures):
            return "NOT KILLED (only undeclared tests failed)"
        return f"NOT KILLED (exit {self.exit_code}, no assertion about the host)"


def _matches(nodeid: str, killer: str) -> bool:
    return nodeid == killer or nodeid.startswith(killer)


def _listing() -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "posthog_contract.reference", "--list-mutants"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if "\t" in line]


def catalogue() -> dict[str, str]:
    """Every mutant the reference server declares and its rule, asked over its CLI (no import of the server)."""
    return {row[0]: row[1] for row in _listing()}


def killers() -> dict[str, tuple[str, ...]]:
    """Every mutant's declared killers (test modules or node ids)."""
    return {row[0]: tuple(k for k in (row[2] if len(row) > 2 else "").split(",") if k) for row in _listing()}


def _nodeid(case: ElementTree.Element) -> str:
    module = case.get("classname", "").replace(".", "/")
    return f"{module}.py::{case.get('name', '')}"


def read_failures(junit: Path) -> list[TestFailure]:
    if not junit.exists():
        return []
    found = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        for kind in ("failure", "error"):
            element = case.find(kind)
            if element is not None:
                found.append(TestFailure(_nodeid(case), kind, (element.get("message") or "")[:2000]))
                break
    return found


def test_ids(junit: Path) -> list[str]:
    """Every test case of a run's JUnit XML, as node ids."""
    if not junit.exists():
        return []
    return [_nodeid(case) for case in ElementTree.parse(junit).getroot().iter("testcase")]


def unrun_killers(run: SuiteRun) -> list[str]:
    """The declared killers no test of the run stood for (deselected, or never reached)."""
    return [killer for killer in run.expected if not any(_matches(test, killer) for test in run.ran)]


def _failed_tests(failures: list[TestFailure]) -> list[str]:
    return [f.nodeid.removeprefix("tests/").replace(".py::", "::", 1) for f in failures]


def suite_environment() -> dict[str, str]:
    """The caller's environment without any host configuration: the suite starts its own server."""
    kept = ("POSTHOG_CONTRACT_PROFILE", "POSTHOG_CONTRACT_SEED")
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_") or k in kept}


def suite_targets() -> list[str]:
    """``tests/`` module by module (the plugin runs the property-based tests last whatever their file, so
    with ``--maxfail`` a mutant that a scenario kills stops before the slower property-based part)."""
    return [f"tests/{p.name}" for p in sorted((ROOT / "tests").glob("test_*.py"))]


def killers_first(targets: list[str], expected: tuple[str, ...]) -> list[str]:
    """The declared killers' modules first: with ``--maxfail`` an undeclared module that also trips on
    the mutant (a shape mutant fails every test that creates a dashboard) must not use up the
    failures before the declared killer runs."""
    modules = [killer.split("::", 1)[0] for killer in expected]
    first = [target for target in dict.fromkeys(modules) if target in targets]
    return first + [target for target in targets if target not in first]


def _pytest(targets: list[str], junit: Path, pytest_args: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *targets,
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        *pytest_args,
    ]


def _run(command: list[str], log_path: Path, env: dict[str, str], timeout: float) -> int:
    try:
        with open(log_path, "w") as log:
            return subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
            ).returncode
    except subprocess.TimeoutExpired:
        return -1


def run_suite(
    mutant: str | None,
    rule: str,
    workdir: Path,
    pytest_args: list[str],
    *,
    server_args: list[str] | None = None,
    timeout: float = 900,
    expected: tuple[str, ...] = (),
) -> SuiteRun:
    """One run of ``pytest tests`` in a subprocess, against a server with ``mutant`` switched on."""
    label = mutant or "clean"
    junit = workdir / f"{label}.xml"
    # explicit file arguments defeat --ignore: leave the ignored modules out of the targets instead
    # explicit file arguments defeat --ignore: leave the ignored modules out of the targets instead
    targets = [target for target in suite_targets() if f"--ignore={target}" not in pytest_args]
    targets = killers_first(targets, expected)
    command = _pytest(targets, junit, pytest_args)
    if mutant:
        command.append(f"--reference-arg=--mutant={mutant}")
    command += [f"--reference-arg={arg}" for arg in server_args or []]
    started = time.monotonic()
    code = _run(command, workdir / f"{label}.log", suite_environment(), timeout)
    failures = read_failures(junit)
    seconds = time.monotonic() - started
    return SuiteRun(mutant, rule, code, seconds, _failed_tests(failures), failures, expected, ran=test_ids(junit))


# --- the external re-check: does the kill need the embedded server? ------------------------------------


def start_server(
    mutant: str | None = None, server_args: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """A reference server (with ``mutant`` switched on, and any ``server_args``: a rate limit among them
    overrides the unthrottled default) to be used as an external host, and its credentials; it stops when
    its stdin closes."""
    command = [sys.executable, "-m", "posthog_contract.reference", "--port", "0", "--exit-with-stdin",
               *UNTHROTTLED, *(("--mutant", mutant) if mutant else ()), *server_args]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    if not line or not line[0].strip():
        process.kill()
        raise RuntimeError(f"the reference server (mutant {mutant}, {list(server_args)}) did not start")
    return process, json.loads(line[0])


def external_environment(credentials: dict[str, Any]) -> dict[str, str]:
    """The suite's environment pointed at a reference server as an external host (every key it announced)."""
    env = suite_environment()
    env.update(
        POSTHOG_HOST=str(credentials["base_url"]),
        POSTHOG_PERSONAL_API_KEY=str(credentials["personal_api_key"]),
        POSTHOG_PROJECT_ID=str(credentials["project_id"]),
        POSTHOG_PROJECT_API_KEY=str(credentials["project_api_key"]),
        POSTHOG_READONLY_API_KEY=str(credentials["readonly_api_key"]),
        POSTHOG_COLLABORATOR_UUID=str(credentials["collaborator_uuid"]),
        POSTHOG_OTHER_PROJECT_ID=str(credentials["other_project_id"]),
        POSTHOG_DATA_COLOR_THEME_ID=str(credentials["data_color_theme_id"]),
        POSTHOG_QUICK_FILTER_ID=str(credentials["quick_filter_id"]),
    )
    return env


def recheck_externally(run: SuiteRun, workdir: Path, timeout: float = 300) -> str:
    """Run the hand-written killing tests (not the property-based part) again with the mutant served as an
    external host."""
    tests = sorted(set(run.killing_tests))
    if not tests:
        return "generated only: not re-run"
    assert run.mutant is not None
    process, credentials = start_server(run.mutant)
    try:
        junit = workdir / f"{run.mutant}.external.xml"
        code = _run(
            _pytest(tests, junit, SCENARIOS_ONLY),
            workdir / f"{run.mutant}.external.log",
            external_environment(credentials),
            timeout,
        )
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if code == _NO_TESTS:  # every killing test is property-based
        return "generated only: not re-run"
    again = {f.nodeid for f in read_failures(junit) if f.about_the_host}
    return "no" if again & set(tests) else "yes"


def run_all(
    mutants: dict[str, str],
    workdir: Path,
    *,
    jobs: int = 2,
    pytest_args: list[str] | None = None,
    echo: bool = True,
    external: bool = False,
    two_phase: bool = False,
) -> list[SuiteRun]:
    workdir.mkdir(parents=True, exist_ok=True)
    args = list(pytest_args or [])
    declared = killers()

    def one(item: tuple[str, str]) -> SuiteRun:
        expected = declared.get(item[0], ())
        if two_phase:
            result = run_suite(item[0], item[1], workdir, [*args, *SCENARIOS_ONLY], expected=expected)
            if not result.killed and unrun_killers(result):
                result = run_suite(item[0], item[1], workdir, args, expected=expected)
        else:
            result = run_suite(item[0], item[1], workdir, args, expected=expected)
        if external and result.killed:
            result.needs_embedded = recheck_externally(result, workdir)
        if echo:
            shown = ", ".join(result.killing_tests[:2] or result.failed_tests[:2])
            print(f"{result.verdict[:9]:9} {result.mutant:45} {result.seconds:6.1f}s  {shown}", flush=True)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, sorted(mutants.items())))


def write_table(results: list[SuiteRun], out: Path, clean: SuiteRun | None = None) -> str:
    """``kill-table.md`` and ``kill-table.json``; the score line only when the clean run passed."""
    killed = sum(r.killed for r in results)
    if clean is not None and clean.exit_code != 0:
        score = f"no mutation score: the clean run failed (exit {clean.exit_code})"
    else:
        score = f"mutation score: {killed}/{len(results)}"
    embedded = sum(r.needs_embedded == "yes" for r in results)
    rechecked = any(r.needs_embedded for r in results)
    needs = (
        f"Kills that needed the embedded server: {embedded}."
        if rechecked
        else "Kills were not re-checked against an external host in this run (`python -m posthog_contract.mutation`"
        " does that; the self-test does not), so the needs-embedded column is empty."
    )
    lines = [
        f"# Kill table\n\n{score}\n",
        f"A kill counts only when a declared killer fails with an assertion about the host. {needs}\n",
        "| mutant | rule broken | verdict | killed by | needs embedded | declared killers |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        tests = "<br>".join(r.killing_tests[:4]) or "<br>".join(r.failed_tests[:3]) or "—"
        declared = "<br>".join(r.expected) or "—"
        lines.append(f"| `{r.mutant}` | {r.rule} | {r.verdict} | {tests} | {r.needs_embedded or '—'} | {declared} |")
    lines += _sole_killer_lines(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kill-table.md").write_text("\n".join(lines) + "\n")
    rows = [
        {k: v for k, v in asdict(r).items() if k != "ran"}
        | {"killed": r.killed, "killing_tests": r.killing_tests, "verdict": r.verdict}
        for r in results
    ]
    (out / "kill-table.json").write_text(json.dumps(rows, indent=2))
    return score


def sole_killers(results: list[SuiteRun]) -> dict[str, list[str]]:
    """Test module -> the mutants only that module's tests killed (what would go unseen without it)."""
    sole: dict[str, list[str]] = {}
    for run in results:
        modules = {test.split("::", 1)[0] for test in run.killing_tests}
        if run.killed and len(modules) == 1 and run.mutant:
            sole.setdefault(modules.pop(), []).append(run.mutant)
    return dict(sorted(sole.items()))


def _sole_killer_lines(results: list[SuiteRun]) -> list[str]:
    sole = sole_killers(results)
    lines = [
        "",
        "## Kills only one module made",
        "",
        "What each module finds that no other module of the run did (with `--maxfail`, a module that did not get"
        " to run kills nothing): the measure of what cutting it would lose.",
        "",
        "| module | mutants only it killed |",
        "|---|---|",
    ]
    lines += [f"| {module} | {len(names)}: {', '.join(f'`{n}`' for n in names)} |" for module, names in sole.items()]
    return lines


def rebuild(out: Path) -> tuple[list[SuiteRun], SuiteRun | None]:
    """The results of a finished run from its folder, judged against the current declarations."""
    saved = {row["mutant"]: row for row in json.loads((out / "kill-table.json").read_text())}
    declared, rules = killers(), catalogue()
    results = []
    for name in sorted(saved):
        failures = read_failures(out / f"{name}.xml")
        row = saved[name]
        results.append(
            SuiteRun(
                name,
                rules.get(name, row["rule"]),
                row["exit_code"],
                row["seconds"],
                _failed_tests(failures),
                failures,
                declared.get(name, ()),
                row.get("needs_embedded", ""),
                test_ids(out / f"{name}.xml"),
            )  # fmt: skip
        )
    clean_failures = read_failures(out / "clean.xml")
    clean = SuiteRun(None, "clean", 1 if clean_failures else 0, 0.0) if (out / "clean.xml").exists() else None
    return results, clean


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posthog_contract.mutation", description=__doc__)
    parser.add_argument("--only", nargs="*", help="mutant names (default: every mutant)")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs in parallel (default 2)")
    parser.add_argument("--out", default="artifacts/mutation", help="folder for logs and the kill table")
    parser.add_argument("--pytest-arg", action="append", default=[], help="extra pytest argument (repeatable)")
    parser.add_argument("--no-external", action="store_true", help="skip re-running kills against an external host")
    parser.add_argument("--rebuild", action="store_true", help="re-judge the runs already in --out (no new runs)")
    parser.add_argument(
        "--one-phase", action="store_true", help="run the whole suite for every mutant (default: scenarios first)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.rebuild:
        results, clean = rebuild(out)
        print(write_table(results, out, clean))
        return 0 if all(r.killed for r in results) else 1
    everything = catalogue()
    unknown = sorted(set(args.only or []) - everything.keys())
    if unknown:
        print(f"error: unknown mutant(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    chosen = {name: everything[name] for name in (args.only or everything)}
    out.mkdir(parents=True, exist_ok=True)
    clean = run_suite(None, "none (clean server)", out, args.pytest_arg)
    print(f"clean run: exit {clean.exit_code} in {clean.seconds:.1f}s {', '.join(clean.failed_tests[:5])}", flush=True)
    if clean.exit_code != 0:
        print(f"no mutation score: the clean run failed (exit {clean.exit_code}); fix it first", flush=True)
        return 1
    results = run_all(
        chosen,
        out,
        jobs=args.jobs,
        pytest_args=args.pytest_arg,
        external=not args.no_external,
        two_phase=not args.one_phase,
    )
    score = write_table(results, out, clean)
    print(score)
    return 0 if all(r.killed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
