"""Self-tests run the contract suite in subprocesses; a fixed schemathesis seed keeps those runs
reproducible in CI (a seed that finds a real reference-server bug is then a stable, fixable failure).
Set POSTHOG_CONTRACT_SEED yourself to explore other seeds."""

import os
from collections.abc import Iterator

import pytest

from posthog_contract.outcomes import LOG
from posthog_contract.policy import LEDGER

os.environ.setdefault("POSTHOG_CONTRACT_SEED", "20261126")


@pytest.fixture(autouse=True)
def _fresh_request_ledger() -> Iterator[None]:
    """The ledger and the outcome log are the run's (one per process): a self-test that spends the rate
    limit, records a deprecation or a warning must not leave that behind for the next test here."""
    LEDGER.reset()
    yield
    LEDGER.reset()
    LOG.entries.clear()
