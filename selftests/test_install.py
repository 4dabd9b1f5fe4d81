"""What a user installs: the wheel carries the schemas and the suite, and runs outside the checkout exactly
as a checkout does (issue 25): the same test ids, the same selections (a file, a test id, the ids a run
prints), the README's waiver, rerun recipes and config file, and the reference server handing over
its credentials.

The slow tests run the same ``posthog-contract`` command in both install modes: ``checkout`` (this
checkout's editable install, from its root) and ``wheel`` (the wheel in a fresh virtualenv outside the
checkout, from a folder beside it; one per session, see install_support.py).
"""

from __future__ import annotations

import configparser
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from install_support import LEAN, ROOT, Done, Install, checkout_install

from posthog_contract import __main__ as cli
from posthog_contract import embedded, locations, run

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
MUTANT = "--reference-arg=--mutant=collaborator_patch_allowed"  # breaks tests/test_collaborators.py::test_patch_*


def _source_packages() -> set[str]:
    src = ROOT / "src"
    return {".".join(init.parent.relative_to(src).parts) for init in src.rglob("__init__.py")}


def test_every_source_package_is_listed_for_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = _source_packages() - listed
    assert not missing, f"pyproject.toml [tool.setuptools] packages leaves out {sorted(missing)}: the wheel lacks them"


def test_the_wheel_maps_the_top_level_schemas_and_tests_into_the_package_keeping_the_folder_name():
    mapping = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert mapping["posthog_contract.schemas"] == "schemas"
    assert mapping["posthog_contract.suite.tests"] == "tests" == locations.SUITE_FOLDER


def test_a_checkout_runs_its_own_tests_folder_with_its_own_settings():
    assert locations.in_checkout()
    assert locations.suite_root() == ROOT and locations.suite_dir() == ROOT / "tests"
    assert locations.schemas_dir() == ROOT / "schemas"
    assert run.command(["-k", "auth"]) == [
        "-p", "posthog_contract.run", f"--rootdir={ROOT}", "-c", str(ROOT / "pyproject.toml"), "-k", "auth"]


def test_the_wheel_s_pytest_settings_are_the_checkout_s():
    ini = configparser.ConfigParser()
    ini.read(locations.PACKAGE_DIR / "suite.ini", encoding="utf-8")
    checkout = PYPROJECT["tool"]["pytest"]["ini_options"]
    assert dict(ini["pytest"]) == {key: str(value).lower() if isinstance(value, bool) else str(value)
                                   for key, value in checkout.items()}


def test_a_selection_names_the_suite_s_files_when_the_working_folder_has_none(tmp_path: Path):
    suite = ROOT / "tests"
    assert run.in_suite("tests/test_sharing.py::test_enable_is_stored", tmp_path) == (
        f"{suite / 'test_sharing.py'}::test_enable_is_stored")
    assert run.in_suite("test_sharing.py", tmp_path) == str(suite / "test_sharing.py")  # a bare file name too
    assert run.in_suite("tests", tmp_path) == str(suite)
    assert run.in_suite("tests/test_nothing.py", tmp_path) == "tests/test_nothing.py"  # pytest says "not found"
    assert run.in_suite("../../etc", tmp_path) == "../../etc"  # never outside the suite
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_sharing.py").write_text("", encoding="utf-8")
    assert run.in_suite("tests/test_sharing.py", tmp_path) == "tests/test_sharing.py"  # the user's own file


def test_version_is_the_installed_distribution_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"posthog-contract {PYPROJECT['project']['version']}"


def test_every_subcommand_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "reference", "diff", "drift", "cleanup", "summary", "matrix"):
        assert f"    {command}" in out, f"`posthog-contract --help` does not list {command}"


# --- the same command in both install modes (slow: a wheel, a fresh virtualenv) -------------------------------


@pytest.fixture(params=["checkout", "wheel"])
def install(request: pytest.FixtureRequest, tmp_path: Path) -> Install:
    if request.param == "wheel":
        return request.getfixturevalue("installed")
    return checkout_install()


def _run(
    install: Install, *args: str, cache: Path, cwd: Path | None = None, timeout: float = 600, **env: str
) -> Done:
    """``posthog-contract run ARGS``; a checkout keeps its cache in a temporary folder (not the developer's)."""
    own_cache = ("-o", f"cache_dir={cache}") if install.mode == "checkout" else ()
    return install.run("run", *own_cache, *args, cwd=cwd, timeout=timeout, **env)


def _final(output: str) -> str:
    """pytest's own last line (``N passed … in 1.2s``); the run's verdict line follows it (issue 24)."""
    return next(line for line in reversed(output.strip().splitlines()) if re.search(r" in [\d.]+s\b", line))


def _counts(output: str) -> dict[str, int]:
    final = _final(output)
    return {word: int(number)
            for number, word in re.findall(r"(\d+) (passed|failed|accepted|deselected|error)", final)}


@pytest.mark.slow
def test_the_wheel_carries_the_suite_and_runs_it_outside_the_checkout_to_a_pass(installed: Install, wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "posthog_contract/schemas/dashboard.json" in names
    assert "posthog_contract/schemas/report/report.json" in names and "posthog_contract/suite.ini" in names
    assert {"posthog_contract/suite/tests/test_auth.py", "posthog_contract/suite/tests/conftest.py"} <= names
    # the pages' own files (report.html's template, the matrix filters both pages inline) and every subpackage
    assert {"posthog_contract/report/template.html", "posthog_contract/report/row_filter.js",
            "posthog_contract/config/sources.py"} <= names
    done = installed.run("run", timeout=900)
    assert done.returncode == 0, f"the wheel's run exited {done.returncode}:\n{done.output[-3000:]}"
    assert "site-packages/posthog_contract/suite" in done.output, "the run did not use the wheel's own copy"
    final = _final(done.output)
    assert re.search(r"\b\d+ passed\b", final) and "failed" not in final and "error" not in final, final
    assert (installed.workdir / ".pytest_cache").is_dir(), "pytest's cache (for --lf/--sw) belongs in the work folder"


@pytest.mark.slow
def test_test_ids_are_the_same_however_the_suite_is_installed(installed: Install, tmp_path: Path):
    ids = {}
    for install in (checkout_install(), installed):
        done = _run(install, "--collect-only", "-q", *LEAN, cache=tmp_path / "cache")
        assert done.returncode == 0, done.output[-3000:]
        ids[install.mode] = [line for line in done.output.splitlines() if "::" in line]
    assert ids["wheel"] == ids["checkout"] and len(ids["wheel"]) > 100
    assert all(test_id.startswith("tests/test_") for test_id in ids["wheel"]), ids["wheel"][:3]


@pytest.mark.slow
def test_a_file_a_bare_file_name_and_a_test_id_are_selected(install: Install, tmp_path: Path):
    one = "tests/test_auth.py::test_unknown_project_is_404"
    listed = _run(install, "tests/test_sharing.py", "test_template.py", one, "--collect-only", "-q", *LEAN,
                  cache=tmp_path)
    selected = [line for line in listed.output.splitlines() if "::" in line]
    assert selected[-1] == one and {s.split("::")[0] for s in selected} == {
        "tests/test_sharing.py", "tests/test_template.py", "tests/test_auth.py"}, listed.output[-3000:]
    done = _run(install, "tests/test_sharing.py", "test_template.py", one, "-q", *LEAN, cache=tmp_path)
    assert done.returncode == 0 and _counts(done.output) == {"passed": len(selected)}, done.output[-3000:]
    missing = _run(install, "tests/test_nothing.py", *LEAN, cache=tmp_path)
    assert missing.returncode == 4 and "not found: tests/test_nothing.py" in missing.output, missing.output[-2000:]


def _readme_waiver(folder: Path) -> Path:
    """The README's waiver example of a test, verbatim but for an expiry already past (then a year from today)."""
    (block,) = [b for b in re.findall(r"```toml\n(\[\[waiver\]\].*?)```", README, re.DOTALL) if "\ntest = " in b]
    expires = dt.date.fromisoformat(re.search(r"expires = (\S+)", block).group(1))
    if expires < dt.date.today():
        block = block.replace(expires.isoformat(), (dt.date.today() + dt.timedelta(days=365)).isoformat())
    path = folder / "waivers.toml"
    path.write_text(block, encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_ids_a_failing_run_prints_rerun_it_and_the_readme_waiver_accepts_it(install: Install, tmp_path: Path):
    cache = tmp_path / "cache"
    first = _run(install, "tests/test_collaborators.py", MUTANT, "-q", *LEAN, cache=cache)
    assert first.returncode == 1, first.output[-3000:]
    printed = re.findall(r"^FAILED (\S+)", first.output, re.MULTILINE)
    assert printed == ["tests/test_collaborators.py::test_patch_a_collaborator_is_refused"], first.output[-3000:]

    again = _run(install, printed[0], MUTANT, "-q", *LEAN, cache=cache)  # the printed id, given back
    assert again.returncode == 1 and _counts(again.output) == {"failed": 1}, again.output[-3000:]

    assert "--waivers FILE" in README and 'test = "tests/test_collaborators.py::test_patch_*"' in README
    waivers = _readme_waiver(tmp_path)
    junit, report = tmp_path / "junit.xml", tmp_path / "report"
    accepted = _run(install, "--lf", MUTANT, "--waivers", str(waivers), f"--junitxml={junit}", "--report",
                    str(report), "-q", *LEAN, cache=cache)
    assert accepted.returncode == 0, accepted.output[-3000:]
    assert _counts(accepted.output) == {"accepted": 1}, accepted.output[-3000:]  # only the failed test reran
    assert f"accepted: {printed[0]}: accepted deviation (waiver #1" in accepted.output
    (case,) = [c for c in ET.parse(junit).getroot().iter("testcase") if c.find("skipped") is not None]
    assert (case.get("classname"), case.get("name")) == (
        "tests.test_collaborators", "test_patch_a_collaborator_is_refused")
    tests = json.loads((report / "report.json").read_text(encoding="utf-8"))["tests"]
    assert [t["id"] for t in tests if t["outcome"] == "accepted"] == printed


@pytest.mark.slow
def test_the_readme_rerun_recipe_for_a_generated_case_and_its_typo(install: Install, tmp_path: Path):
    recipe = "posthog-contract run tests/test_property_based.py --contract-seed N --contract-operation"
    assert recipe in README, "the README's rerun recipe changed: update this test"
    done = _run(install, "tests/test_property_based.py", "--contract-seed", "1", "--contract-operation",
                "dashboards_partial_update", "-q", cache=tmp_path, timeout=900)
    assert done.returncode == 0 and _counts(done.output).get("passed") == 1, done.output[-3000:]
    assert "deselected" in _final(done.output)
    typo = _run(install, "tests/test_property_based.py", "--contract-seed", "1", "--contract-operation",
                "dashboards_partial_updat", "-q", cache=tmp_path)
    errors = [line for line in typo.output.splitlines() if "posthog-contract:" in line]
    assert typo.returncode == 4 and len(errors) == 1, typo.output[-3000:]
    assert errors[0].startswith("ERROR: posthog-contract: --contract-operation names no operation of the contract: "
                                "dashboards_partial_updat")


@pytest.mark.slow
def test_the_config_file_drives_a_run_with_only_the_key_in_the_environment(install: Install, tmp_path: Path):
    server = embedded.start([])
    try:
        creds = server.credentials
        (tmp_path / "posthog-contract.toml").write_text(
            f'base-url = "{creds["base_url"]}"\nproject-id = {creds["project_id"]}\n'
            f'collaborator-uuid = "{creds["collaborator_uuid"]}"\nreport = "out"\n', encoding="utf-8")
        done = _run(install, "tests/test_dashboards.py", "-q", *LEAN, cache=tmp_path / "cache", cwd=tmp_path,
                    POSTHOG_PERSONAL_API_KEY=creds["personal_api_key"])
    finally:
        server.stop()
    assert done.returncode == 0, done.output[-3000:]
    assert f"testing {creds['base_url']} (an external host), project {creds['project_id']}" in done.output
    assert (tmp_path / "out" / "report.json").is_file()  # report = "out", relative to the file


@pytest.mark.slow
def test_reference_print_env_eval_and_run(install: Install, tmp_path: Path):
    """The README's "staging stand-in" recipe: two commands (from the wheel the whole default run, in the
    checkout one module), then stop it by its pid."""
    selection = "" if install.mode == "wheel" else f"tests/test_dashboards.py {' '.join(LEAN)}"
    script = (
        'eval "$(posthog-contract reference --print-env --env-file ref.env)"\n'
        'echo "pid=$POSTHOG_REFERENCE_PID"\n'
        f"posthog-contract run {selection} -q -p no:cacheprovider\n"
    )
    assert 'eval "$(posthog-contract reference --print-env)"' in README
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=install.env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    output = done.stdout + done.stderr
    pid = re.search(r"^pid=(\d+)$", done.stdout, re.MULTILINE)
    assert pid, output[-3000:]
    try:
        assert done.returncode == 0, output[-3000:]
        assert re.search(r"testing http://127\.0\.0\.1:\d+ \(an external host\)", output), output[-3000:]
        env_file = (tmp_path / "ref.env").read_text(encoding="utf-8")
        assert (tmp_path / "ref.env").stat().st_mode & 0o077 == 0  # it holds keys: the owner's only
        names = [line.split("=", 1)[0] for line in env_file.splitlines()]
        assert names == ["POSTHOG_HOST", "POSTHOG_PERSONAL_API_KEY", "POSTHOG_PROJECT_ID", "POSTHOG_PROJECT_API_KEY",
                         "POSTHOG_READONLY_API_KEY", "POSTHOG_COLLABORATOR_UUID", "POSTHOG_OTHER_PROJECT_ID",
                         "POSTHOG_DATA_COLOR_THEME_ID", "POSTHOG_QUICK_FILTER_ID"]
    finally:
        os.killpg(int(pid.group(1)), signal.SIGTERM)  # started in its own session by --print-env


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(install: Install):
    for command in ("posthog-contract reference --list-mutants", f"{install.python} -m posthog_contract.reference "
                    "--list-mutants", "posthog-contract --help"):
        done = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | head -1"], env=install.env(),
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.stdout.strip() and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, (
            command, done.stderr[-2000:])
        assert done.returncode == 0, (command, done.returncode, done.stderr[-2000:])


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
