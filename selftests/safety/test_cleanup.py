"""Cleanup always happens: after a failing run, on Ctrl-C, on SIGTERM; and after SIGKILL the
``cleanup`` command finds the leftovers by run tag and touches nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from safety_support import (
    LEAN,
    ROOT,
    SIGNALS,
    all_dashboards,
    interrupt_once_dashboards_exist,
    run_dashboards,
    run_suite,
    suite_environment,
)

from posthog_contract import lifecycle
from posthog_contract.client import ContractClient
from posthog_contract.paths import ApiPaths
from posthog_contract.redaction import Redactor
from posthog_contract.resources import RunResources, dashboard_name


def _names(dashboards: list[dict]) -> list[str]:
    return sorted(d["name"] for d in dashboards)


@pytest.mark.parametrize("signal_name", sorted(SIGNALS))
def test_signal_mid_run_soft_deletes_everything_the_run_created(server, spawn_suite, signal_name, tmp_path):
    report = tmp_path / "report"
    suite = spawn_suite("tests", "-q", "--report", str(report), env=server.suite_env())
    run_id = interrupt_once_dashboards_exist(server, suite, SIGNALS[signal_name], at_least=4)
    code = suite.finish(timeout=60)
    output = suite.output
    assert code == 2, f"an interrupted run exits 2 (pytest's INTERRUPTED), got {code}:\n{output[-3000:]}"
    api = server.client()
    left = run_dashboards(api, server.project_path, run_id)
    assert not left, f"{signal_name} left live dashboards of run {run_id}: {_names(left)}\n{output[-3000:]}"
    assert "KeyboardInterrupt" in output, output[-3000:]  # pytest's own interrupted ending, not a crash
    assert "Traceback" not in output, output[-3000:]
    _interrupted_is_its_own_verdict(output, report)


def _interrupted_is_its_own_verdict(output: str, report: Path) -> None:
    """Issue 24: an interrupted run reads "interrupted: the host was not fully judged" everywhere, never failed:
    the run's last line, report.json (valid against its schema), report.html's badge, the job summary and its
    annotations; and diff will not compare it without --allow-mismatch."""
    assert output.strip().splitlines()[-1] == (
        "posthog-contract: INTERRUPTED (exit 2): the host was not fully judged"), output[-2000:]
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "schemas" / "report" / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    assert (data["run"]["verdict"], data["run"]["exit_status"]) == ("interrupted", 2)
    assert data["run"]["verdict_text"] == "interrupted: the host was not fully judged"
    assert data["summary"]["tests"]["failed"] == 0 and data["summary"]["coverage"]["status"] == "incomplete"
    html = (report / "report.html").read_text(encoding="utf-8")
    assert 'class="verdict warn" id="verdict">INTERRUPTED<' in html and ">FAILED<" not in html
    summary = _cli("summary", str(report / "report.json"), "--annotations")
    assert summary.returncode == 0, summary.stderr
    assert summary.stdout.startswith("::warning title=posthog-contract interrupted::interrupted: the host was not "
                                     "fully judged")
    assert "## posthog-contract: ⏸️ interrupted: the host was not fully judged" in summary.stdout
    assert "failed" not in summary.stdout.split("\n## ", 1)[1].splitlines()[0]
    refused = _cli("diff", str(report / "report.json"), str(report / "report.json"))
    assert refused.returncode == 2 and "did not judge its host to the end" in refused.stderr
    allowed = _cli("diff", str(report / "report.json"), str(report / "report.json"), "--allow-mismatch")
    assert allowed.returncode == 0 and "the old run is not a whole judgement of its host: interrupted" in allowed.stdout


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posthog_contract", *args], cwd=ROOT, env=suite_environment(),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)


@pytest.mark.slow
def test_a_complete_run_leaves_nothing_behind_and_registered_everything(servers, tmp_path):
    """The whole suite, schemathesis included, on its embedded server; its database is inspected after."""
    db = tmp_path / "embedded.sqlite3"
    run = run_suite("tests", "-q", f"--reference-arg=--db={db}", env=suite_environment(), timeout=600)
    assert run.returncode == 0, run.output[-4000:]
    assert "never registered for cleanup" not in run.output, run.output[-3000:]
    assert "cleanup:" not in run.output, run.output[-3000:]
    server = servers("--db", str(db))  # the same data, served again
    api = server.client()
    every = all_dashboards(api, server.project_path)
    assert not run_dashboards(api, server.project_path), _names(run_dashboards(api, server.project_path))
    assert not every, f"the run left dashboards that are not even run-tagged: {_names(every)}"


def test_failing_run_cleans_up_and_registered_every_dashboard(servers):
    server = servers("--mutant", "dashboard_restriction_level_string")
    run = run_suite(
        "tests/test_dashboards.py", "tests/test_dashboard_lifecycle.py", "tests/test_sharing.py",
        "tests/test_collaborators.py", "tests/test_template.py", "tests/test_move_tile.py",
        "tests/test_pagination.py", *LEAN, "-q", env=server.suite_env(), timeout=300,
    )
    assert run.returncode == 1, f"the mutant should fail the run:\n{run.output[-3000:]}"
    api = server.client()
    assert not run_dashboards(api, server.project_path), run.output[-3000:]
    # the final sweep finds nothing: every create was registered the moment it was acknowledged
    assert "never registered for cleanup" not in run.output, run.output[-3000:]
    assert "cleanup:" not in run.output, run.output[-3000:]


def test_final_sweep_soft_deletes_untracked_run_dashboards_only(server):
    api = server.client()
    base = server.project_path
    run_id, other_run = "pcrsweep00001", "pcrsweep00002"
    tracked = api.post(f"{base}/dashboards/", json={"name": dashboard_name(run_id, "tracked")}).json()
    untracked = api.post(f"{base}/dashboards/", json={"name": dashboard_name(run_id, "untracked")}).json()
    other = api.post(f"{base}/dashboards/", json={"name": dashboard_name(other_run, "other run")}).json()
    foreign = api.post(f"{base}/dashboards/", json={"name": "Revenue (a user's dashboard)"}).json()
    key = server.credentials["personal_api_key"]
    with ContractClient(server.base_url, key, redactor=Redactor([key])) as client:
        resources = RunResources(client, ApiPaths(str(server.credentials["project_id"])), run_id)
        resources.track_dashboard(tracked["id"])
        problems = resources.cleanup(sweep=True)
    assert problems == []
    assert resources.untracked == [untracked["id"]]
    live = {d["id"] for d in all_dashboards(api, base)}
    assert tracked["id"] not in live and untracked["id"] not in live
    assert other["id"] in live and foreign["id"] in live


def test_a_second_signal_during_cleanup_abandons_it_the_first_does_not():
    with lifecycle.signals_deferred("pcrtest0000001"):
        os.kill(os.getpid(), signal.SIGINT)  # noted, not raised
        time.sleep(0.05)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _cleanup(server, *args: str) -> subprocess.CompletedProcess[str]:
    env = suite_environment(POSTHOG_PERSONAL_API_KEY=server.credentials["personal_api_key"])
    command = [sys.executable, "-m", "posthog_contract", "cleanup", "--host", server.base_url,
               "--project-id", str(server.credentials["project_id"]), *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cleanup_command_removes_a_killed_runs_leftovers_and_nothing_else(server, spawn_suite):
    api = server.client()
    base = server.project_path
    keep = api.post(f"{base}/dashboards/", json={"name": "Weekly KPIs", "description": "not the suite's"}).json()
    lookalike = api.post(f"{base}/dashboards/", json={"name": "posthog-contract notes (hand-made)"}).json()
    earlier_run = api.post(f"{base}/dashboards/", json={"name": dashboard_name("pcrearlier001", "x")}).json()

    suite = spawn_suite("tests", "-q", env=server.suite_env())
    run_id = interrupt_once_dashboards_exist(
        server, suite, signal.SIGKILL, at_least=3, ignore_runs=frozenset({"pcrearlier001"})
    )
    suite.finish(timeout=30)
    leftovers = run_dashboards(api, base, run_id)
    assert leftovers, "SIGKILL gives the suite no chance to clean up: leftovers are expected here"

    dry = _cleanup(server, "--run-id", run_id, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("would soft-delete") == len(leftovers)
    assert run_dashboards(api, base, run_id), "--dry-run changed nothing"

    recent = _cleanup(server, "--older-than", "1h")
    assert recent.returncode == 0 and "0 leftover dashboard(s) found" in recent.stdout, recent.stdout + recent.stderr

    done = _cleanup(server, "--run-id", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(leftovers)} leftover dashboard(s) found, 0 failed" in done.stdout
    assert not run_dashboards(api, base, run_id)
    for survivor in (keep, lookalike, earlier_run):
        assert api.get(f"{base}/dashboards/{survivor['id']}/").status_code == 200, survivor["name"]

    by_age = _cleanup(server, "--older-than", "0s")
    assert by_age.returncode == 0, by_age.stdout + by_age.stderr
    assert api.get(f"{base}/dashboards/{earlier_run['id']}/").status_code == 404, "older run's leftover removed"
    for survivor in (keep, lookalike):
        assert api.get(f"{base}/dashboards/{survivor['id']}/").status_code == 200, survivor["name"]
    key = server.credentials["personal_api_key"]
    assert key not in done.stdout + done.stderr + dry.stdout + by_age.stdout


def test_cleanup_command_refuses_to_run_without_a_selector(server):
    result = _cleanup(server)
    assert result.returncode == 2 and "--run-id" in result.stderr
