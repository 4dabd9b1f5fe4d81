"""A verdict that means what it says (issue 24): one count everywhere, coverage as part of the verdict
(INCOMPLETE, ``--min-coverage`` and its exit 6), a refused host that is no failed host, the seed
everywhere, documented parameters only in the coverage, a waiver problem as the run's last line, and
a diff that compares like with like. (The interrupted run: selftests/safety/test_cleanup.py, which
interrupts a run mid-way anyway; the HAR against the ledger: test_har.py.)"""

from __future__ import annotations

import copy
import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from report_support import SuiteRun, run_cli

from posthog_contract.mutation import ROOT, suite_environment
from posthog_contract.report import diff, model

REPORT_SCHEMA = ROOT / "schemas" / "report" / "report.json"
LEAN = ("-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout", "-p", "no:anyio")


def _env(**settings: str) -> dict[str, str]:
    return {**suite_environment(), **settings}


def _validate(report: dict[str, Any]) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(report)


def _suite(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "--report", str(tmp_path / "report")]
    return subprocess.run(command, cwd=ROOT, env=env or suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr).strip().splitlines()[-1]


# --- one count everywhere -------------------------------------------------------------------------------

_PYTEST_LINE = re.compile(r"^=+ (.+) in [\d.]+s(?: \([\d:]+\))? =+$", re.MULTILINE)


def test_pytest_the_summary_the_report_and_junit_count_the_same_tests(whole_mutant_run: SuiteRun) -> None:
    """The whole suite against a mutant: failed and passed generated subtests, their containers, unavailable
    checks. pytest's line, the suite's summary, report.json and JUnit give the same numbers, and the
    progress only goes up, to 100 %."""
    output = whole_mutant_run.output
    final = _PYTEST_LINE.findall(output)[-1]
    pytest_counts = {word: int(number) for number, word in re.findall(r"(\d+) ([a-z]+(?: [a-z]+)?)", final)}
    assert "subtests passed" not in pytest_counts and "skipped" not in pytest_counts, final
    tests = whole_mutant_run.report["summary"]["tests"]
    assert pytest_counts == {k: v for k, v in tests.items() if v and k not in ("total",)}, (final, tests)
    assert sum(pytest_counts.values()) == tests["total"]
    assert f"; {tests['total']} in all" in output and "counted as           each test once" in output
    suite = ElementTree.parse(whole_mutant_run.junit).getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", -1)) == tests["total"], (suite.attrib, tests)
    assert int(suite.get("failures", -1)) == tests["failed"] and int(suite.get("errors", -1)) == tests["error"]
    assert int(suite.get("skipped", -1)) == tests["unavailable"] + tests["skipped"] + tests["accepted"]
    assert len(list(suite.iter("testcase"))) == tests["total"]
    generated = [t for t in whole_mutant_run.report["tests"] if "[" in t["id"] and "::test_" in t["id"]
                 and "operations_conform[" in t["id"]]
    assert any(t["outcome"] == "failed" for t in generated) and any(t["outcome"] == "passed" for t in generated)
    progress = [int(p) for p in re.findall(r"\[\s*(\d+)%\]", output)]
    assert progress == sorted(progress) and progress[-1] == 100, progress


# --- coverage is part of the verdict ------------------------------------------------------------------------


def test_a_read_only_run_is_incomplete_and_min_coverage_100_fails_it_with_its_own_code(tmp_path: Path) -> None:
    done = _suite(tmp_path, "tests", "--read-only", "--min-coverage", "100", *LEAN)
    assert done.returncode == 6, (done.stdout + done.stderr)[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    _validate(report)
    coverage = report["summary"]["coverage"]
    assert coverage["status"] == "incomplete" and coverage["minimum"] == 100 and coverage["met"] is False
    assert len(coverage["not_judged"]) == coverage["total"] - coverage["checked"] > 0
    assert all(cell["reasons"] for cell in coverage["not_judged"])
    assert any("read-only mode" in reason for cell in coverage["not_judged"] for reason in cell["reasons"])
    assert report["run"]["verdict"] == "incomplete" and report["run"]["exit_status"] == 6
    assert "is below the minimum of 100 % (--min-coverage)" in report["run"]["verdict_text"]
    assert "coverage             INCOMPLETE: " in done.stdout and "; not judged:" in done.stdout
    assert _last_line(done).startswith("posthog-contract: INCOMPLETE (exit 6): applicable cells checked: ")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert 'class="verdict warn" id="verdict">INCOMPLETE<' in html and 'id="not-judged"' in html
    summary = run_cli("summary", str(tmp_path / "report" / "report.json"), "--annotations")
    assert summary.returncode == 0 and "::error title=posthog-contract incomplete::" in summary.stdout
    assert "coverage **INCOMPLETE**" in summary.stdout and "### Cells not judged (" in summary.stdout


def test_min_coverage_comes_from_the_environment_or_the_file_and_a_bad_value_is_one_sentence(tmp_path: Path) -> None:
    passed = _suite(tmp_path / "env", "tests/test_auth.py", *LEAN,
                    env=_env(POSTHOG_CONTRACT_MIN_COVERAGE="0"))
    assert passed.returncode == 0, passed.stdout[-3000:]
    assert "posthog-contract: coverage INCOMPLETE: " in passed.stdout  # said, but below no minimum
    assert _last_line(passed).startswith("posthog-contract: PASSED (exit 0)")
    (tmp_path / "file").mkdir()
    (tmp_path / "file" / "posthog-contract.toml").write_text("min-coverage = 95\n", encoding="utf-8")
    short = _suite(tmp_path / "file", "tests/test_auth.py", *LEAN, "--contract-config",
                   str(tmp_path / "file" / "posthog-contract.toml"))
    assert short.returncode == 6, short.stdout[-3000:]
    bad = _suite(tmp_path / "bad", "tests/test_auth.py", *LEAN, env=_env(
        POSTHOG_CONTRACT_MIN_COVERAGE="most"))
    assert bad.returncode == 4 and ("ERROR: posthog-contract: POSTHOG_CONTRACT_MIN_COVERAGE must be a percentage "
                                    "from 0 to 100, not 'most'.") in bad.stdout + bad.stderr, bad.stdout + bad.stderr


# --- a refused host -----------------------------------------------------------------------------------------


def test_a_host_preflight_refused_is_refused_never_failed(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"http://127.0.0.1:{port}"
    done = _suite(tmp_path, "tests/test_auth.py", *LEAN, env=_env(
        POSTHOG_HOST=host, POSTHOG_PERSONAL_API_KEY="phx_" + "a" * 40))
    assert done.returncode == 4 and _last_line(done).startswith("ERROR: posthog-contract: Cannot reach POSTHOG_HOST")
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    _validate(report)
    assert report["run"]["verdict"] == "refused" and report["host"]["url"] == host and report["run"]["id"]
    assert report["run"]["verdict_text"].startswith("refused: preflight refused the host, so it was not judged: "
                                                    "Cannot reach POSTHOG_HOST")
    html = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert 'class="verdict warn" id="verdict">REFUSED<' in html and ">FAILED<" not in html
    summary = run_cli("summary", str(tmp_path / "report" / "report.json"), "--annotations")
    assert summary.stdout.startswith("::error title=posthog-contract refused::refused: preflight refused the host")
    assert "## posthog-contract: 🚫 refused: " in summary.stdout
    refused = run_cli("diff", str(tmp_path / "report" / "report.json"), str(tmp_path / "report" / "report.json"))
    assert refused.returncode == 2 and "refusing to compare a run that did not judge its host" in refused.stderr


# --- the report's details -------------------------------------------------------------------------------------


def test_the_seed_is_the_same_everywhere(clean_run: SuiteRun) -> None:
    report = clean_run.report
    seed = report["run"]["seed"]
    assert isinstance(seed, int)
    assert report["options"]["seed"] == report["provenance"]["seed"] == seed
    properties = {p.get("name"): p.get("value") for p in ElementTree.parse(clean_run.junit).getroot().iter("property")}
    assert properties["seed"] == str(seed)
    assert re.search(rf"run id pcr[a-z0-9]+, seed {seed}$", clean_run.output, re.MULTILINE)
    html = clean_run.report_html.read_text(encoding="utf-8")
    assert f"<dt>Seed</dt><dd>{seed}</dd>" in html and "not recorded" not in html


def test_a_run_that_chose_its_seed_records_it(tmp_path: Path) -> None:
    env = suite_environment()
    env.pop("POSTHOG_CONTRACT_SEED", None)
    done = _suite(tmp_path, "tests/test_auth.py", *LEAN, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert isinstance(report["run"]["seed"], int) and report["options"]["seed"] == report["run"]["seed"]


def test_coverage_lists_documented_parameters_only_and_counts_the_rest() -> None:
    stats = {"events_list": model.OperationStats(requests=3, parameters={"limit", "event", "\x00zz", "ßßß", "q"})}
    run = model.RunInfo()
    operations = model.matrix(run, [], stats)
    events = next(op for op in operations if op["operation_id"] == "events_list")
    documented = events["parameters"]["documented"]
    assert set(events["parameters"]["seen"]) == {"limit", "event"} <= set(documented)
    assert events["parameters"]["undocumented_names_sent"] == 3
    assert "limit" not in events["parameters"]["not_seen"] and len(events["parameters"]["not_seen"]) == len(
        documented) - 2


def test_a_waiver_problem_is_the_last_line_before_the_exit(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ntest = "tests/test_auth.py::*"\nrule = "a rule nobody breaks"\n'
                       'reason = "gone since 1.44"\nexpires = 2099-01-31\n', encoding="utf-8")
    done = _suite(tmp_path, "tests/test_auth.py", *LEAN, "--waivers", str(waivers))
    assert done.returncode == 1, done.stdout[-3000:]
    last = _last_line(done)
    assert last.startswith("posthog-contract: FAILED (exit 1): waivers: waiver #1"), last
    assert "matched no failure" in last or "unmatched" in last, last
    lines = done.stdout.strip().splitlines()
    assert _PYTEST_LINE.match(lines[-3]) or _PYTEST_LINE.match(lines[-2]), lines[-4:]  # pytest's green line before


# --- a diff that compares like with like ----------------------------------------------------------------------


def _report(seed: int, *, status_seen: dict[str, int], generated_only: list[str], generated_cell: str,
            fields: list[str], fields_generated_only: list[str], tests: list[dict[str, Any]]) -> dict[str, Any]:
    cells = {
        "status": {"outcome": "pass", "tests": [{"id": "tests/test_x.py::test_list", "outcome": "passed"}]},
        "generated": {"outcome": generated_cell, "tests": [{"id": "tests/test_property_based.py::test_read["
                                                            "GET /api/projects/{project_id}/dashboards/]",
                                                            "outcome": "failed" if generated_cell == "fail"
                                                            else "passed"}]},
    }
    operation = {"operation_id": "dashboards_list", "requests": 5, "checks": cells, "fields_seen": fields,
                 "fields_generated_only": fields_generated_only,
                 "statuses": {"seen": status_seen, "generated_only": generated_only}}
    return {"operations": [operation], "tests": tests, "host": {}, "drift": None,
            "run": {"exit_status": 0, "seed": seed}, "provenance": {"seed": seed}}


def _tests(generated_outcome: str, *, extra: bool = False) -> list[dict[str, Any]]:
    tests = [{"id": "tests/test_x.py::test_list", "outcome": "passed", "checks": ["status"]},
             {"id": "tests/test_property_based.py::test_read[GET /api/projects/{project_id}/dashboards/]",
              "outcome": generated_outcome, "checks": ["generated"], "reason": "generated case broke a rule"}]
    return tests + ([{"id": "tests/test_x.py::test_new", "outcome": "passed", "checks": ["status"]}] if extra else [])


def test_under_different_seeds_what_only_the_generated_part_produced_is_left_out() -> None:
    old = _report(1, status_seen={"200": 4, "400": 1}, generated_only=["400"], generated_cell="pass",
                  fields=["results", "results[].id"], fields_generated_only=[], tests=_tests("passed"))
    new = _report(2, status_seen={"200": 4, "404": 1}, generated_only=["404"], generated_cell="fail",
                  fields=["results", "results[].id"], fields_generated_only=[], tests=_tests("failed", extra=True))
    result = diff.compare(old, new)
    assert result.statuses == [] and result.newly_failing == [] and result.newly_failing_tests == []
    assert not result.regressed
    assert result.differences[0].startswith("the seeds differ (1 old, 2 new)")
    assert "the sets of tests differ: 0 only in the old run, 1 only in the new run (tests/test_x.py::test_new)" in (
        result.differences[1])
    assert result.left_out == ["1 generated cell(s) that changed", "1 generated test(s) newly failing or passing",
                               "status codes of 1 operation(s) that only generated requests changed"]
    text = diff.render(result)
    assert "LIKE WITH LIKE" in text and "left out of the changes (generated part, different seeds)" in text
    # the same seed: the generated part is compared like the rest
    same = diff.compare(old, {**new, "run": {"seed": 1}, "provenance": {"seed": 1}})
    assert [c.check for c in same.newly_failing] == ["dashboards_list / generated"] and same.regressed
    assert [(c.appeared, c.disappeared) for c in same.statuses] == [(["404"], ["400"])]
    assert not any(line.startswith("the seeds differ") for line in same.differences)


def test_each_heading_counts_what_it_lists() -> None:
    old = _report(1, status_seen={"200": 1}, generated_only=[], generated_cell="pass", fields=["a"],
                  fields_generated_only=[], tests=_tests("passed"))
    new = copy.deepcopy(old)
    new["operations"][0]["checks"]["status"] = {"outcome": "fail", "tests": [
        {"id": "tests/test_x.py::test_list", "outcome": "failed"},
        {"id": "tests/test_x.py::test_b", "outcome": "failed"}]}
    new["tests"][0]["outcome"] = "failed"
    text = diff.render(diff.compare(old, new))
    heading = next(line for line in text.splitlines() if line.startswith("NEWLY FAILING CHECKS"))
    assert heading == "NEWLY FAILING CHECKS (1)", text  # one check, listed with its two tests below it
    listed = text.split(heading, 1)[1].split("\n\n", 1)[0].strip().splitlines()
    assert len([line for line in listed if not line.startswith("      ")]) == 1 and len(listed) == 3, listed


@pytest.mark.parametrize("verdict", ["interrupted", "refused", "misconfigured"])
def test_diff_refuses_a_run_that_did_not_judge_its_host_unless_allowed(tmp_path: Path, clean_run: SuiteRun,
                                                                       verdict: str) -> None:
    stopped = copy.deepcopy(clean_run.report)
    stopped["run"]["verdict"] = verdict
    stopped["run"]["exit_status"] = 2 if verdict == "interrupted" else 4
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(clean_run.report), encoding="utf-8")
    new.write_text(json.dumps(stopped), encoding="utf-8")
    refused = run_cli("diff", str(old), str(new))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: refusing to compare a run that did not judge its host to the end")
    allowed = run_cli("diff", str(old), str(new), "--allow-mismatch")
    assert allowed.returncode == 0 and "MISMATCH" in allowed.stdout.split("NEWLY FAILING CHECKS", 1)[0]


def test_the_run_verdict_of_every_exit_status_is_in_the_schema() -> None:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    from posthog_contract.outcomes import RUN_VERDICTS, run_verdict

    assert set(schema["properties"]["run"]["properties"]["verdict"]["enum"]) == set(RUN_VERDICTS)
    assert Counter(run_verdict(code) for code in range(7)) == Counter(
        ["passed", "failed", "interrupted", "tool_error", "misconfigured", "no_tests", "incomplete"])
