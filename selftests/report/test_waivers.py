"""Known-deviation waivers (issue 16, point 1), against the embedded server and its
``collaborator_patch_allowed`` mutant (killed by tests/test_collaborators.py's PATCH-is-405 check).

A covered failure is *accepted* (exit 0, its own count, JUnit ``skipped``); a waiver that matches
nothing, or has expired, fails the run with one line; a broken waiver file is a misconfiguration.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import jsonschema
import pytest

from posthog_contract.mutation import ROOT, suite_environment
from posthog_contract.outcomes import EXIT_MISCONFIGURED
from posthog_contract.report import waivers

MUTANT = "collaborator_patch_allowed"
PATTERN = "tests/test_collaborators.py::test_patch_*"


def _file(tmp_path: Path, expires: str, *, test: str = PATTERN, extra: str = "") -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(f'[[waiver]]\ntest = "{test}"\nreason = "known on staging (OPS-1)"\nexpires = {expires}\n{extra}',
                    encoding="utf-8")
    return path


def _run(tmp_path: Path, waiver_file: Path, *, mutant: bool) -> tuple[int, str, dict]:
    command = [sys.executable, "-m", "pytest", "tests/test_collaborators.py", "-q", "-p", "no:cacheprovider",
               "--waivers", str(waiver_file), "--report", str(tmp_path / "report"),
               f"--junitxml={tmp_path / 'junit.xml'}"]
    if mutant:
        command.append(f"--reference-arg=--mutant={MUTANT}")
    done = subprocess.run(command, cwd=ROOT, env=suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    report_path = tmp_path / "report" / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return done.returncode, done.stdout + done.stderr, report


def test_a_waived_failure_is_accepted_and_the_run_passes(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, _file(tmp_path, "2099-12-31"), mutant=True)
    assert code == 0, output[-3000:]
    accepted = [t for t in report["tests"] if t["outcome"] == "accepted"]
    assert len(accepted) == 1 and accepted[0]["id"].startswith("tests/test_collaborators.py::test_patch_")
    assert "405" in accepted[0]["message"] and "known on staging" in accepted[0]["waiver"]
    assert report["summary"]["tests"]["accepted"] == 1 and report["summary"]["tests"]["failed"] == 0
    entry = report["waivers"]["entries"][0]
    assert entry["status"] == "matched" and entry["matched"] == [accepted[0]["id"]]
    assert len(report["waivers"]["sha256"]) == 64
    assert "accepted: tests/test_collaborators.py::test_patch_" in output
    skipped = [c for c in ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
               if c.find("skipped") is not None]
    assert [c.find("skipped").get("message", "") for c in skipped][0].startswith("accepted deviation (waiver #1")
    assert "Accepted deviations (1)" in (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    _valid_report(report)


def test_a_waiver_that_matches_nothing_fails_the_run_with_one_line(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, _file(tmp_path, "2099-12-31"), mutant=False)
    assert code == 1, output[-3000:]
    lines = [line for line in output.splitlines() if "matched no failure" in line]
    assert len(lines) == 1 and "waiver #1" in lines[0] and "remove the waiver" in lines[0]
    assert report["waivers"]["entries"][0]["status"] == "unmatched"


def test_an_expired_waiver_accepts_nothing_and_fails_the_run(tmp_path: Path) -> None:
    yesterday = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    code, output, report = _run(tmp_path, _file(tmp_path, yesterday), mutant=True)
    assert code == 1, output[-3000:]
    assert [line for line in output.splitlines() if f"expired on {yesterday}" in line]
    assert report["summary"]["tests"]["failed"] == 1 and report["summary"]["tests"]["accepted"] == 0


def test_a_broken_waiver_file_is_a_misconfiguration(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[waiver]]\ntest = "x"\nexpires = 2099-01-01\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_collaborators.py", "-q", "--waivers", str(bad)],
                          cwd=ROOT, env=suite_environment(), capture_output=True, text=True, timeout=600)
    assert done.returncode == EXIT_MISCONFIGURED
    assert "ERROR: posthog-contract: waiver #1" in done.stderr and "has no reason" in done.stderr


@pytest.mark.parametrize(("body", "problem"), [
    ('[[waiver]]\nreason = "r"\nexpires = 2099-01-01\n', "names neither a test nor a rule"),
    ('[[waiver]]\ntest = "t"\nreason = "r"\nexpires = "2099-01-01"\n', "TOML date"),
    ('[[waiver]]\ntest = "t"\nreason = "r"\nexpires = 2099-01-01\nwhy = 1\n', "unknown keys"),
    ('[[waiver]]\ntest = "t"\nreason = "r"\nexpires = 2099-01-01\noperation = "nope"\n', "operation catalogue"),
    ("[[waiver]\n", "not valid TOML"),
])
def test_the_file_is_validated(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "w.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(waivers.WaiverError, match=problem):
        waivers.load(path)


def test_matching_by_rule_and_operation() -> None:
    waiver = waivers.Waiver(1, "r", dt.date(2099, 1, 1), rule="answers 405", operation="dashboards_destroy")
    assert waiver.covers("tests/x.py::t", "Contract rule broken: DELETE answers 405", ["dashboards_destroy"])
    assert not waiver.covers("tests/x.py::t", "Contract rule broken: DELETE answers 405", ["dashboards_list"])
    assert not waiver.covers("tests/x.py::t", "another rule", ["dashboards_destroy"])
    assert waiver.status(dt.date(2099, 1, 1)) == "unmatched" and waiver.status(dt.date(2099, 1, 2)) == "expired"


def _valid_report(report: dict) -> None:
    schema = json.loads((ROOT / "schemas" / "report" / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(report)
