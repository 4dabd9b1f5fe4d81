"""End to end: the suite with ``--report`` against the clean embedded server and against a mutant,
the reports, the upgrade diff between them, JUnit properties, secrets, and report.html in a real
browser (headless Chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_support import SuiteRun, run_cli

from posthog_contract import operations as ops
from posthog_contract.report import diff, model

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = ROOT / "schemas" / "report" / "report.json"


# --- report.json ----------------------------------------------------------------------------------------


def test_reports_match_their_json_schema(clean_run: SuiteRun, mutant_run: SuiteRun) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for run in (clean_run, mutant_run):
        problems = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(run.report)]
        assert problems == [], run.report_json


def test_the_clean_run_covers_every_documented_operation(clean_run: SuiteRun) -> None:
    report = clean_run.report
    assert report["host"]["embedded"] is True and report["host"]["url"].startswith("http://127.0.0.1:")
    assert report["run"]["id"].startswith("pcr") and report["run"]["exit_status"] == 0
    assert [op["operation_id"] for op in report["operations"]] == [op.operation_id for op in ops.OPERATIONS]
    summary = report["summary"]
    assert summary["operations"]["documented_exercised"] == summary["operations"]["documented_total"] == 9
    assert summary["checks"]["fail"] == 0 and summary["checks"]["pass"] > 40
    assert summary["tests"]["failed"] == summary["tests"]["error"] == 0
    by_id = {op["operation_id"]: op for op in report["operations"]}
    retrieve = by_id["dashboards_retrieve"]
    assert {"status", "shape", "negative"} <= {k for k, c in retrieve["checks"].items() if c["outcome"] == "pass"}
    assert retrieve["checks"]["pagination"]["outcome"] == "not_applicable"
    assert retrieve["checks"]["pagination"]["reasons"][0].startswith("not applicable: ")
    cells = summary["applicable_cells"]
    assert 0 < cells["checked"] <= cells["total"] < 9 * len(report["check_kinds"])
    assert "200" in retrieve["statuses"]["seen"] and "404" in retrieve["statuses"]["seen"]
    assert "team_id" in retrieve["fields_seen"] and "tiles[].id" in retrieve["fields_seen"]
    events = by_id["events_list"]
    assert {"after", "before", "limit", "properties"} <= set(events["parameters"]["seen"])
    # the derived write checks (tests/test_writes.py, issue 23) reach PUT too, once left out
    assert by_id["dashboards_update"]["exercised"] and not by_id["dashboards_update"].get("why_not")
    assert report["options"]["personal_api_key"] == "[set]"


def test_the_run_checks_drift_and_lists_undocumented_fields(clean_run: SuiteRun) -> None:
    report = clean_run.report
    assert report["drift"]["status"] == "compared" and report["drift"]["significant"] == 0
    assert "dashboards_retrieve" in report["drift"]["operations_compared"]
    drift_test = next(t for t in report["tests"] if t["id"].endswith("test_host_openapi_documents_the_contract_fields"))
    assert drift_test["outcome"] == "passed"
    fields = {(f["operation_id"], f["field"]) for f in report["undocumented_fields"]}
    assert ("users_me_retrieve", "hedgehog_config") in fields  # current-user.json lists only what the suite needs


def test_failures_carry_the_rule_and_redacted_evidence(mutant_run: SuiteRun) -> None:
    report = mutant_run.report
    failed = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    assert failed
    create = next(t for t in failed if t["id"].endswith("test_create_returns_201_with_documented_defaults"))
    assert create["reason"] == "POST dashboards answers 201 with a Dashboard"
    assert "team_id" in create["message"]
    evidence = "\n".join(create["evidence"])
    assert evidence.startswith("POST http://127.0.0.1:") and "< 201 Created" in evidence
    assert "Bearer [REDACTED]" in evidence
    cells = {op["operation_id"]: op["checks"] for op in report["operations"]}
    assert cells["dashboards_create"]["shape"]["outcome"] == "fail"
    blocked = next(t for t in failed if t["id"].endswith("test_enable_is_stored"))
    assert blocked["blocked"] and blocked["failed_operation"] == "dashboards_create"
    # every keyed operation is reached by the derived 401 checks (tests/test_writes.py), refresh included,
    # whatever the creates answer
    refresh = next(op for op in report["operations"] if op["operation_id"] == "dashboards_sharing_refresh_create")
    assert refresh["exercised"]
    html = mutant_run.report_html.read_text(encoding="utf-8")
    assert html.count('data-rule="POST dashboards creates a dashboard (201)"') == 1  # one group, many tests


def test_the_terminal_summary_table(clean_run: SuiteRun) -> None:
    section = clean_run.output.split("posthog-contract report", 1)[1]
    for label in ("operations covered", "checks", "tests", "schema drift", "report"):
        assert f"\n{label}" in section, label
    cells = clean_run.report["summary"]["applicable_cells"]
    assert f"\napplicable cells checked: {cells['checked']}/{cells['total']}" in section
    assert str(clean_run.report_html) in section


def test_junit_cases_carry_operations_and_checks(clean_run: SuiteRun) -> None:
    cases = list(ElementTree.parse(clean_run.junit).getroot().iter("testcase"))
    properties = {
        f"{case.get('classname')}::{case.get('name')}": {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    retrieve = properties["tests.test_dashboards::test_retrieve_returns_a_dashboard"]
    assert retrieve == {"contract_operations": "dashboards_retrieve", "contract_checks": "shape"}


def test_no_key_reaches_any_artifact(clean_run: SuiteRun, mutant_run: SuiteRun) -> None:
    for run in (clean_run, mutant_run):
        secrets = run.secrets()
        assert len(secrets) >= 5
        for artifact in (run.report_json, run.report_html, run.junit):
            text = artifact.read_text(encoding="utf-8")
            leaked = [secret[:12] for secret in secrets if secret in text]
            assert leaked == [], f"{artifact} holds keys starting {leaked}"
        assert not [secret for secret in secrets if secret in run.output]


# --- the upgrade diff ------------------------------------------------------------------------------------


def test_diff_names_newly_failing_checks_and_the_disappeared_field(clean_run: SuiteRun, mutant_run: SuiteRun) -> None:
    done = run_cli("diff", str(clean_run.report_json), str(mutant_run.report_json))
    assert done.returncode == 1, done.stdout + done.stderr
    text = done.stdout
    failing = text.split("NEWLY FAILING CHECKS", 1)[1].split("NEWLY PASSING CHECKS", 1)[0]
    # the shape cell was not all green before (a field the contract cannot judge, contract §0.2, makes it
    # unavailable: a cell passes only when every check of it passed); what matters is that it now fails
    assert "dashboards_create / status: pass -> fail" in failing
    assert any(line.strip().startswith("dashboards_create / shape: ") and line.endswith("-> fail")
               for line in failing.splitlines())
    assert "test_create_returns_201_with_documented_defaults" in failing
    fields = text.split("RESPONSE FIELDS APPEARED OR DISAPPEARED", 1)[1]
    assert "dashboards_create: disappeared team_id" in fields
    listed = next(line for line in fields.splitlines() if line.strip().startswith("dashboards_list: disappeared"))
    assert "results[].team_id" in listed
    assert "verdict: REGRESSION" in text


def test_diff_the_other_way_shows_newly_passing_checks(clean_run: SuiteRun, mutant_run: SuiteRun) -> None:
    done = run_cli("diff", str(mutant_run.report_json), str(clean_run.report_json), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["regressed"] is False and result["newly_failing"] == []
    assert "dashboards_create / status" in {change["check"] for change in result["newly_passing"]}
    assert any("team_id" in change["appeared"] for change in result["fields"])


def test_diff_of_a_report_with_itself_is_clean(clean_run: SuiteRun) -> None:
    done = run_cli("diff", str(clean_run.report_json), str(clean_run.report_json), "--format", "markdown")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "## NEWLY FAILING CHECKS (0)" in done.stdout and "nothing newly fails" in done.stdout


def test_diff_refuses_what_is_not_a_report(tmp_path: Path, clean_run: SuiteRun) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"format": "something-else"}')
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(clean_run.report | {"format_version": model.FORMAT_VERSION + 1}))
    for bad in (other, newer, tmp_path / "missing.json"):
        done = run_cli("diff", str(bad), str(clean_run.report_json))
        assert done.returncode == 2 and done.stderr.startswith("error: "), bad


def test_diff_reports_status_code_changes() -> None:
    def report(statuses: dict[str, int], outcome: str) -> dict[str, Any]:
        op = {"operation_id": "events_list", "requests": 3, "statuses": {"seen": statuses}, "fields_seen": ["next"],
              "checks": {"pagination": {"outcome": outcome, "tests": [{"id": "t", "outcome": "passed"}]}}}
        return {"operations": [op], "tests": [], "run": {}, "host": {}}

    result = diff.compare(report({"200": 3}, "pass"), report({"200": 2, "500": 1}, "pass"))
    assert [(c.operation_id, c.appeared, c.disappeared) for c in result.statuses] == [("events_list", ["500"], [])]
    assert not result.regressed


# --- report.html -----------------------------------------------------------------------------------------


class _Matrix(HTMLParser):
    """Rows of the matrix table (<table id="matrix">), with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[dict[str, str | None]] = []
        self.ready = False
        self.count_text = ""
        self._in_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self.inside = attributes.get("id") == "matrix"
            self.ready = self.ready or (self.inside and attributes.get("data-ready") == "true")
        elif tag == "tr" and self.inside and "data-operation" in attributes:
            self.rows.append(attributes)
        elif tag == "span" and attributes.get("id") == "matrix-count":
            self._in_count = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        if tag == "span":
            self._in_count = False

    def handle_data(self, data: str) -> None:
        if self._in_count:
            self.count_text += data


def matrix_of(html: str) -> _Matrix:
    parser = _Matrix()
    parser.feed(html)
    return parser


def test_the_html_is_self_contained_and_holds_the_matrix(clean_run: SuiteRun) -> None:
    html = clean_run.report_html.read_text(encoding="utf-8")
    assert "http://" not in html.split("<body>", 1)[0] and "<link" not in html and "src=" not in html
    matrix = matrix_of(html)
    assert [row["data-operation"] for row in matrix.rows] == sorted(
        (op.operation_id for op in ops.OPERATIONS), key=lambda i: not ops.by_id(i).documented)
    assert not matrix.ready  # the script marks it; the static file is not run


def chromium() -> str:
    for name in (os.environ.get("POSTHOG_CONTRACT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return str(shutil.which(name))
    reason = "no Chromium to render report.html (apt-get install chromium, or set POSTHOG_CONTRACT_CHROMIUM)"
    if os.environ.get("POSTHOG_CONTRACT_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def dump_dom(browser: str, page: Path, profile: Path, fragment: str = "") -> str:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri() + fragment,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and "<table" in done.stdout, done.stderr[-2000:]
    return done.stdout


def test_chromium_renders_the_matrix(clean_run: SuiteRun, whole_mutant_run: SuiteRun, tmp_path: Path) -> None:
    browser = chromium()
    rendered = matrix_of(dump_dom(browser, clean_run.report_html, tmp_path / "profile"))
    total = len(ops.OPERATIONS)
    assert len(rendered.rows) == total
    assert rendered.ready, "the page's script did not run"
    assert rendered.count_text == f"{total} of {total} operations shown"

    filtered = matrix_of(dump_dom(browser, whole_mutant_run.report_html, tmp_path / "profile", "#problems"))
    problems = [row for row in filtered.rows if row.get("data-problem") == "true"]
    shown = [row for row in filtered.rows if "hidden" not in row]
    assert 0 < len(problems) < total and shown == problems
    assert filtered.count_text == f"{len(problems)} of {total} operations shown"
