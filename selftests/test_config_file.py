"""The config file (issue 25, point 4): posthog-contract.toml or [tool.posthog-contract] in pyproject.toml,
precedence flag > environment > file > default shown by --contract-env, keys only by the name of the
variable that holds them, and every problem with the file one sentence (exit 4)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from install_support import LEAN, environment

from posthog_contract import config
from posthog_contract.config import ConfigError, run_setting, settings_from

ROOT = Path(__file__).resolve().parents[1]
CANARY = "phx_CANARY0123456789abcdef"
HOST = "https://posthog.staging.example.com"


def write(folder: Path, text: str, name: str = "posthog-contract.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def settings(folder: Path, env: dict[str, str] | None = None, **flags: Any) -> config.Settings:
    return settings_from(flags.get, {"POSTHOG_PERSONAL_API_KEY": CANARY, **(env or {})}, cwd=folder)


def refused(folder: Path, env: dict[str, str] | None = None, **flags: Any) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from(flags.get, env or {}, cwd=folder)
    message = str(info.value)
    assert "\n" not in message and message.endswith("."), message
    assert CANARY not in message
    return message


def test_the_file_fills_what_neither_flag_nor_environment_gives(tmp_path: Path) -> None:
    write(tmp_path, f'base-url = "{HOST}/"\nproject-id = 42\nrequest-timeout = 7.5\nread-only = true\nseed = 3\n')
    chosen = settings(tmp_path)
    assert (chosen.base_url, chosen.project_id, chosen.timeout, chosen.read_only, chosen.seed) == (
        HOST, "42", 7.5, True, 3)
    # environment over file, flag over environment; an empty variable (an undefined CI secret) is unset
    env = {"POSTHOG_PROJECT_ID": "7", "POSTHOG_REQUEST_TIMEOUT": "", "POSTHOG_CONTRACT_SEED": "5"}
    chosen = settings(tmp_path, env, posthog_seed="9")
    assert (chosen.project_id, chosen.timeout, chosen.seed) == ("7", 7.5, 9)


def test_pyproject_table_and_the_tool_file_are_found_from_a_subfolder_up_to_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo, f'[project]\nname = "x"\n\n[tool.posthog-contract]\nbase-url = "{HOST}"\nproject-id = 1\n',
          "pyproject.toml")
    deep = repo / "ci" / "contract"
    deep.mkdir(parents=True)
    assert settings(deep).project_id == "1"
    write(repo / "ci", "project-id = 2\n")  # nearer, and the tool's own file
    assert settings(deep).project_id == "2"
    write(tmp_path, "project-id = 3\n")  # above the repository's top: never read
    (repo / "ci" / "posthog-contract.toml").unlink()
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert settings(deep).project_id is None


def test_a_named_file_wins_over_the_found_one(tmp_path: Path) -> None:
    write(tmp_path, "project-id = 1\n")
    other = write(tmp_path / "elsewhere", "project-id = 2\n", "staging.toml")
    assert settings(tmp_path, {"POSTHOG_CONTRACT_CONFIG": str(other)}).project_id == "2"
    assert settings(tmp_path, posthog_config="elsewhere/staging.toml").project_id == "2"
    assert "names 'missing.toml', which is not a file" in refused(tmp_path, posthog_config="missing.toml")
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    assert "has no [tool.posthog-contract] table" in refused(tmp_path, posthog_config="pyproject.toml")


def test_a_key_in_the_file_is_refused_naming_the_variable_to_use(tmp_path: Path) -> None:
    write(tmp_path, f'personal-api-key = "{CANARY}"\n')
    message = refused(tmp_path)
    assert "keys never go into a file" in message and "export POSTHOG_PERSONAL_API_KEY" in message
    write(tmp_path, f'base-url = "{HOST}"\nreport = "{CANARY}"\n')  # a key pasted into any other value
    assert "looks like an API key" in refused(tmp_path)


def test_a_key_is_read_from_the_variable_the_file_names(tmp_path: Path) -> None:
    write(tmp_path, f'base-url = "{HOST}"\npersonal-api-key-env = "STAGING_KEY"\n')
    chosen = settings_from({}.get, {"STAGING_KEY": CANARY}, cwd=tmp_path)
    assert chosen.personal_api_key == CANARY
    assert settings_from({}.get, {"STAGING_KEY": CANARY, "POSTHOG_PERSONAL_API_KEY": "phx_other0123456789"},
                         cwd=tmp_path).personal_api_key == "phx_other0123456789"  # the environment wins
    assert "names STAGING_KEY, which is not set" in refused(tmp_path)
    write(tmp_path, 'personal-api-key-env = "not a name"\n')
    assert "must name an environment variable" in refused(tmp_path)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('base-ur = "https://x.example.com"\n', "unknown setting 'base-ur': did you mean base-url?"),
        ('POSTHOG_HOST = "https://x.example.com"\n', "write base-url = … (the file's name for POSTHOG_HOST)"),
        ("base-url = \n", "is not valid TOML"),
        ("request-timeout = [1, 2]\n", "request-timeout must be a string, a number or true/false"),
        ("request-timeout = -1\n", "request-timeout in "),
        ('base-url = "https://x.example.com/api/"\n', "without a path"),
        ('schemas-dir = "s"\n', "export POSTHOG_CONTRACT_SCHEMAS_DIR instead"),
        ('profile = "fast"\n', "profile in "),
    ],
)
def test_every_problem_with_the_file_is_one_sentence(tmp_path: Path, text: str, says: str) -> None:
    write(tmp_path, text)
    message = refused(tmp_path, {"POSTHOG_PERSONAL_API_KEY": CANARY})
    assert says in message, message
    assert str(tmp_path) in message  # it names the file


def test_collection_hooks_read_the_file_too(tmp_path: Path) -> None:
    """read-only and operation decide what is deselected before the settings exist: the file counts there."""
    write(tmp_path / "with", 'read-only = true\nevents-timeout = 3\n'
          'operation = ["dashboards_partial_update", "GET /api/projects/{project_id}/events/"]\n')
    assert config.is_read_only({}.get, {}, tmp_path / "with") is True
    assert config.is_read_only({}.get, {"POSTHOG_READ_ONLY": "0"}, tmp_path / "with") is False  # the environment wins
    assert config.raw_value("operation", {}.get, {}, tmp_path / "with") == (
        "dashboards_partial_update,GET /api/projects/{project_id}/events/")
    assert config.raw_value("events_timeout", {}.get, {}, tmp_path / "with") == 3
    assert config.raw_value("events_timeout", {}.get, {}, tmp_path / "without") is None
    chosen = settings(tmp_path / "with")
    assert chosen.read_only and chosen.operations == ("dashboards_partial_update",
                                                      "GET /api/projects/{project_id}/events/")


def test_run_settings_come_from_the_file_relative_to_it(tmp_path: Path) -> None:
    write(tmp_path / "ci", 'report = "out"\nwaivers = "w.toml"\ndrift-fail = true\n'
          'reference-args = ["--release=2024-01"]\n')
    get = {"reference_args": ["--latency-ms=5"]}.get
    assert run_setting("report", get, {}, tmp_path / "ci") == (str(tmp_path / "ci" / "out"), "config file")
    assert run_setting("waivers", get, {"POSTHOG_CONTRACT_WAIVERS": "env.toml"}, tmp_path / "ci") == (
        "env.toml", "environment")
    assert run_setting("drift-fail", get, {}, tmp_path / "ci") == (True, "config file")
    assert run_setting("reference-args", get, {}, tmp_path / "ci") == (
        ["--release=2024-01", "--latency-ms=5"], "config file + flag")
    assert run_setting("report", get, {}, tmp_path / "ci", use_file=False) == (None, "default")


def test_the_readme_example_file_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```toml\n(# posthog-contract\.toml.*?)```", readme, re.DOTALL)
    write(tmp_path, example)
    chosen = settings_from({}.get, {"STAGING_POSTHOG_KEY": CANARY}, cwd=tmp_path)
    assert chosen.base_url == HOST and chosen.personal_api_key == CANARY and chosen.baseline == "2024-01"
    assert run_setting("waivers", {}.get, {}, tmp_path)[0] == str(tmp_path / "contract-waivers.toml")


# --- through pytest ----------------------------------------------------------------------------------------------


def _pytest(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=environment(**env), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=300)


def _readme_table() -> list[tuple[list[str], str | None]]:
    """The settings table: (the flags and variables of a row, its config-file key or None)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| Option / variable | In the config file | What it does |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:  # after the header and its |---| line
        first, second = line.split("|")[1:3]
        names = [re.split(r"[ =]", name)[0] for name in re.findall(r"`([^`]+)`", first)]
        keys = re.findall(r"`([^`]+)`", second)
        rows.append((names, keys[0] if keys else None))
    return rows


def test_contract_env_shows_every_setting_of_the_readme_table_with_its_source(tmp_path: Path) -> None:
    write(tmp_path, f'base-url = "{HOST}"\nproject-id = 12\nrequest-timeout = 9\nseed = 4\nreport = "r"\n')
    done = _pytest(tmp_path, "--contract-env", "--contract-seed", "8", POSTHOG_PERSONAL_API_KEY=CANARY,
                   POSTHOG_PROJECT_ID="13")
    assert done.returncode == 0, done.stdout + done.stderr
    assert CANARY not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[1] == f"config file: {tmp_path / 'posthog-contract.toml'} (found in {tmp_path})"
    rows = _readme_table()
    assert len(rows) >= 25
    for names, key in rows:
        if names == ["--contract-env"]:
            continue
        shown = [line for line in lines if all(f" {name} " in f" {line} " for name in names)]
        assert len(shown) == 1, f"--contract-env shows no single line for {names}:\n{done.stdout}"
        if key is not None:
            assert shown[0].split()[0] == key, (key, shown[0])

    def source(name: str) -> tuple[str, str]:
        (line,) = [line for line in lines if f" {name} " in line]
        value, origin = re.split(r"\s{2,}", line.strip())[3:5]
        return value, origin

    assert source("POSTHOG_HOST") == (f"'{HOST}'", "config file")
    assert source("POSTHOG_PROJECT_ID") == ("'13'", "environment")
    assert source("POSTHOG_CONTRACT_SEED") == ("'8'", "flag")
    assert source("POSTHOG_REQUEST_TIMEOUT") == ("9", "config file")
    assert source("POSTHOG_PERSONAL_API_KEY") == ("[set]", "environment")
    assert source("POSTHOG_EVENTS_TIMEOUT") == ("120.0", "default")
    assert source("--report") == (f"'{tmp_path / 'r'}'", "config file")


def test_a_bad_file_ends_any_run_of_the_suite_in_one_sentence(tmp_path: Path) -> None:
    write(tmp_path, f'base-url = "{HOST}"\npersonal-api-key = "{CANARY}"\n')
    for selection in ([str(ROOT / "tests" / "test_auth.py"), "-k", "nothing_matches_this"], ["--contract-env"]):
        done = _pytest(tmp_path, *selection, *LEAN)
        output = done.stdout + done.stderr
        assert done.returncode == 4, output
        errors = [line for line in output.splitlines() if "posthog-contract:" in line]
        assert len(errors) == 1 and errors[0].startswith("ERROR: posthog-contract: "), output
        assert "export POSTHOG_PERSONAL_API_KEY" in errors[0] and CANARY not in output and "Traceback" not in output


def test_a_project_s_own_tests_beside_a_config_file_take_nothing_from_it(tmp_path: Path) -> None:
    """The plugin is loaded in every pytest run of the virtualenv: a file meant for the suite must not
    make a project's unrelated tests write reports or judge waivers."""
    write(tmp_path, 'report = "reports"\ndrift-fail = true\n')
    write(tmp_path, "def test_own():\n    assert 1 + 1 == 2\n", "test_own.py")
    done = _pytest(tmp_path, "test_own.py", *LEAN)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "reports").exists()
