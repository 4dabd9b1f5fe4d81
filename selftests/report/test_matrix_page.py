"""``posthog-contract matrix``: many hosts or releases on one page (issue 25, point 7). Three real runs (the
current release, the 2024-01 release judged against its own baseline, a mutant) fan in to one
self-contained page that headless Chromium renders, cell by cell as each report.json says."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from report_support import SuiteRun, run_cli, run_suite
from test_report import chromium, dump_dom

from posthog_contract import operations as ops
from posthog_contract.report import matrix as fan_in


@pytest.fixture(scope="session")
def release_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The reference serving the 2024-01 release, judged against that baseline (the README's upgrade case)."""
    run = run_suite(tmp_path_factory.mktemp("release"), "--release=2024-01", extra=("--posthog-baseline", "2024-01"))
    assert run.exit_code == 0, run.output[-4000:]
    return run


class _Page(HTMLParser):
    """The matrix rows as rendered: (operation, check) -> [(outcome, title), ...], and the filter count."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], list[str]] = {}
        self.hidden: set[tuple[str, str]] = set()
        self.differs: set[tuple[str, str]] = set()
        self.ready = False
        self.count = ""
        self._row: tuple[str, str] | None = None
        self._in_count = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and attributes.get("id") == "matrix":
            self.ready = attributes.get("data-ready") == "true"
        if tag == "tr" and "data-operation" in attributes:
            self._row = (str(attributes["data-operation"]), str(attributes["data-check"]))
            self.rows[self._row] = []
            if "hidden" in attributes:
                self.hidden.add(self._row)
            if attributes.get("data-differs") == "true":
                self.differs.add(self._row)
        if tag == "td" and self._row is not None and "data-outcome" in attributes:
            self.rows[self._row].append(str(attributes["data-outcome"]))
        if tag == "span" and attributes.get("id") == "matrix-count":
            self._in_count = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None
        if tag == "span":
            self._in_count = False

    def handle_data(self, data: str) -> None:
        if self._in_count:
            self.count += data


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _expected(reports: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """Each documented operation × check, as every report.json says, leaving out rows all "not applicable"."""
    expected = {}
    kinds = [k["id"] for k in reports[0]["check_kinds"]]
    for operation in ops.documented_operations():
        for kind in kinds:
            outcomes = []
            for report in reports:
                found = next(o for o in report["operations"] if o["operation_id"] == operation.operation_id)
                outcomes.append(found["checks"][kind]["outcome"])
            if set(outcomes) != {"not_applicable"}:
                expected[(operation.operation_id, kind)] = outcomes
    return expected


def test_three_runs_fan_in_to_one_page_that_chromium_renders(
    clean_run: SuiteRun, release_run: SuiteRun, mutant_run: SuiteRun, tmp_path: Path
) -> None:
    runs = [clean_run, release_run, mutant_run]
    page, summary = tmp_path / "matrix.html", tmp_path / "summary.md"
    done = run_cli("matrix", *(str(r.report_json) for r in runs), "--output", str(page), "--markdown", str(summary))
    assert done.returncode == 0, done.stderr
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html.split("<body>", 1)[0] and "<link" not in html and "src=" not in html
    for secret in (s for r in runs for s in r.secrets()):
        assert secret not in html and secret not in summary.read_text(encoding="utf-8")

    reports = [r.report for r in runs]
    expected = _expected(reports)
    browser = chromium()
    rendered = _page(dump_dom(browser, page, tmp_path / "profile"))
    assert rendered.ready, "the page's script did not run"
    assert rendered.rows == expected  # every cell, as each report.json says, in the reports' order
    assert rendered.count == f"{len(expected)} of {len(expected)} rows shown" and not rendered.hidden
    assert any(outcomes[2] == "fail" for outcomes in expected.values())  # the mutant's column shows its violations

    differing = [key for key, outcomes in expected.items() if len(set(outcomes)) > 1]
    filtered = _page(dump_dom(browser, page, tmp_path / "profile", "#differing"))
    assert 0 < len(differing) < len(expected)
    assert set(filtered.rows) - filtered.hidden == set(differing) == filtered.differs
    assert filtered.count == f"{len(differing)} of {len(expected)} rows shown"

    # the 2024-01 release judged as 2024-01: its version findings, under its own column
    findings = html.split('id="version-findings"', 1)[1]
    columns = dict(re.findall(r'<ul data-column="(\d)">(.*?)</ul>', findings, re.DOTALL))
    assert "lacks" in columns["2"] and "no version finding" in columns["1"] and "no version finding" in columns["3"]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## posthog-contract: 3 runs side by side")
    documented = {op.operation_id for op in ops.documented_operations()}
    table = [line.split(" | ")[:2] for line in text.splitlines() if line.startswith("| ")]
    assert [(op.removeprefix("| "), check.removesuffix(" ≠")) for op, check in table if op[2:] in documented] == list(
        expected)


def test_runs_of_different_suite_versions_are_refused_like_diff_refuses_them(clean_run: SuiteRun, tmp_path: Path):
    other = copy.deepcopy(clean_run.report)
    other["provenance"]["suite_version"] = "0.0.1"
    moved = tmp_path / "other.json"
    moved.write_text(json.dumps(other), encoding="utf-8")
    done = run_cli("matrix", str(clean_run.report_json), str(moved), "--output", str(tmp_path / "m.html"))
    assert done.returncode == 2 and not (tmp_path / "m.html").exists()
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: refusing to put runs made by different suite versions on one page (suite version "
                           "differs: ") and "--allow-mismatch" in line
    forced = run_cli("matrix", str(clean_run.report_json), str(moved), "--allow-mismatch", "--output",
                     str(tmp_path / "m.html"))
    assert forced.returncode == 0 and "MISMATCH" in (tmp_path / "m.html").read_text(encoding="utf-8")


def test_a_different_baseline_is_not_a_mismatch_and_labels_say_which(clean_run: SuiteRun) -> None:
    judged_old = copy.deepcopy(clean_run.report)
    judged_old["provenance"]["baseline"] = "2024-01"
    built = fan_in.build([("a.json", clean_run.report), ("b.json", judged_old)])
    assert not built.mismatches
    assert built.columns[0].label == "reference" and built.columns[1].label == "reference, baseline 2024-01"
    twice = fan_in.build([("a/report.json", clean_run.report), ("b/report.json", clean_run.report)])
    assert twice.columns[0].label != twice.columns[1].label  # told apart by run id


def test_each_runs_deprecation_finding_is_listed_under_it(clean_run: SuiteRun, release_run: SuiteRun) -> None:
    """The finding's real shape (report.json ``deprecations``): today's PostHog (the reference's rewrite build)
    announces the documented paths deprecated, the 2024-01 release (served directly) none; a warning that merely
    speaks of a deprecation is no finding."""
    built = fan_in.build([("today.json", clean_run.report), ("2024-01.json", release_run.report)])
    today, older = built.columns[0].deprecations, built.columns[1].deprecations
    assert older == []
    wanted = "GET /api/environments/{project_id}/events/ (events_list) is deprecated"
    events = [d for d in today if d.startswith(wanted)]
    assert events and "sunset 2026-07-31 (passed)" in events[0]
    assert "use /api/projects/{project_id}/events/" in events[0]
    documented = {op.operation_id for op in ops.documented_operations()}
    assert {r.operation_id for r in built.rows if r.deprecated} == documented
    noisy = copy.deepcopy(release_run.report)
    noisy["outcomes"].append({"kind": "warning", "test": "tests/test_events.py::t",
                              "message": "the host marks /api/environments/ deprecated (Sunset header)"})
    assert fan_in.build([("noisy.json", noisy)]).columns[0].deprecations == []
    html = fan_in.render(built)
    section = html.split('id="deprecations"', 1)[1].split("</section>", 1)[0]
    assert "no deprecation reported" in section and "use /api/projects/{project_id}/events/" in section
    assert f"### Deprecations ({len(today)})" in fan_in.markdown(built)
