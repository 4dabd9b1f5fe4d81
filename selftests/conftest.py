"""Self-tests run the contract suite in subprocesses; a fixed schemathesis seed keeps those runs
reproducible in CI (a seed that finds a real reference-server bug is then a stable, fixable failure).
Set POSTHOG_CONTRACT_SEED yourself to explore other seeds.

The installed suite (one wheel, one fresh virtualenv outside the checkout) is built at most once per
session and shared by every self-test that needs it (install_support.py)."""

import os
from pathlib import Path

import pytest
from install_support import Install, build_wheel, fresh_install

os.environ.setdefault("POSTHOG_CONTRACT_SEED", "20261126")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel .`` builds from this checkout."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Install:
    """The wheel installed into a fresh virtualenv in a temporary folder, run from a folder beside it."""
    return fresh_install(wheel, tmp_path_factory.mktemp("installed"))
