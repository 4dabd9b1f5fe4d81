"""Session fixtures of the report's self-tests: one suite run against the clean embedded server,
one against the ``dashboard_missing_team_id`` mutant (see report_support.py)."""

from __future__ import annotations

import pytest
from report_support import SuiteRun, run_suite


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    run = run_suite(tmp_path_factory.mktemp("clean"))
    assert run.exit_code == 0, run.output[-4000:]
    return run


@pytest.fixture(scope="session")
def mutant_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    run = run_suite(tmp_path_factory.mktemp("mutant"), "--mutant=dashboard_missing_team_id")
    assert run.exit_code == 1, run.output[-4000:]
    return run


@pytest.fixture(scope="session")
def whole_mutant_run(tmp_path_factory: pytest.TempPathFactory) -> SuiteRun:
    """The mutant against the whole suite (generated part included), so that operations the mutant
    leaves alone have every applicable cell checked and the "problems only" filter has rows to hide."""
    run = run_suite(tmp_path_factory.mktemp("whole-mutant"), "--mutant=dashboard_missing_team_id", whole=True)
    assert run.exit_code == 1, run.output[-4000:]
    return run
