"""The suite tests itself: it passes against the clean reference server and fails against mutants.

Two parts: a representative subset (one mutant per area of the contract, scenario tests only, so
a kill is attributable to the hand-written scenario that names the rule), and the full set: every
mutant against the whole suite, the kill table written to artifacts/mutation/ and the score printed.
The full set takes several minutes on 2 cores; POSTHOG_CONTRACT_QUICK=1 leaves it out of a local
edit-run loop (CI always runs it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from posthog_contract import mutation

SCENARIOS_ONLY = ["--ignore=tests/test_generated.py", "--ignore=tests/test_stateful.py", "--maxfail=5"]

#: mutant -> the scenario module that must catch it (one per area of the issue's scenario list)
REPRESENTATIVES = {
    "patch_not_stored": "test_dashboards",
    "soft_delete_ignored": "test_dashboard_lifecycle",
    "sharing_token_not_rotated": "test_sharing",
    "collaborator_duplicate_accepted": "test_collaborators",
    "tile_not_moved": "test_move_tile",
    "template_missing_name_accepted": "test_template",
    "events_filter_event_ignored": "test_events",
    "events_next_drops_filters": "test_pagination",
    "readonly_key_may_write": "test_auth",
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
    runs = mutation.run_all(mutation.catalogue(), out, jobs=2, pytest_args=["--maxfail=5"])
    score = mutation.write_table(runs, out)
    with capsys.disabled():
        print(f"\n{score} (kill table: {out / 'kill-table.md'})")
    survivors = [run.mutant for run in runs if not run.killed]
    assert not survivors, f"{score}; surviving mutants: {survivors}"
