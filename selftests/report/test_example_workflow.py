"""examples/github-actions-staging.yml: valid YAML that runs the suite as the README says and keeps
the evidence (JUnit XML, the report) and the previous report for the diff."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from report_support import SuiteRun, run_cli

from posthog_contract import config, embedded
from posthog_contract.mutation import ROOT, suite_environment

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions-staging.yml"


def test_the_staging_workflow_runs_reports_diffs_and_keeps_secrets_in_the_environment() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    job = workflow["jobs"]["contract"]
    steps = {step.get("name"): step for step in job["steps"]}
    assert "--junitxml=artifacts/junit.xml" in steps["Run the contract suite"]["run"]
    assert "--report artifacts/report" in steps["Run the contract suite"]["run"]
    assert "python -m posthog_contract diff previous-report/report.json" in steps["Diff with the previous run"]["run"]
    upload = steps["Upload JUnit XML, the report and the traffic archive"]
    assert upload["with"]["path"] == "artifacts/" and upload["if"] == "always()"
    assert "python - " not in text and "<<" not in text  # no inline Python: the summary subcommand writes it
    # every variable the workflow sets is one the suite reads, and keys come from secrets only
    known = {option.env for option in config.OPTIONS} | {s.env for s in config.RUN_SETTINGS if s.env}
    assert {name for name in job["env"] if name.startswith("POSTHOG_")} <= known
    assert "POSTHOG_CONTRACT_MIN_COVERAGE" in job["env"]  # issue 24: coverage is part of the verdict
    for name, value in job["env"].items():
        if name.endswith("API_KEY"):
            assert value == f"${{{{ secrets.{name} }}}}"
    assert "phx_" not in text.replace("(phx_...)", "")


def _steps() -> dict[str, dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return {step.get("name"): step for step in workflow["jobs"]["contract"]["steps"]}


def test_nightly_manual_and_read_only_runs_keep_separate_report_lineages() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    lineage = workflow["jobs"]["contract"]["env"]["REPORT_LINEAGE"]
    assert "github.event_name" in lineage and "inputs.read_only" in lineage
    steps = _steps()
    restore, save = steps["Restore the previous report"]["with"], steps["Save the report for the next run"]["with"]
    assert restore["restore-keys"] == "${{ env.REPORT_LINEAGE }}" and restore["key"] == save["key"]
    assert save["key"].startswith("${{ env.REPORT_LINEAGE }}")


def test_the_summary_step_uses_the_summary_command_with_annotations(clean_run: SuiteRun, tmp_path: Path) -> None:
    step = _steps()["Job summary and annotations"]
    command = step["run"].replace("artifacts/report/report.json", str(clean_run.report_json))
    summary = tmp_path / "summary.md"
    done = _bash(command, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 0, done.stderr
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## posthog-contract: ✅ passed") and "applicable cells checked: " in text
    assert "| dashboards_retrieve |" in text
    assert not [line for line in done.stdout.splitlines() if line.startswith("::error")]  # a clean run


def test_annotations_name_each_failure(mutant_run: SuiteRun) -> None:
    done = run_cli("summary", str(mutant_run.report_json), "--annotations")
    assert done.returncode == 0, done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error file=tests/")]
    failed = [t for t in mutant_run.report["tests"] if t["outcome"] == "failed" and not t.get("container")]
    assert len(errors) == len(failed) > 0
    assert any("POST dashboards answers 201 with a Dashboard" in line for line in errors)
    assert all("\n" not in line for line in errors)
    assert "## posthog-contract: ❌ failed: the host broke a rule in " in done.stdout


def test_the_cleanup_step_works_without_a_project_id(tmp_path: Path) -> None:
    """The defect: POSTHOG_PROJECT_ID is optional, yet the cleanup step exited 2 without it."""
    step = _steps()["Clean up leftovers of cancelled or crashed runs"]
    assert "--older-than 0m" in step["run"]  # a cancelled run's dashboards are minutes old
    server = embedded.start([])
    try:
        credentials = server.credentials
        env = {"POSTHOG_HOST": credentials["base_url"], "POSTHOG_PERSONAL_API_KEY": credentials["personal_api_key"]}
        done = _bash(step["run"], env)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout + done.stderr


def _bash(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {**suite_environment(), **env}
    environment.pop("POSTHOG_PROJECT_ID", None)
    python = str(Path(sys.executable).parent)
    environment["PATH"] = python + os.pathsep + environment.get("PATH", "")
    return subprocess.run(["bash", "-e", "-c", command], cwd=ROOT, env=environment, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_the_suite_step_runs_and_writes_every_artifact_the_later_steps_read(tmp_path: Path) -> None:
    """The workflow's own command line (scoped to one test file, artifacts in a temporary folder)."""
    step = _steps()["Run the contract suite"]
    command = " ".join(step["run"].split())
    command = command.replace("${{ inputs.drift_fail && '--drift-fail' || '' }}", "")
    scoped = "python -m pytest tests/test_dashboards.py -p no:cacheprovider "
    command = command.replace("python -m pytest tests ", scoped)
    command = command.replace("artifacts/", f"{tmp_path}/artifacts/")
    assert "${{" not in command, command
    done = _bash(command, {})
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    for artifact in ("junit.xml", "report/report.json", "report/report.html", "traffic.har"):
        assert (tmp_path / "artifacts" / artifact).is_file(), artifact
