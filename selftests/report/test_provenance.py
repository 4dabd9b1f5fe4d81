"""Provenance (issue 16, point 2): the report says what produced it, and ``diff`` refuses to compare
runs of different suite versions, profiles or baselines unless told ``--allow-mismatch``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
from report_support import SuiteRun, run_cli

from posthog_contract.report import diff

ROOT = Path(__file__).resolve().parents[2]


def test_the_report_records_its_provenance(clean_run: SuiteRun) -> None:
    provenance = clean_run.report["provenance"]
    assert provenance["suite_version"] and provenance["profile"] == clean_run.report["run"]["profile"]
    assert set(provenance["packages"]) >= {"pytest", "schemathesis", "hypothesis", "jsonschema"}
    assert all(version[0].isdigit() for version in provenance["packages"].values())
    assert provenance["seed"] == clean_run.report["run"]["seed"]
    schema = json.loads((ROOT / "schemas" / "report" / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(clean_run.report, schema)


def _write(path: Path, report: dict) -> str:
    path.write_text(json.dumps(report), encoding="utf-8")
    return str(path)


def test_diff_refuses_reports_made_differently(clean_run: SuiteRun, tmp_path: Path) -> None:
    other = copy.deepcopy(clean_run.report)
    other["provenance"]["profile"] = "thorough"
    other["provenance"]["suite_version"] = "9.9.9"
    old, new = _write(tmp_path / "old.json", clean_run.report), _write(tmp_path / "new.json", other)
    refused = run_cli("diff", old, new)
    assert refused.returncode == 2 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to compare runs made differently")
    assert "suite version differs" in lines[0] and "profile differs: default (old) vs thorough (new)" in lines[0]
    allowed = run_cli("diff", old, new, "--allow-mismatch")
    assert allowed.returncode == 0, allowed.stderr
    head = allowed.stdout.split("NEWLY FAILING CHECKS", 1)[0]
    assert "MISMATCH" in head and "profile differs" in head


def test_a_baseline_change_is_a_mismatch_and_same_runs_are_not() -> None:
    report = {"generator": "posthog-contract 1.0", "run": {"profile": "default"}, "provenance": {}}
    assert diff.mismatches(report, copy.deepcopy(report)) == []
    with_baseline = copy.deepcopy(report)
    with_baseline["provenance"] = {"suite_version": "1.0", "profile": "default",
                                   "baseline": "2024-01"}
    assert diff.mismatches(report, with_baseline) == ["baseline differs: none (old) vs 2024-01 (new)"]
