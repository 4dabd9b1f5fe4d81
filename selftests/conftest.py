"""Self-tests run the contract suite in subprocesses; a fixed schemathesis seed keeps those runs
reproducible in CI (a seed that finds a real reference-server bug is then a stable, fixable failure).
Set POSTHOG_CONTRACT_SEED yourself to explore other seeds."""

import os

os.environ.setdefault("POSTHOG_CONTRACT_SEED", "20261126")
