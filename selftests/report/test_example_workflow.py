"""examples/github-actions-staging.yml: valid YAML that runs the suite as the README says and keeps
the evidence (JUnit XML, the report) and the previous report for the diff."""

from __future__ import annotations

from pathlib import Path

import yaml

from posthog_contract import config

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github-actions-staging.yml"


def test_the_staging_workflow_runs_reports_diffs_and_keeps_secrets_in_the_environment() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    job = workflow["jobs"]["contract"]
    steps = {step.get("name"): step for step in job["steps"]}
    assert "--junitxml=artifacts/junit.xml" in steps["Run the contract suite"]["run"]
    assert "--report artifacts/report" in steps["Run the contract suite"]["run"]
    assert "python -m posthog_contract diff previous-report/report.json" in steps["Diff with the previous run"]["run"]
    assert steps["Upload JUnit XML and the report"]["with"]["path"] == "artifacts/"
    assert steps["Upload JUnit XML and the report"]["if"] == "always()"
    # every variable the workflow sets is one the suite reads, and keys come from secrets only
    known = {option.env for option in config.OPTIONS} | {"POSTHOG_CONTRACT_PROFILE"}
    assert set(job["env"]) <= known
    for name, value in job["env"].items():
        if name.endswith("API_KEY"):
            assert value == f"${{{{ secrets.{name} }}}}"
    assert "phx_" not in text.replace("(phx_...)", "")
