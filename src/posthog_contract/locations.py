"""Where the contract's data lives, in a checkout and in an installed wheel.

The repository keeps ``schemas/`` and ``tests/`` at its top (the layout people know); the wheel
carries the same folders inside the package as ``posthog_contract/schemas`` and
``posthog_contract/suite/tests`` (``pyproject.toml``, ``[tool.setuptools] package-dir``). The suite
keeps its folder name in both, and its parent is pytest's rootdir, so a test id is
``tests/test_auth.py::…`` however the suite was installed. An editable install reads the checkout's
folders directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: the checkout this package sits in (``src/posthog_contract`` -> the repository), if it is one
CHECKOUT_DIR = PACKAGE_DIR.parents[1]
#: the folder name of the suite, in the repository and in the wheel: the first part of every test id
SUITE_FOLDER = "tests"


def schemas_dir() -> Path:
    """The JSON Schemas; ``POSTHOG_CONTRACT_SCHEMAS_DIR`` overrides (e.g. a patched copy)."""
    override = os.environ.get("POSTHOG_CONTRACT_SCHEMAS_DIR")
    if override:
        return Path(override)
    installed = PACKAGE_DIR / "schemas"
    return installed if installed.is_dir() else CHECKOUT_DIR / "schemas"


def suite_root() -> Path:
    """pytest's rootdir for the suite: the folder holding ``tests/`` (the checkout, or the wheel's ``suite/``)."""
    installed = PACKAGE_DIR / "suite"
    return installed if (installed / SUITE_FOLDER).is_dir() else CHECKOUT_DIR


def suite_dir() -> Path:
    """The contract suite users run (the repository's ``tests/``)."""
    return suite_root() / SUITE_FOLDER


def in_checkout() -> bool:
    """True when the suite runs from a source checkout (its ``pyproject.toml`` holds the pytest settings)."""
    return suite_root() == CHECKOUT_DIR and (CHECKOUT_DIR / "pyproject.toml").is_file()


def suite_settings_file() -> Path:
    """The suite's pytest settings: the checkout's ``pyproject.toml``, else the wheel's ``suite.ini``."""
    return CHECKOUT_DIR / "pyproject.toml" if in_checkout() else PACKAGE_DIR / "suite.ini"


def selects_suite(args: Iterable[str], invocation_dir: Path) -> bool:
    """Does a pytest command line with these paths or test ids run (part of) the contract suite?"""
    suite, root = suite_dir().resolve(), suite_root().resolve()
    for arg in args:
        path = (invocation_dir / str(arg).split("::", 1)[0]).resolve()
        if path in (suite, root) or suite in path.parents:
            return True
    return False
