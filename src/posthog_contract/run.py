"""``posthog-contract run [PYTEST ARGS...]``: the contract suite, from a checkout or an installed wheel.

Every argument after ``run`` goes to pytest (``--base-url``, ``--report DIR``, ``-k``, ``--lf``, a
file or a test id, ...), and pytest's exit code is the command's. The suite's folder is ``tests/``
in both layouts and its parent is pytest's rootdir (``locations.suite_root``), so test ids read
``tests/test_auth.py::test_x`` from a wheel exactly as from a checkout: waivers, ``--lf``, ``-k``,
JUnit names and report ids are the same either way. The suite's pytest settings come from its own
file (``-c``), never from a project configuration found around the virtualenv; from a wheel,
pytest's cache lives in the current directory, so ``--lf`` and ``--sw`` work there too.

This module is also the launcher's pytest plugin (``-p posthog_contract.run``): with no file or test
id on the command line it selects the whole suite, and a selection that names the suite's files
(``tests/test_sharing.py``, ``tests/test_sharing.py::test_x``, the ids a run prints; the bare
``test_sharing.py`` too) is found in the suite when the current directory has no such file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import locations

PLUGIN = "posthog_contract.run"


def command(extra: list[str], cwd: Path | None = None) -> list[str]:
    """The pytest arguments that run the suite with ``extra`` (the user's arguments)."""
    head = ["-p", PLUGIN, f"--rootdir={locations.suite_root()}", "-c", str(locations.suite_settings_file())]
    cache_off = any(arg.removeprefix("-p").strip() == "no:cacheprovider" for arg in extra)  # -p no:… or -pno:…
    if not locations.in_checkout() and not cache_off:  # cache_dir is the cache plugin's setting (--strict-config)
        head += ["-o", f"cache_dir={Path(cwd or os.getcwd()) / '.pytest_cache'}"]
    return [*head, *extra]


def main(extra: list[str]) -> int:
    """Hand the process over to pytest: a fresh interpreter, so pytest imports (and assertion-rewrites)
    the plugin itself, and Ctrl-C / SIGTERM reach the run's own cleanup directly."""
    arguments = [sys.executable, "-m", "pytest", *command(extra)]
    if os.name == "posix":
        sys.stdout.flush()
        os.execv(sys.executable, arguments)
    return subprocess.call(arguments)


def in_suite(selection: str, cwd: Path) -> str:
    """``selection`` (a path or test id) as pytest should read it: unchanged when it names something in
    ``cwd`` (or is absolute), else the suite's own file or folder it names, else unchanged (pytest then
    says "not found")."""
    path, separator, rest = selection.partition("::")
    if not path or Path(path).is_absolute() or (cwd / path).exists():
        return selection
    root = locations.suite_root()
    for candidate in (root / path, root / locations.SUITE_FOLDER / path):
        resolved = candidate.resolve()
        if resolved.exists() and resolved.is_relative_to(root):
            return f"{resolved}{separator}{rest}"
    return selection


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Before pytest looks at the selection: default to the whole suite, find the suite's files named."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "pyargs", False):
        return
    chosen = list(getattr(namespace, "file_or_dir", None) or [])
    cwd = early_config.invocation_params.dir
    if not chosen:
        mapped = [str(locations.suite_dir())]
        args.append(mapped[0])
    else:
        mapped = [in_suite(item, cwd) for item in chosen]
        _replace_positionals(args, chosen, mapped)
    namespace.file_or_dir = mapped


def _replace_positionals(args: list[str], chosen: list[str], mapped: list[str]) -> None:
    """Rewrite the command line's positional arguments in place (pytest parses ``args`` again later)."""
    start = 0
    for before, after in zip(chosen, mapped, strict=True):
        try:
            index = args.index(before, start)
        except ValueError:  # from PYTEST_ADDOPTS or an unusual spelling: leave it as given
            continue
        args[index] = after
        start = index + 1


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The terminal names tests as the suite does (``tests/test_x.py::test_y``), not as a path from the
    current directory into site-packages: every id the run prints can be given back to it."""
    if config.invocation_params.dir == config.rootpath:
        return
    config.cwd_relative_nodeid = _as_is  # type: ignore[method-assign]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and hasattr(reporter, "startpath"):
        reporter.startpath = config.rootpath


def _as_is(nodeid: str) -> str:
    return nodeid
