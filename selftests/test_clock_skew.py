"""Never blamed on the host for the tool's own doing (issue 24): a host whose clock is off the runner's.

Every event the suite captures carries its own timestamp and every window it queries is built from
them (contract §9 "Two clocks, never compared"), so the whole suite passes against a reference whose
clock runs 30 s behind or ahead of the machine's (``--clock-offset``, the reference's own flag). Before
issue 23, the `limit` cap check's fillers were stamped by the host and queried from the runner's now:
a host 10 s behind failed it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from posthog_contract import mutation

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("offset", [-30, 30])
def test_the_whole_suite_passes_against_a_host_whose_clock_is_off(offset):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
         f"--reference-arg=--clock-offset={offset}"],
        cwd=ROOT, env=mutation.suite_environment(), capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert done.stdout.strip().splitlines()[-1].startswith("posthog-contract: PASSED (exit 0)"), done.stdout[-2000:]
