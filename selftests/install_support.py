"""The suite as users install it: one wheel built from this checkout, installed once per session into a
fresh virtualenv in a temporary folder outside the checkout (fixtures ``wheel`` and ``installed`` in
selftests/conftest.py), and the same ``posthog-contract`` command run in either install mode.

Building and installing take a minute or two, so every self-test that needs the installed suite
(test_install.py, test_action.py) shares the one virtualenv.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: plugins a run of the hand-written scenarios does not need (as in safety_support.LEAN)
LEAN = ("-p", "no:hypothesispytest", "-p", "no:xdist", "-p", "no:timeout", "-p", "no:anyio")


def environment(**settings: str) -> dict[str, str]:
    """The caller's environment without host configuration, pytest options or a PYTHONPATH into the
    checkout (a wheel run must not see the checkout's sources), plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_", "PYTEST_", "PYTHONPATH"))}
    if "POSTHOG_CONTRACT_SEED" in os.environ:  # selftests/conftest.py pins it
        env["POSTHOG_CONTRACT_SEED"] = os.environ["POSTHOG_CONTRACT_SEED"]
    env["PYTHONUNBUFFERED"] = "1"
    env.update(settings)
    return env


def build_wheel(directory: Path) -> Path:
    """The wheel of the working tree as git sees it (tracked and untracked files, not ignored ones), built from
    a copy: setuptools reuses the checkout's ignored build/ folder and never removes a file from it, so a
    module since moved or deleted (config.py before the config package) would still ship in the wheel."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / "source"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=False)  # fmt: skip
    if listed.returncode == 0:
        for name in filter(None, listed.stdout.decode().split("\0")):
            if (ROOT / name).is_file():
                (source / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, source / name)
    else:  # not a git checkout (an sdist): its own tree
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(directory), str(source)],
        cwd=directory, check=True, env={**os.environ, "PIP_CONSTRAINT": ""}, timeout=600,
    )
    (wheel,) = directory.glob("posthog_contract-*.whl")
    return wheel


def pip_install(python: Path, *args: str, cwd: Path) -> None:
    """pip install with the constraints CI tested, so the run is reproducible."""
    constraints = os.environ.get("PIP_CONSTRAINT") or str(ROOT / "constraints.txt")
    env = {**os.environ, "PIP_CONSTRAINT": constraints, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", *args], cwd=cwd, env=env, check=True, timeout=900)


@dataclass
class Done:
    returncode: int
    output: str  # stdout and stderr together
    seconds: float


@dataclass
class Install:
    """One way the suite is installed: ``posthog-contract`` on PATH, run from ``workdir``."""

    mode: str  # "checkout" (this checkout's editable install) or "wheel" (a fresh virtualenv)
    bin_dir: Path
    workdir: Path

    @property
    def command(self) -> Path:
        return self.bin_dir / "posthog-contract"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    def env(self, **settings: str) -> dict[str, str]:
        env = environment(**settings)
        env["PATH"] = str(self.bin_dir) + os.pathsep + env.get("PATH", "")
        env.pop("VIRTUAL_ENV", None)
        return env

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 600, **settings: str) -> Done:
        """``posthog-contract ARGS`` from the install's working folder (the checkout: its root)."""
        start = time.monotonic()
        done = subprocess.run(
            [str(self.command), *args], cwd=cwd or self.workdir, env=self.env(**settings), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout,
        )
        return Done(done.returncode, done.stdout.decode(errors="replace"), time.monotonic() - start)


def checkout_install() -> Install:
    """This checkout's own environment (an editable install), run from the checkout's root."""
    return Install("checkout", Path(sys.executable).parent, ROOT)


def fresh_install(wheel: Path, where: Path) -> Install:
    """A fresh virtualenv in ``where`` (outside the checkout) with the wheel installed; runs from ``where/work``."""
    venv.create(where / "venv", with_pip=True, clear=True)
    install = Install("wheel", where / "venv" / "bin", where / "work")
    pip_install(install.python, str(wheel), cwd=where)
    install.workdir.mkdir(exist_ok=True)
    return install
