"""The collecting plugin on small stand-ins (no host): outcomes, schemathesis subtests, markers, JUnit.

Each test runs pytest in a subprocess on a file of its own, with the project's plugin loaded
(``-p posthog_contract.plugin``) as a user's run loads it, but no test using the host: the run's
session is made (its outcome log, its verdicts) and never opened.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from posthog_contract.mutation import suite_environment

STAND_IN = '''
import pytest
from posthog_contract.lifecycle import session_of


@pytest.fixture
def log(request):
    """The run's outcome log, without opening the run (the suite's `outcomes` fixture would)."""
    return session_of(request.config).log


@pytest.mark.check("generated")
@pytest.mark.operations("dashboards_retrieve", "events_list")
def test_read_operations_conform(request, subtests):
    """Like schemathesis' lazy schema: one subtest per operation, the node id naming it."""
    node_id = request.node._nodeid
    cases = [("GET", "/api/projects/{project_id}/dashboards/{id}/", True),
             ("GET", "/api/environments/{project_id}/events/", False)]
    for method, path, ok in cases:
        request.node._nodeid = f"{node_id}[{method} {path}]"
        with subtests.test(label=f"{method} {path}"):
            assert ok, "Response violates schema: events page broke a rule"
    request.node._nodeid = node_id


def test_unavailable_check(log):
    log.unavailable("no collaborator configured (POSTHOG_COLLABORATOR_UUID)")


def test_warned(log):
    log.warn("move_tile answered 200 with an empty body")


@pytest.mark.check("persistence")
def test_marked_is_stored():
    pass


def test_skipped_in_read_only():
    pytest.skip("read-only mode: this check creates or changes resources on the host")


@pytest.mark.xfail(strict=True, reason="known")
def test_expected_failure():
    assert False


def test_leaks_nothing():
    assert False, "Contract rule broken: the key phx_standin0canary0000000000000000000000000 is never shown"
'''


def run_stand_in(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    (tmp_path / "test_stand_in.py").write_text(STAND_IN, encoding="utf-8")
    environment = suite_environment() | {"POSTHOG_PERSONAL_API_KEY": "phx_standin0canary0000000000000000000000000"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "posthog_contract.plugin", "-p", "no:cacheprovider",
         "test_stand_in.py", *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
    )
    report_path = tmp_path / "out" / "report.json"
    return done, (json.loads(report_path.read_text()) if report_path.exists() else None)


def test_outcomes_subtests_markers_and_properties(tmp_path: Path) -> None:
    done, report = run_stand_in(tmp_path, "--report", "out", "--junitxml=junit.xml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert report is not None
    tests = {t["id"]: t for t in report["tests"]}

    retrieve = tests["test_stand_in.py::test_read_operations_conform[GET /api/projects/{project_id}/dashboards/{id}/]"]
    events = tests["test_stand_in.py::test_read_operations_conform[GET /api/environments/{project_id}/events/]"]
    assert (retrieve["outcome"], retrieve["checks"], retrieve["operations"]) == ("passed", ["generated"],
                                                                                  ["dashboards_retrieve"])
    assert (events["outcome"], events["operations"]) == ("failed", ["events_list"])
    assert "events page broke a rule" in events["message"]
    assert tests["test_stand_in.py::test_read_operations_conform"].get("container") is True

    assert tests["test_stand_in.py::test_unavailable_check"]["outcome"] == "unavailable"
    assert tests["test_stand_in.py::test_unavailable_check"]["reason"].startswith("no collaborator configured")
    assert tests["test_stand_in.py::test_skipped_in_read_only"]["outcome"] == "skipped"
    assert tests["test_stand_in.py::test_expected_failure"]["outcome"] == "xfailed"
    assert tests["test_stand_in.py::test_marked_is_stored"]["checks"] == ["persistence"]
    assert tests["test_stand_in.py::test_warned"]["warnings"] == ["move_tile answered 200 with an empty body"]
    assert {o["kind"] for o in report["outcomes"]} == {"warning", "unavailable"}

    operations = {op["operation_id"]: op for op in report["operations"]}
    assert operations["dashboards_retrieve"]["checks"]["generated"]["outcome"] == "pass"
    assert operations["events_list"]["checks"]["generated"]["outcome"] == "fail"
    summary = report["summary"]
    assert summary["tests"]["total"] == len(report["tests"]) - 1  # the container is not a test of its own
    assert report["run"]["id"] is None and "no contract session" in " ".join(report["notes"])

    cases = {case.get("name"): case for case in ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases["test_marked_is_stored"].iter("property")}
    assert properties == {"contract_operations": "", "contract_checks": "persistence"}

    assert "posthog-contract report" in done.stdout and "report.html" in done.stdout
    # the report scrubs the environment's keys itself (JUnit XML is scrubbed by the project's plugin,
    # not loaded here; test_report.py checks it on full runs)
    for artifact in (tmp_path / "out" / "report.json", tmp_path / "out" / "report.html"):
        text = artifact.read_text(encoding="utf-8")
        assert "phx_standin0canary" not in text and "[REDACTED]" in text, artifact


def test_without_report_nor_host_the_run_is_left_alone(tmp_path: Path) -> None:
    done, report = run_stand_in(tmp_path, "-k", "marked")
    assert done.returncode == 0 and report is None
    assert "posthog-contract report" not in done.stdout
