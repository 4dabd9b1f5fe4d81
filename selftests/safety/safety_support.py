"""Helpers for the safety self-tests (fixtures in conftest.py): reference servers we start and stop
ourselves, the contract suite run in a subprocess against them, and reads of what is left on the
host afterwards.

Everything goes over HTTP or through process boundaries, as it would against a real host: the
tests prove properties of the suite *as a user runs it* (``python -m pytest tests``), signals and
all. Every server gets a fresh SQLite file, so "the run's dashboards" are exactly the run-tagged
ones on that server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
NO_THROTTLE = ("--rate-limit", "1000000/min")
READY_TIMEOUT_S = 30.0
RUN_NAME = re.compile(r"^posthog-contract (pcr[a-z0-9]{10}) ")
#: pytest plugins a run of the scenario files does not need (schemathesis, hypothesis, the dev extras):
#: without them a subprocess starts in under a second instead of ~3 s. Runs that collect
#: tests/test_property_based.py or tests/test_stateful.py, or that stand for "the user's run", keep them all.
_UNNEEDED_PLUGINS = ("schemathesis", "hypothesispytest", "benchmark", "anyio", "xdist", "timeout")
LEAN = tuple(arg for name in _UNNEEDED_PLUGINS for arg in ("-p", f"no:{name}"))
#: the keys a run may be handed; none of them may appear in anything the run produces
KEY_FIELDS = ("personal_api_key", "readonly_api_key", "project_api_key")


@dataclass
class Server:
    """A reference server subprocess and its credentials line."""

    process: subprocess.Popen[bytes]
    credentials: dict[str, Any]
    args: tuple[str, ...]
    stderr: list[bytes] = field(default_factory=list)
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return str(self.credentials["base_url"])

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def project_path(self) -> str:
        return f"/api/projects/{self.credentials['project_id']}"

    def client(self, key: str | None = "personal_api_key", timeout: float = 30.0) -> httpx.Client:
        headers = {} if key is None else {"Authorization": f"Bearer {self.credentials[key]}"}
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self._clients.append(client)
        return client

    def suite_env(self, **extra: str | None) -> dict[str, str]:
        """The environment for ``python -m pytest tests`` pointed at this server (None unsets a variable)."""
        creds = self.credentials
        settings = {
            "POSTHOG_HOST": self.base_url,
            "POSTHOG_PERSONAL_API_KEY": creds["personal_api_key"],
            "POSTHOG_PROJECT_ID": str(creds["project_id"]),
            "POSTHOG_PROJECT_API_KEY": creds["project_api_key"],
            "POSTHOG_READONLY_API_KEY": creds["readonly_api_key"],
            "POSTHOG_COLLABORATOR_UUID": creds["collaborator_uuid"],
            "POSTHOG_OTHER_PROJECT_ID": str(creds["other_project_id"]),
            "POSTHOG_DATA_COLOR_THEME_ID": str(creds["data_color_theme_id"]),
            "POSTHOG_QUICK_FILTER_ID": str(creds["quick_filter_id"]),
        }
        settings.update(extra)
        return suite_environment(**{k: v for k, v in settings.items() if v is not None})

    def secrets(self) -> list[str]:
        return [str(self.credentials[k]) for k in KEY_FIELDS]

    def rss_kib(self, *, peak: bool = False) -> int:
        """Resident memory of the server process (Linux /proc); ``peak``: the high-water mark (VmHWM)."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        field = "VmHWM" if peak else "VmRSS"
        return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))  # type: ignore[union-attr]

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        return self.process.wait(timeout=timeout)

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def stop(self) -> None:
        self.close_clients()
        if self.process.poll() is None:
            try:
                if self.process.stdin:
                    self.process.stdin.close()
                self.process.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.process.kill()
                self.process.wait(timeout=5)

    def stderr_text(self) -> str:
        return b"".join(self.stderr).decode(errors="replace")


def start_server(*args: str, throttle: bool = False) -> Server:
    """``python -m posthog_contract.reference --port 0 --exit-with-stdin [args]``, ready to serve."""
    extra = tuple(args) if throttle else (*NO_THROTTLE, *args)
    command = [sys.executable, "-m", "posthog_contract.reference", "--port", "0", "--exit-with-stdin", *extra]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT
    )
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT_S)
    if not line or not line[0].strip():
        process.kill()
        stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"reference server {extra} did not announce itself: {stderr[-2000:]}")
    server = Server(process, json.loads(line[0]), extra)

    def drain() -> None:  # keep stderr flowing (and kept, for assertions about tracebacks)
        assert process.stderr is not None
        for chunk in iter(lambda: process.stderr.read1(65536), b""):  # type: ignore[union-attr]
            server.stderr.append(chunk)

    threading.Thread(target=drain, daemon=True).start()
    return server


# --- the contract suite in a subprocess ----------------------------------------------------------------


def suite_environment(**settings: str) -> dict[str, str]:
    """os.environ without any POSTHOG_* / PYTEST_* variable of ours, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "PYTEST_"))}
    if "POSTHOG_CONTRACT_SEED" in os.environ:  # selftests/conftest.py pins it: reproducible generated runs
        env["POSTHOG_CONTRACT_SEED"] = os.environ["POSTHOG_CONTRACT_SEED"]
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def suite_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"]


@dataclass
class SuiteRun:
    returncode: int
    output: str  # stdout + stderr
    seconds: float


def run_suite(*args: str, env: dict[str, str], timeout: float = 600.0, cwd: Path = ROOT) -> SuiteRun:
    """Run ``python -m pytest ARGS`` to completion; stdout and stderr together."""
    start = time.monotonic()
    done = subprocess.run(
        suite_command(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout
    )
    return SuiteRun(done.returncode, done.stdout.decode(errors="replace"), time.monotonic() - start)


@dataclass
class RunningSuite:
    process: subprocess.Popen[bytes]
    chunks: list[bytes] = field(default_factory=list)

    @property
    def output(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")

    def finish(self, timeout: float = 120.0) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def spawn_suite_process(*args: str, env: dict[str, str], cwd: Path = ROOT) -> RunningSuite:
    """Start ``python -m pytest ARGS`` in the background, its output collected as it comes."""
    process = subprocess.Popen(suite_command(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    suite = RunningSuite(process)

    def drain() -> None:
        assert process.stdout is not None
        for chunk in iter(lambda: process.stdout.read1(65536), b""):  # type: ignore[union-attr]
            suite.chunks.append(chunk)

    threading.Thread(target=drain, daemon=True).start()
    return suite


# --- reading the host ----------------------------------------------------------------------------------


def all_dashboards(client: httpx.Client, project_path: str) -> list[dict[str, Any]]:
    """Every live dashboard of the project (walks ``next``)."""
    found: list[dict[str, Any]] = []
    url: str | None = f"{project_path}/dashboards/"
    params: dict[str, Any] | None = {"limit": 200}
    while url:
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        found += body["results"]
        url, params = body["next"], None
    return found


def run_dashboards(client: httpx.Client, project_path: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """Live dashboards named by a suite run (that run only, if given)."""
    out = []
    for item in all_dashboards(client, project_path):
        match = RUN_NAME.match(item.get("name") or "")
        if match and (run_id is None or match.group(1) == run_id):
            out.append(item)
    return out


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def interrupt_once_dashboards_exist(
    server: Server,
    suite: RunningSuite,
    signum: int,
    *,
    at_least: int = 4,
    timeout: float = 90.0,
    ignore_runs: frozenset[str] = frozenset(),
) -> str:
    """Wait until the run has ``at_least`` live dashboards, send ``signum``; return the run id."""
    api = server.client()

    def enough() -> str | None:
        if suite.process.poll() is not None:
            raise AssertionError(f"the suite ended before it was interrupted:\n{suite.output[-3000:]}")
        live = [
            d for d in run_dashboards(api, server.project_path)
            if RUN_NAME.match(d["name"]).group(1) not in ignore_runs  # type: ignore[union-attr]
        ]
        ids = {RUN_NAME.match(d["name"]).group(1) for d in live}  # type: ignore[union-attr]
        return ids.pop() if len(live) >= at_least and len(ids) == 1 else None

    run_id = wait_for(enough, timeout=timeout, interval=0.1, what=f"{at_least} dashboards of the run")
    suite.process.send_signal(signum)
    return run_id


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
