"""The suite tests itself: it passes against the clean reference server and fails against mutants.

Two parts: a representative subset (one mutant per area of the contract, scenario tests only, so
a kill is attributable to the hand-written scenario that names the rule), and the full set: every
mutant against the whole suite, the kill table written to artifacts/mutation/ and the score printed.
The full set takes several minutes on 2 cores; POSTHOG_CONTRACT_QUICK=1 leaves it out of a local
edit-run loop (CI always runs it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from posthog_contract import mutation

SCENARIOS_ONLY = [*mutation.SCENARIOS_ONLY, "--maxfail=5"]

#: mutant -> the scenario module that must catch it (one per area of the issue's scenario list)
REPRESENTATIVES = {
    "patch_not_stored": "test_writes",
    "soft_delete_ignored": "test_dashboard_lifecycle",
    "sharing_token_not_rotated": "test_sharing",
    "collaborator_duplicate_accepted": "test_collaborators",
    "tile_not_moved": "test_move_tile",
    "template_missing_name_accepted": "test_template",
    "events_filter_event_ignored": "test_events",
    "events_next_drops_filters": "test_pagination",
    "readonly_key_may_write": "test_writes",
    "capture_status_wrong": "test_capture",
}

QUICK = os.environ.get("POSTHOG_CONTRACT_QUICK") == "1"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutation")


def test_every_representative_is_a_declared_mutant():
    missing = set(REPRESENTATIVES) - mutation.catalogue().keys()
    assert not missing, f"representative mutants not declared by the reference server: {sorted(missing)}"


def test_at_least_forty_mutants_are_declared():
    assert len(mutation.catalogue()) >= 40


def test_every_mutant_declares_the_tests_expected_to_kill_it():
    declared = mutation.killers()
    bare = sorted(name for name in mutation.catalogue() if not declared.get(name))
    assert not bare, f"mutants without killed_by (reference/mutant_killers.py or declare(killed_by=...)): {bare}"
    tests = {p.as_posix() for p in Path("tests").glob("test_*.py")}
    unknown = sorted({k for ks in declared.values() for k in ks if k.split("::")[0] not in tests})
    assert not unknown, f"declared killers naming no test module: {unknown}"


def test_a_kill_counts_only_for_a_declared_test_asserting_about_the_host():
    failure = mutation.TestFailure
    run = mutation.SuiteRun("m", "rule", 1, 1.0, expected=("tests/test_a.py::test_rule",))
    run.failures = [failure("tests/test_b.py::test_other", "failure", "AssertionError: x")]
    assert not run.killed and run.verdict.startswith("NOT KILLED (only undeclared")
    run.failures.append(failure("tests/test_a.py::test_rule[p]", "error", "fixture broke"))
    assert not run.killed, "an error (fixture, setup) is not a kill"
    run.failures.append(failure("tests/test_a.py::test_rule[q]", "failure", "RateLimitExhausted: host kept..."))
    assert not run.killed, "a tool error is not a kill"
    run.failures.append(failure("tests/test_a.py::test_rule[r]", "failure", "AssertionError: Contract rule broken"))
    assert run.killed and run.killing_tests == ["tests/test_a.py::test_rule[r]"]
    run.exit_code = 4
    assert not run.killed, "exit 4 (preflight refused the host) is not a kill"


def test_a_host_assertion_raised_while_setting_up_is_a_kill():
    """Seeding events judges the host in a fixture: JUnit reports a setup error, yet it is an
    assertion about the host (capture dropped events); a plain fixture crash is not."""
    failure = mutation.TestFailure
    run = mutation.SuiteRun("m", "rule", 1, 1.0, expected=("tests/test_events.py",))
    run.failures = [failure("tests/test_events.py::test_x", "error", 'failed on setup with "KeyError: id"')]
    assert not run.killed
    run.failures.append(
        failure("tests/test_events.py::test_y", "error",
                'failed on setup with "posthog_contract.events.EventsNotListable: only 12 of 24 ..."')
    )
    assert run.killed and run.killing_tests == ["tests/test_events.py::test_y"]


def test_the_declared_killers_modules_run_first():
    targets = ["tests/test_auth.py", "tests/test_dashboards.py", "tests/test_events.py", "tests/test_property_based.py"]
    expected = ("tests/test_events.py::test_a", "tests/test_property_based.py", "tests/test_events.py::test_b")
    assert mutation.killers_first(targets, expected) == [
        "tests/test_events.py", "tests/test_property_based.py", "tests/test_auth.py", "tests/test_dashboards.py",
    ]
    assert mutation.killers_first(targets, ()) == targets


def test_phase_two_runs_for_killers_phase_one_did_not_run():
    """Phase one deselects the property-based tests by their mark; a declared killer absent from its JUnit
    (deselected, never reached) is what sends a surviving mutant to phase two, whatever its file is called."""
    run = mutation.SuiteRun("m", "rule", 1, 1.0, expected=("tests/test_a.py::test_rule", "tests/test_b.py"))
    run.ran = ["tests/test_a.py::test_rule[1]", "tests/test_a.py::test_rule[2]", "tests/test_c.py::test_x"]
    assert mutation.unrun_killers(run) == ["tests/test_b.py"]
    run.ran.append("tests/test_b.py::test_anything")
    assert mutation.unrun_killers(run) == []


def test_the_scenarios_phase_leaves_out_exactly_the_property_based_marks(tmp_path):
    """``-m "not property_based"`` on the real suite: what it deselects carries the mark, nothing else does."""
    def collected(*args: str) -> set[str]:
        done = subprocess.run([sys.executable, "-m", "pytest", "tests", "--co", "-q", "-p", "no:cacheprovider", *args],
                              cwd=mutation.ROOT, capture_output=True, text=True, env=mutation.suite_environment())
        assert done.returncode == 0, done.stdout + done.stderr
        return {line for line in done.stdout.splitlines() if "::" in line}

    everything, scenarios = collected(), collected(*mutation.SCENARIOS_ONLY)
    property_based = collected("-m", "property_based")
    assert scenarios and property_based and scenarios | property_based == everything
    assert not scenarios & property_based


def test_no_score_is_printed_when_the_clean_run_fails(tmp_path):
    run = mutation.SuiteRun("m", "rule", 1, 1.0, expected=("tests/test_a.py",))
    run.failures = [mutation.TestFailure("tests/test_a.py::t", "failure", "AssertionError")]
    clean = mutation.SuiteRun(None, "clean", 1, 1.0)
    assert mutation.write_table([run], tmp_path, clean).startswith("no mutation score")
    assert not re.search(r"mutation score: \d+/\d+", (tmp_path / "kill-table.md").read_text())
    clean.exit_code = 0
    assert mutation.write_table([run], tmp_path, clean) == "mutation score: 1/1"


def test_the_table_names_what_only_one_module_killed(tmp_path):
    def run(name: str, *tests: str) -> mutation.SuiteRun:
        result = mutation.SuiteRun(name, "rule", 1, 1.0, expected=("tests/test_a.py", "tests/test_b.py"))
        result.failures = [mutation.TestFailure(t, "failure", "AssertionError") for t in tests]
        return result

    runs = [
        run("only_a", "tests/test_a.py::t1", "tests/test_a.py::t2"),
        run("both", "tests/test_a.py::t1", "tests/test_b.py::t"),
        run("only_b", "tests/test_b.py::t", "tests/test_c.py::undeclared"),
    ]
    assert mutation.sole_killers(runs) == {"tests/test_a.py": ["only_a"], "tests/test_b.py": ["only_b"]}
    mutation.write_table(runs, tmp_path)
    assert "| tests/test_a.py | 1: `only_a` |" in (tmp_path / "kill-table.md").read_text()


def test_the_suite_passes_against_the_clean_server(workdir):
    run = mutation.run_suite(None, "clean", workdir, [])
    assert run.exit_code == 0, f"clean run failed (exit {run.exit_code}): {run.failed_tests[:10]}"


@pytest.fixture(scope="module")
def representative_runs(workdir) -> dict[str, mutation.SuiteRun]:
    chosen = {name: rule for name, rule in mutation.catalogue().items() if name in REPRESENTATIVES}
    runs = mutation.run_all(chosen, workdir, jobs=2, pytest_args=SCENARIOS_ONLY, echo=False)
    return {run.mutant: run for run in runs}


@pytest.mark.parametrize("mutant", sorted(REPRESENTATIVES))
def test_the_scenario_suite_kills_the_mutant(representative_runs, mutant):
    run = representative_runs[mutant]
    assert run.killed, f"{mutant} survived the scenario suite (exit {run.exit_code}): {run.rule}"
    module = REPRESENTATIVES[mutant]
    assert any(test.startswith(module) for test in run.failed_tests), (
        f"{mutant} was killed, but not by {module}: {run.failed_tests[:5]}"
    )


@pytest.mark.skipif(QUICK, reason="POSTHOG_CONTRACT_QUICK=1: the full mutant set is left out of this local run")
def test_every_mutant_is_killed_by_the_whole_suite(capsys):
    out = Path("artifacts/mutation")
    clean = mutation.run_suite(None, "clean", out, [])
    assert clean.exit_code == 0, f"clean run failed: {clean.failed_tests[:10]}"
    runs = mutation.run_all(mutation.catalogue(), out, jobs=2, pytest_args=["--maxfail=10"])
    score = mutation.write_table(runs, out, clean)
    with capsys.disabled():
        print(f"\n{score} (kill table: {out / 'kill-table.md'})")
    survivors = [f"{run.mutant} ({run.verdict})" for run in runs if not run.killed]
    assert not survivors, f"{score}; surviving mutants: {survivors}"
