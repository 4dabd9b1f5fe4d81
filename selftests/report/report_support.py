"""Helpers of the report's self-tests: run the contract suite (or the CLI) in a subprocess, as users do.

A suite run writes ``--report``, ``--junitxml`` and the reference server's credentials (the canary:
none of those keys may reach any artifact). It leaves out the schemathesis tests
(tests/test_property_based.py, tests/test_stateful.py): they take minutes, and their mapping is covered by
test_collect.py on a small stand-in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posthog_contract.mutation import ROOT, external_environment, start_server, suite_environment

SUITE_TIMEOUT_S = 600
SLOW_SUITE_FILES = ("tests/test_property_based.py", "tests/test_stateful.py")


@dataclass
class SuiteRun:
    directory: Path
    exit_code: int
    output: str

    @property
    def report_json(self) -> Path:
        return self.directory / "report" / "report.json"

    @property
    def report_html(self) -> Path:
        return self.directory / "report" / "report.html"

    @property
    def junit(self) -> Path:
        return self.directory / "junit.xml"

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.report_json.read_text(encoding="utf-8"))

    def secrets(self) -> list[str]:
        """Every key of the reference world the run used (the canary values)."""
        credentials = json.loads((self.directory / "credentials.json").read_text(encoding="utf-8"))
        return [str(v) for k, v in credentials.items() if k.endswith("_key") and v]


def run_suite(directory: Path, *server_args: str, extra: tuple[str, ...] = (), whole: bool = False,
              targets: tuple[str, ...] = ("tests",)) -> SuiteRun:
    """The contract suite (or ``targets`` of it) against the embedded server; without ``whole`` the slow
    generated files are left out (their matrix column is then honestly "not checked")."""
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", *targets, "-p", "no:cacheprovider", "-rA",
        *(() if whole else (f"--ignore={path}" for path in SLOW_SUITE_FILES)),
        "--report", str(directory / "report"),
        f"--junitxml={directory / 'junit.xml'}",
        f"--reference-arg=--credentials={directory / 'credentials.json'}",
        *(f"--reference-arg={arg}" for arg in server_args),
        *extra,
    ]
    done = subprocess.run(command, cwd=ROOT, env=suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=SUITE_TIMEOUT_S)
    return SuiteRun(directory, done.returncode, done.stdout + done.stderr)




def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posthog_contract", *args], cwd=ROOT, env=suite_environment(),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=SUITE_TIMEOUT_S)


def run_external(directory: Path, *targets: str, unset: tuple[str, ...] = ()) -> SuiteRun:
    """``pytest TARGETS --report`` against a reference server started as an *external* host (every setting
    given through POSTHOG_* variables, as on a real host), with the ``unset`` variables left out."""
    directory.mkdir(parents=True, exist_ok=True)
    process, credentials = start_server()
    try:
        (directory / "credentials.json").write_text(json.dumps(credentials), encoding="utf-8")
        env = {k: v for k, v in external_environment(credentials).items() if k not in unset}
        command = [sys.executable, "-m", "pytest", *targets, "-p", "no:cacheprovider", "-rA",
                   "--report", str(directory / "report"), f"--junitxml={directory / 'junit.xml'}"]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=SUITE_TIMEOUT_S)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    return SuiteRun(directory, done.returncode, done.stdout + done.stderr)
