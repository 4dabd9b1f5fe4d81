"""JUnit that reads well (issue 16, point 3): parse the XML of failing runs.

The hand-written failures come from the report self-tests' ``dashboard_missing_team_id`` mutant run;
the generated one from the read operations' schemathesis test against the same mutant.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from report_support import SuiteRun

from posthog_contract.mutation import ROOT, suite_environment
from posthog_contract.report.junit import SUITE_NAME


def _suite(path: Path) -> ElementTree.Element:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    assert len(suites) == 1
    return suites[0]


def _properties(suite: ElementTree.Element) -> dict[str, str]:
    block = suite.find("properties")
    assert block is not None
    return {p.get("name", ""): p.get("value", "") for p in block.iter("property")}


def test_the_suite_is_named_and_carries_the_run(mutant_run: SuiteRun) -> None:
    suite = _suite(mutant_run.junit)
    assert suite.get("name") == SUITE_NAME and int(suite.get("failures", "0")) > 0
    properties = _properties(suite)
    report = mutant_run.report
    assert properties["host"] == report["host"]["url"] and properties["run_id"] == report["run"]["id"]
    assert properties["suite_version"] == report["provenance"]["suite_version"]
    assert properties["seed"] == str(report["run"]["seed"]) and properties["profile"] == "default"
    assert properties["embedded"] == "true"


def test_hand_written_failures_state_the_rule_and_hide_the_helpers(mutant_run: SuiteRun) -> None:
    failures = [(case, case.find("failure")) for case in _suite(mutant_run.junit).iter("testcase")
                if case.find("failure") is not None]
    create = next(f for c, f in failures if c.get("name") == "test_create_returns_201_with_documented_defaults")
    assert "Contract rule broken: POST dashboards answers 201 with a Dashboard" in create.get("message", "")
    assert "posthog_contract/assertions.py" not in (create.text or "")  # __tracebackhide__


def test_a_generated_failure_reads_in_plain_words(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "pytest", "tests/test_property_based.py::test_read_operations_conform", "-q",
               "-p", "no:cacheprovider", "--reference-arg=--mutant=dashboard_missing_team_id", f"--junitxml={junit}"]
    done = subprocess.run(command, cwd=ROOT, env=suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 1, (done.stdout + done.stderr)[-3000:]
    messages = {case.get("name"): case.find("failure").get("message", "")
                for case in _suite(junit).iter("testcase") if case.find("failure") is not None}
    retrieve = messages["test_read_operations_conform[GET /api/projects/{project_id}/dashboards/{id}/]"]
    lines = retrieve.splitlines()
    assert lines[0] == "Contract rule broken (generated case): Response violates schema"
    assert lines[1] == "Operation: GET /api/projects/{project_id}/dashboards/{id}/"
    assert '"team_id" is a required property' in retrieve
    assert "Request (redacted, reproduce with): curl -X GET" in retrieve and "Bearer phx_" not in retrieve
    assert 'Response (redacted): [200] OK: {"id":' in retrieve
    assert not any("Error(operation=" in message for message in messages.values())
