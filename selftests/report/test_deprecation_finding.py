"""The deprecation finding (issue 22, deliver 1) in every output, against the reference in each of its
``--environments`` builds (contract §1.9): report.json (valid against its schema), report.html, JUnit, the job
summary and its annotations, ``diff``; none under the pre-deprecation build; ``--deprecations fail`` exits 1
unless a waiver accepts each finding.

Lean on purpose: each run is tests/test_deprecation.py alone (one request per documented operation under
/api/environments/), the runs made once per session, two at a time.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import jsonschema
import pytest
from report_support import ROOT, SuiteRun, run_cli, run_external, run_suite

from posthog_contract import operations as ops

TARGET = ("tests/test_deprecation.py",)
#: the last release month before the deprecation: a pre-deprecation host is judged as such
BEFORE = ("--posthog-baseline", "2025-12")
DOCUMENTED = {op.operation_id for op in ops.documented_operations()}
ANNOUNCING = ("rewrite", "redirect", "headers")

#: name -> (reference arguments, suite arguments)
RUNS = {
    "rewrite": ((), ()),
    "redirect": (("--environments=redirect",), ()),
    "headers": (("--environments=headers",), ()),
    "direct": (("--environments=direct",), BEFORE),
    # the upgrade pair judged against one baseline: announced, its sunset still ahead; then passed
    "announced-later-sunset": (("--sunset-date=2099-12-31",), BEFORE),
    "announced": ((), BEFORE),
    "fail": ((), ("--deprecations", "fail")),
    "fail-waived": ((), ("--deprecations", "fail", "--waivers", "{waivers}")),
}
WAIVERS = '''[[waiver]]
deprecation = "/api/environments/*"
reason = "the integration moves to /api/projects/ this quarter (PLAT-42)"
expires = 2099-12-31
'''


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    root = tmp_path_factory.mktemp("deprecations")
    (root / "waivers.toml").write_text(WAIVERS, encoding="utf-8")

    def one(name: str) -> tuple[str, SuiteRun]:
        server, suite = RUNS[name]
        extra = tuple(arg.format(waivers=root / "waivers.toml") for arg in suite)
        return name, run_suite(root / name, *server, extra=extra, targets=TARGET)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, RUNS))


def _summary(run: SuiteRun) -> str:
    done = run_cli("summary", str(run.report_json), "--annotations")
    assert done.returncode == 0, done.stderr
    return done.stdout


def _junit_properties(run: SuiteRun) -> list[tuple[str, str]]:
    suite = ET.parse(run.junit).getroot().find("testsuite")
    assert suite is not None
    return [(p.get("name") or "", p.get("value") or "") for p in suite.iter("property")]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_report_validates_against_its_schema(runs: dict[str, SuiteRun], name: str) -> None:
    schema = json.loads((ROOT / "schemas" / "report" / "report.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(runs[name].report)


@pytest.mark.parametrize("mode", ANNOUNCING)
def test_each_announcing_build_is_a_finding_in_every_output(runs: dict[str, SuiteRun], mode: str) -> None:
    run = runs[mode]
    assert run.exit_code == 0, run.output[-3000:]  # a finding never fails a run by default
    report = run.report
    findings = {e["operation_id"]: e for e in report["deprecations"] if e["prefix"] == "environments"}
    assert set(findings) >= DOCUMENTED, sorted(DOCUMENTED - set(findings))
    events = findings["events_list"]
    assert events["template"] == "/api/environments/{project_id}/events/"
    assert events["successor_template"] == "/api/projects/{project_id}/events/"
    assert events["sunset"] == "Fri, 31 Jul 2026 00:00:00 GMT" and events["sunset_passed"] is True
    assert events["deprecation"] == "true" and events["accepted"] is None
    assert events["redirected"] is (mode == "redirect") and events["redirect_status"] == (307 if mode == "redirect"
                                                                                          else None)
    counts = report["summary"]["deprecations"]
    assert counts["total"] == len(report["deprecations"]) and counts["documented"] == len(DOCUMENTED)
    assert counts["policy"] == "warn" and counts["fails_run"] is False
    # the terminal: its own section, one line per deprecated operation
    assert "posthog-contract deprecations" in run.output
    assert "DEPRECATED   GET /api/environments/{project_id}/events/ (events_list) is deprecated; sunset 2026-07-31 " \
           "(passed); use /api/projects/{project_id}/events/" in run.output
    assert re.search(r"^deprecations\s+\d+ deprecated operation\(s\) \(9 documented\)", run.output, re.MULTILINE)
    # report.html: the panel
    html = run.report_html.read_text(encoding="utf-8")
    panel = html.split('<section id="deprecations"', 1)[1].split("</section>", 1)[0]
    assert "These documented paths are deprecated; sunset 2026-07-31 (passed); use <code>/api/projects/…</code>" \
           in panel and "/api/projects/{project_id}/events/" in panel
    # JUnit: the count and one property per deprecated operation
    properties = _junit_properties(run)
    assert ("deprecations", str(counts["total"])) in properties
    assert sum(name == "deprecation" for name, _ in properties) == counts["total"]
    # the job summary and its annotations
    summary = _summary(run)
    assert f"### ⚠️ Deprecated documented paths ({counts['total']})" in summary
    row = "| `GET /api/environments/{project_id}/events/` | 2026-07-31 (passed) | `/api/projects/{project_id}/events/"
    assert row in summary
    assert "::warning title=posthog-contract deprecation::GET /api/environments/{project_id}/events/" in summary


def test_a_pre_deprecation_host_judged_as_its_release_has_no_finding(runs: dict[str, SuiteRun]) -> None:
    run = runs["direct"]
    assert run.exit_code == 0, run.output[-3000:]
    assert run.report["deprecations"] == [] and run.report["summary"]["deprecations"]["total"] == 0
    assert "posthog-contract deprecations" not in run.output
    assert 'id="deprecations"' not in run.report_html.read_text(encoding="utf-8")
    assert ("deprecations", "0") in _junit_properties(run)
    assert "deprecation" not in _summary(run).lower()


def test_the_diff_names_new_deprecations_then_the_sunset_passing(runs: dict[str, SuiteRun]) -> None:
    before, later, now = (runs[name].report_json for name in ("direct", "announced-later-sunset", "announced"))
    first = run_cli("diff", str(before), str(later))
    assert first.returncode == 0, first.stdout + first.stderr  # a deprecation is reported, never a regression
    section = first.stdout.split("NEWLY DEPRECATED", 1)[1].split("\n\n", 1)[0]
    assert "GET /api/environments/{project_id}/events/ (events_list) is deprecated; sunset 2099-12-31 (not yet)" \
           in section
    assert "SUNSET PASSED SINCE THE LAST RUN (0)" in first.stdout
    second = run_cli("diff", str(later), str(now), "--format", "json")
    changes = json.loads(second.stdout)
    assert changes["newly_deprecated"] == [] and changes["regressed"] is False
    passed = {entry["key"] for entry in changes["sunset_passed"]}
    assert {f"{op} @ /api/environments/" for op in DOCUMENTED} <= passed


def test_deprecations_fail_exits_1_and_a_waiver_accepts_the_finding(runs: dict[str, SuiteRun]) -> None:
    failing, waived = runs["fail"], runs["fail-waived"]
    assert failing.exit_code == 1, failing.output[-3000:]
    assert "--deprecations fail: the host announced" in failing.output
    report = failing.report
    assert report["run"]["exit_status"] == 1 and report["summary"]["deprecations"]["fails_run"] is True
    assert report["summary"]["tests"]["failed"] == 0  # no test failed: the finding alone made CI red
    assert "::error title=posthog-contract deprecation::" in _summary(failing)
    assert waived.exit_code == 0, waived.output[-3000:]
    accepted = waived.report
    counts = accepted["summary"]["deprecations"]
    assert counts["accepted"] == counts["total"] > 0 and counts["fails_run"] is False
    assert all(e["accepted"].startswith("waiver #1, until 2099-12-31: the integration moves") for e in
               accepted["deprecations"])
    (entry,) = accepted["waivers"]["entries"]
    assert entry["status"] == "matched" and entry["deprecation"] == "/api/environments/*"
    assert "GET /api/environments/{project_id}/events/" in entry["matched"]
    assert "[accepted: waiver #1" in waived.output
    assert "::warning title=posthog-contract deprecation::" in _summary(waived)


def test_the_host_object_read_backs_judge_with_their_settings_and_name_them_without(tmp_path_factory) -> None:
    """Issue 23's data_color_theme_id and quick_filter_ids read-backs against the reference as an external host:
    judged (passed) with POSTHOG_DATA_COLOR_THEME_ID and POSTHOG_QUICK_FILTER_ID, unavailable naming each
    variable without them."""
    select = ("tests/test_writes.py", "-k", "data_color_theme_id or quick_filter_ids")
    given = run_external(tmp_path_factory.mktemp("with-objects"), *select)
    assert given.exit_code == 0, given.output[-3000:]
    judged = [t for t in given.report["tests"] if "data_color_theme_id" in t["id"] or "quick_filter_ids" in t["id"]]
    assert len(judged) == 6 and {t["outcome"] for t in judged} == {"passed"}, judged
    unset = ("POSTHOG_DATA_COLOR_THEME_ID", "POSTHOG_QUICK_FILTER_ID")
    missing = run_external(tmp_path_factory.mktemp("without-objects"), *select, unset=unset)
    assert missing.exit_code == 0, missing.output[-3000:]
    reasons = {t["id"].rsplit("-", 1)[1].rstrip("]"): t.get("reason", "") for t in missing.report["tests"]
               if t["outcome"] == "unavailable"}
    assert len([t for t in missing.report["tests"] if t["outcome"] == "unavailable"]) == 6
    theme = "set POSTHOG_DATA_COLOR_THEME_ID / --data-color-theme-id / data-color-theme-id"
    assert theme in reasons["data_color_theme_id"]
    assert "set POSTHOG_QUICK_FILTER_ID / --quick-filter-id / quick-filter-id" in reasons["quick_filter_ids"]
