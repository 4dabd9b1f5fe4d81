"""Where the contract's data lives, in a checkout and in an installed wheel.

The repository keeps ``schemas/`` and ``tests/`` at its top (the layout people know); the wheel
carries the same folders inside the package as ``posthog_contract/schemas`` and
``posthog_contract/suite`` (``pyproject.toml``, ``[tool.setuptools] package-dir``). An editable
install reads the checkout's folders directly.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: the checkout this package sits in (``src/posthog_contract`` -> the repository), if it is one
CHECKOUT_DIR = PACKAGE_DIR.parents[1]


def _first_existing(installed: Path, checkout: Path) -> Path:
    return installed if installed.is_dir() else checkout


def schemas_dir() -> Path:
    """The JSON Schemas; ``POSTHOG_CONTRACT_SCHEMAS_DIR`` overrides (e.g. a patched copy)."""
    override = os.environ.get("POSTHOG_CONTRACT_SCHEMAS_DIR")
    if override:
        return Path(override)
    return _first_existing(PACKAGE_DIR / "schemas", CHECKOUT_DIR / "schemas")


def suite_dir() -> Path:
    """The contract suite users run (the repository's ``tests/``)."""
    return _first_existing(PACKAGE_DIR / "suite", CHECKOUT_DIR / "tests")


def in_checkout() -> bool:
    """True when the suite runs from a source checkout (its ``pyproject.toml`` holds the pytest settings)."""
    return suite_dir() == CHECKOUT_DIR / "tests" and (CHECKOUT_DIR / "pyproject.toml").is_file()
