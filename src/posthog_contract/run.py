"""``posthog-contract run [PYTEST ARGS...]``: the contract suite, from a checkout or an installed wheel.

Every argument after ``run`` goes to pytest unchanged (``--base-url``, ``--report DIR``, ``-k``,
``--lf``, ...), and pytest's exit code is the command's. In a checkout this is
``python -m pytest tests``; from a wheel the suite is the package's own copy, the rootdir is that
copy (so test ids read ``test_auth.py::...`` either way) and pytest's cache lives in the current
directory, so ``--lf`` and ``--sw`` work there too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from . import locations

#: the pytest settings a checkout takes from pyproject.toml, for a wheel that has none
_INSTALLED_SETTINGS = ("-ra", "--strict-markers", "-o", "xfail_strict=true")


def pytest_arguments(extra: list[str], cwd: Path | None = None) -> list[str]:
    """The pytest command line that runs the suite with ``extra`` (the user's arguments)."""
    suite = locations.suite_dir()
    if locations.in_checkout():
        return [str(suite), *extra]
    cache = Path(cwd or os.getcwd()) / ".pytest_cache"
    return [str(suite), f"--rootdir={suite}", "-o", f"cache_dir={cache}", *_INSTALLED_SETTINGS, *extra]


def main(extra: list[str]) -> int:
    """Hand the process over to pytest: a fresh interpreter, so pytest imports (and assertion-rewrites)
    the plugin itself, and Ctrl-C / SIGTERM reach the run's own cleanup directly."""
    command = [sys.executable, "-m", "pytest", *pytest_arguments(extra)]
    if os.name == "posix":
        sys.stdout.flush()
        os.execv(sys.executable, command)
    return subprocess.call(command)

