"""What a user installs: the wheel carries the schemas and the suite, and runs outside the checkout.

The slow test builds the wheel, installs it into a fresh virtualenv in a temporary folder (with the
constraints CI tested, so the run is reproducible) and runs ``posthog-contract run`` there against
the embedded reference server, to a pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from posthog_contract import __main__ as cli
from posthog_contract import locations, run

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _source_packages() -> set[str]:
    src = ROOT / "src"
    return {".".join(init.parent.relative_to(src).parts) for init in src.rglob("__init__.py")}


def test_every_source_package_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = _source_packages() - listed
    assert not missing, f"pyproject.toml [tool.setuptools] packages leaves out {sorted(missing)}: the wheel lacks them"


def test_the_wheel_maps_the_top_level_schemas_and_tests_into_the_package():
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert mapping["posthog_contract.schemas"] == "schemas"
    assert mapping["posthog_contract.suite"] == "tests"


def test_a_checkout_runs_its_own_tests_folder_with_its_own_settings():
    assert locations.in_checkout()
    assert locations.suite_dir() == ROOT / "tests"
    assert locations.schemas_dir() == ROOT / "schemas"
    assert run.pytest_arguments(["-k", "auth"]) == [str(ROOT / "tests"), "-k", "auth"]


def test_version_is_the_installed_distribution_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"posthog-contract {PYPROJECT['project']['version']}"


def test_every_subcommand_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "reference", "diff", "drift", "cleanup", "summary"):
        assert f"    {command}" in out, f"`posthog-contract --help` does not list {command}"


def _pip(python: Path, *args: str, cwd: Path) -> None:
    constraints = os.environ.get("PIP_CONSTRAINT") or str(ROOT / "constraints.txt")
    env = {**os.environ, "PIP_CONSTRAINT": constraints, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", *args], cwd=cwd, env=env, check=True)


@pytest.mark.slow
def test_the_wheel_installed_outside_the_checkout_runs_the_suite_to_a_pass(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        cwd=tmp_path, check=True, env={**os.environ, "PIP_CONSTRAINT": ""},
    )
    (wheel,) = wheels.glob("posthog_contract-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "posthog_contract/schemas/dashboard.json" in names
    assert "posthog_contract/schemas/report/report.json" in names
    assert "posthog_contract/suite/test_auth.py" in names and "posthog_contract/suite/conftest.py" in names

    venv.create(tmp_path / "venv", with_pip=True, clear=True)
    python = tmp_path / "venv" / "bin" / "python"
    _pip(python, str(wheel), cwd=tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTHOG_HOST", "POSTHOG_PERSONAL", "PYTHONPATH"))}
    done = subprocess.run(
        [str(tmp_path / "venv" / "bin" / "posthog-contract"), "run"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"`posthog-contract run` from the wheel exited {done.returncode}:\n{output[-3000:]}"
    assert "site-packages/posthog_contract/suite" in output, "the run did not use the wheel's own copy of the suite"
    final = output.strip().splitlines()[-1]
    assert re.search(r"\b\d+ passed\b", final) and "failed" not in final and "error" not in final, final
    assert (workdir / ".pytest_cache").is_dir(), "pytest's cache (for --lf/--sw) belongs in the working directory"


def test_last_failed_reruns_only_what_failed(tmp_path):
    """`--lf` works on the contract suite: the cache provider is on (issue 12, point 5)."""
    cache = ["-o", f"cache_dir={tmp_path / 'cache'}"]
    module = str(ROOT / "tests" / "test_dashboards.py")
    first = subprocess.run(
        [sys.executable, "-m", "pytest", module, "-q", *cache, "--reference-arg=--mutant=trailing_slash_required"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert first.returncode == 1, first.stdout[-2000:]
    failed = re.findall(r"^FAILED (\S+)", first.stdout, re.MULTILINE)
    assert failed, first.stdout[-2000:]
    again = subprocess.run(
        [sys.executable, "-m", "pytest", module, "-q", *cache, "--lf"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert again.returncode == 0, again.stdout[-2000:]
    assert f"{len(failed)} passed" in again.stdout and "deselected" in again.stdout, again.stdout[-2000:]
