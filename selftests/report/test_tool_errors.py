"""Tool errors are not host violations (issue 12, point 4).

A crash of the suite or of a library it uses is an *error*: its own count, never a failed check
cell, and exit code 3 (`outcomes.EXIT_TOOL_ERROR`). The end-to-end test injects a crash into a
generated (schemathesis) test with ``crash_injection.py``; a violation keeps exit 1 (the report
self-tests' mutant run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from schemathesis.core.failures import Failure, FailureGroup

from posthog_contract import outcomes, verdicts
from posthog_contract.mutation import ROOT, suite_environment
from posthog_contract.report import model

HERE = Path(__file__).resolve().parent


def test_assertions_and_schemathesis_failures_are_violations() -> None:
    failure = Failure(operation="GET /x", title="Response violates schema", message="bad")
    assert verdicts.is_violation(AssertionError("Contract rule broken: x"))
    assert verdicts.is_violation(failure)
    assert verdicts.is_violation(FailureGroup([failure], "one failure"))
    with pytest.raises(pytest.fail.Exception) as raised:
        pytest.fail("a judgement")
    assert verdicts.is_violation(raised.value)


def test_crashes_of_the_tool_are_errors() -> None:
    assert not verdicts.is_violation(AttributeError("'Function' object has no attribute '_nodeid'"))
    assert not verdicts.is_violation(KeyError("id"))
    assert not verdicts.is_violation(ExceptionGroup("two crashes", [ValueError("a"), TypeError("b")]))
    assert verdicts.is_violation(ExceptionGroup("mixed", [ValueError("a"), AssertionError("b")]))


def test_an_error_is_an_error_cell_never_a_failed_one() -> None:
    assert model.cell_outcome(["passed", "error"]) == "error"
    assert model.cell_outcome(["error", "failed"]) == "fail"
    assert model.cell_outcome(["skipped"]) == "not_checked"


def test_a_crash_inside_a_generated_test_is_a_tool_error(tmp_path: Path) -> None:
    env = suite_environment()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "pytest", "tests/test_property_based.py::test_read_operations_conform",
        "-p", "crash_injection", "-p", "no:cacheprovider", "-q", "--report", str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == outcomes.EXIT_TOOL_ERROR, output[-4000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["exit_status"] == outcomes.EXIT_TOOL_ERROR
    _valid_report(report)
    crashed = [t for t in report["tests"] if t["outcome"] == "error"]
    assert crashed and all("/dashboards/{id}/]" in t["id"] for t in crashed), crashed
    assert "_nodeid" in crashed[0]["message"]
    assert report["summary"]["tests"]["failed"] == 0 and report["summary"]["tests"]["error"] == len(crashed)
    cells = {op["operation_id"]: op["checks"] for op in report["operations"]}
    assert cells["dashboards_retrieve"]["generated"]["outcome"] == "error"
    assert report["summary"]["checks"]["fail"] == 0 and report["summary"]["checks"]["error"] >= 1
    assert f"tests{' ' * 16}" in output and f"0 failed (violations), {len(crashed)} tool errors" in output
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "the tool failed; the host was not judged" in html.lower()
    assert 'class="cell error"' in html and 'class="cell fail"' not in html


def _valid_report(report: dict) -> None:
    schema = json.loads((ROOT / "schemas" / "report" / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(report)
