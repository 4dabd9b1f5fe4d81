"""Settings: every misconfiguration is one sentence naming what to fix, never showing a key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from posthog_contract.config import (
    CONFIG_OPTION,
    OPTIONS,
    OTHER_ENVIRONMENT,
    RUN_SETTINGS,
    ConfigError,
    Settings,
    add_options,
    run_setting,
    settings_from,
)
from posthog_contract.mutation import suite_environment

CANARY = "phx_CANARY0123456789abcdef"
PROJECT_CANARY = "phc_CANARYPROJECT0123456789"
HOST = "https://ph.example.com"


def build(env: dict[str, str] | None = None, **options: Any) -> Settings:
    """Settings from an environment and pytest options keyed by dest (posthog_base_url=...)."""
    return settings_from(options.get, env or {})


def config_error(env: dict[str, str] | None = None, **options: Any) -> str:
    with pytest.raises(ConfigError) as info:
        build(env, **options)
    message = str(info.value)
    assert CANARY not in message and PROJECT_CANARY not in message
    assert "\n" not in message and message.endswith("."), message
    return message


def test_defaults_mean_the_embedded_reference_server() -> None:
    settings = build()
    assert settings.base_url is None and settings.personal_api_key is None
    assert settings.capture_url is None and settings.project_id is None
    assert (settings.timeout, settings.max_retry_wait, settings.events_timeout) == (30.0, 120.0, 120.0)
    assert settings.profile == "default" and settings.read_only is False and settings.seed is None
    assert re.fullmatch(r"pcr[a-z0-9]{10}", settings.run_id)
    assert settings.secrets() == ()


def test_run_ids_differ_between_runs() -> None:
    assert len({build().run_id for _ in range(20)}) == 20


def test_a_full_environment_is_read_and_normalised() -> None:
    collaborator = "0190E4D1-7B5C-7D8E-9F00-1A2B3C4D5E6F"
    settings = build(
        {
            "POSTHOG_HOST": HOST + "/",
            "POSTHOG_PERSONAL_API_KEY": CANARY + "\n",
            "POSTHOG_PROJECT_ID": " 42 ",
            "POSTHOG_PROJECT_API_KEY": PROJECT_CANARY,
            "POSTHOG_READONLY_API_KEY": "phx_READONLY0123456789",
            "POSTHOG_COLLABORATOR_UUID": collaborator,
            "POSTHOG_OTHER_PROJECT_ID": "7",
            "POSTHOG_READ_ONLY": "1",
            "POSTHOG_REQUEST_TIMEOUT": "12.5",
            "POSTHOG_MAX_RETRY_WAIT": "0",
            "POSTHOG_EVENTS_TIMEOUT": "300",
            "POSTHOG_CONTRACT_SEED": "1234",
            "POSTHOG_CONTRACT_PROFILE": "Thorough",
        }
    )
    assert settings.base_url == HOST and settings.capture_url == HOST
    assert settings.personal_api_key == CANARY
    assert settings.project_id == "42" and settings.other_project_id == "7"
    assert settings.collaborator_uuid == collaborator.lower()
    assert settings.read_only is True
    assert (settings.timeout, settings.max_retry_wait, settings.events_timeout) == (12.5, 0.0, 300.0)
    assert settings.seed == 1234 and settings.profile == "thorough"


def test_command_line_options_win_over_the_environment() -> None:
    settings = build(
        {
            "POSTHOG_HOST": "https://env.example",
            "POSTHOG_PERSONAL_API_KEY": CANARY,
            "POSTHOG_PROJECT_ID": "1",
        },
        posthog_base_url="https://cli.example/",
        posthog_project_id="@current",
        posthog_capture_url="https://capture.example",
        posthog_read_only=True,
        posthog_timeout="5",
        posthog_seed="9",
        posthog_profile="thorough",
    )
    assert settings.base_url == "https://cli.example" and settings.capture_url == "https://capture.example"
    assert settings.project_id == "@current" and settings.read_only is True
    assert settings.timeout == 5.0 and settings.seed == 9 and settings.profile == "thorough"


def test_a_vendor_personal_key_without_the_phx_prefix_is_accepted() -> None:
    settings = build({"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": "vendorkey_0123456789"})
    assert settings.personal_api_key == "vendorkey_0123456789"


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off"])
def test_read_only_false_spellings(value: str) -> None:
    assert build({"POSTHOG_READ_ONLY": value}).read_only is False


def test_secrets_lists_every_configured_key_once() -> None:
    settings = build(
        {
            "POSTHOG_HOST": HOST,
            "POSTHOG_PERSONAL_API_KEY": CANARY,
            "POSTHOG_READONLY_API_KEY": CANARY,
            "POSTHOG_PROJECT_API_KEY": PROJECT_CANARY,
        }
    )
    assert settings.secrets() == (CANARY, PROJECT_CANARY)
    assert Settings(personal_api_key=CANARY).secrets() == (CANARY,)


def test_repr_never_shows_a_key() -> None:
    settings = build({"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": CANARY})
    text = repr(settings)
    assert CANARY not in text and "personal_api_key='[set]'" in text and HOST in text


def test_with_embedded_points_everything_at_the_reference_server() -> None:
    settings = build({"POSTHOG_CONTRACT_SEED": "3"}).with_embedded(
        base_url="http://127.0.0.1:5555/",
        personal_api_key=CANARY,
        project_id="1",
        project_api_key=PROJECT_CANARY,
        readonly_api_key="phx_READONLY0123456789",
        collaborator_uuid="0190e4d1-7b5c-7d8e-9f00-1a2b3c4d5e6f",
        other_project_id="2",
    )
    assert settings.embedded and settings.base_url == "http://127.0.0.1:5555"
    assert settings.capture_url == "http://127.0.0.1:5555" and settings.seed == 3
    assert settings.secrets() == (CANARY, "phx_READONLY0123456789", PROJECT_CANARY)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"POSTHOG_HOST": "ftp://ph.example.com"}, "POSTHOG_HOST must be an http(s) URL with a host"),
        ({"POSTHOG_HOST": "localhost:8000"}, "POSTHOG_HOST must be an http(s) URL with a host"),
        ({"POSTHOG_HOST": "https://"}, "POSTHOG_HOST must be an http(s) URL with a host"),
        ({"POSTHOG_HOST": "https://u:pw@ph.example.com"}, "POSTHOG_HOST must not carry credentials"),
        ({"POSTHOG_HOST": HOST + "/?x=1"}, "POSTHOG_HOST must not have a query string"),
        (
            {"POSTHOG_HOST": HOST + "/api/", "POSTHOG_PERSONAL_API_KEY": CANARY, "POSTHOG_PROJECT_ID": "1"},
            "POSTHOG_HOST must be the host's origin without a path, like https://us.posthog.com, not "
            "'https://ph.example.com/api/': drop '/api/'",
        ),
        (
            {"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": CANARY, "POSTHOG_CAPTURE_URL": HOST + "/capture/"},
            "POSTHOG_CAPTURE_URL must be the host's origin without a path",
        ),
        ({"POSTHOG_HOST": HOST}, "POSTHOG_HOST is set but POSTHOG_PERSONAL_API_KEY is not: "),
        (
            {"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": "   "},
            "POSTHOG_PERSONAL_API_KEY is set but empty",
        ),
        (
            {"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": "phc_" + CANARY[4:]},
            "POSTHOG_PERSONAL_API_KEY holds a project API key (phc_…); use a personal API key (phx_…)",
        ),
        (
            {"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": "Bearer " + CANARY},
            "POSTHOG_PERSONAL_API_KEY contains whitespace",
        ),
        (
            {"POSTHOG_HOST": HOST, "POSTHOG_PERSONAL_API_KEY": CANARY, "POSTHOG_PROJECT_API_KEY": CANARY},
            "POSTHOG_PROJECT_API_KEY holds a personal API key (phx_…)",
        ),
        (
            {"POSTHOG_READONLY_API_KEY": PROJECT_CANARY},
            "POSTHOG_READONLY_API_KEY holds a project API key (phc_…)",
        ),
        ({"POSTHOG_PROJECT_ID": "my-project"}, "POSTHOG_PROJECT_ID must be a positive integer or @current"),
        ({"POSTHOG_PROJECT_ID": "0"}, "POSTHOG_PROJECT_ID must be a positive integer or @current"),
        ({"POSTHOG_PROJECT_ID": CANARY}, "POSTHOG_PROJECT_ID must be a positive integer or @current"),
        ({"POSTHOG_OTHER_PROJECT_ID": "@current"}, "POSTHOG_OTHER_PROJECT_ID must be a positive integer"),
        (
            {"POSTHOG_PROJECT_ID": "5", "POSTHOG_OTHER_PROJECT_ID": "5"},
            "POSTHOG_OTHER_PROJECT_ID equals the project under test (5)",
        ),
        ({"POSTHOG_COLLABORATOR_UUID": "not-a-uuid"}, "POSTHOG_COLLABORATOR_UUID must be a user UUID"),
        ({"POSTHOG_REQUEST_TIMEOUT": "0"}, "POSTHOG_REQUEST_TIMEOUT must be a positive number of seconds"),
        ({"POSTHOG_REQUEST_TIMEOUT": "-3"}, "POSTHOG_REQUEST_TIMEOUT must be a positive number of seconds"),
        ({"POSTHOG_REQUEST_TIMEOUT": "ten"}, "POSTHOG_REQUEST_TIMEOUT must be a positive number of seconds"),
        ({"POSTHOG_REQUEST_TIMEOUT": "inf"}, "POSTHOG_REQUEST_TIMEOUT must be a positive number of seconds"),
        ({"POSTHOG_MAX_RETRY_WAIT": "-1"}, "POSTHOG_MAX_RETRY_WAIT must be a number of seconds, 0 or more"),
        ({"POSTHOG_EVENTS_TIMEOUT": "nan"}, "POSTHOG_EVENTS_TIMEOUT must be a positive number of seconds"),
        ({"POSTHOG_CONTRACT_SEED": "lucky"}, "POSTHOG_CONTRACT_SEED must be an integer"),
        ({"POSTHOG_CONTRACT_PROFILE": "fast"}, "POSTHOG_CONTRACT_PROFILE must be one of default, thorough"),
        ({"POSTHOG_READ_ONLY": "maybe"}, "POSTHOG_READ_ONLY must be 1 or 0"),
        ({"POSTHOG_DATA_COLOR_THEME_ID": "blue"}, "POSTHOG_DATA_COLOR_THEME_ID must be a positive integer"),
        ({"POSTHOG_QUICK_FILTER_ID": "browser"}, "POSTHOG_QUICK_FILTER_ID must be a quick filter UUID"),
        (
            {"POSTHOG_CAPTURE_URL": "https://us.i.posthog.com"},
            "POSTHOG_CAPTURE_URL is set but POSTHOG_HOST is not",
        ),
    ],
)
def test_each_misconfiguration_is_one_sentence_naming_the_variable(
    env: dict[str, str], expected: str
) -> None:
    message = config_error(env)
    assert message.startswith(expected), message


def test_the_host_objects_for_the_read_backs_are_read_and_normalised() -> None:
    upper = "0190B7A1-0000-7000-8000-0000000000F1"
    settings = build({"POSTHOG_DATA_COLOR_THEME_ID": " 7 ", "POSTHOG_QUICK_FILTER_ID": upper})
    assert settings.data_color_theme_id == 7 and settings.quick_filter_id == "0190b7a1-0000-7000-8000-0000000000f1"
    assert build(posthog_data_color_theme_id="3").data_color_theme_id == 3
    assert build().data_color_theme_id is None and build().quick_filter_id is None


@pytest.mark.parametrize(("given", "expected"), [({}, ("warn", "default")), ({"contract_deprecations": "FAIL"},
                                                 ("fail", "flag"))])
def test_deprecations_is_warn_or_fail(given: dict[str, str], expected: tuple[str, str]) -> None:
    assert run_setting("deprecations", given.get, {}, use_file=False) == expected
    assert run_setting("deprecations", {}.get, {"POSTHOG_CONTRACT_DEPRECATIONS": "fail"}, use_file=False) == \
        ("fail", "environment")
    with pytest.raises(ConfigError, match=r"^POSTHOG_CONTRACT_DEPRECATIONS must be one of warn, fail, not 'loud'\.$"):
        run_setting("deprecations", {}.get, {"POSTHOG_CONTRACT_DEPRECATIONS": "loud"}, use_file=False)


def test_errors_name_the_command_line_flag_when_the_value_came_from_it() -> None:
    assert config_error(posthog_base_url=HOST).startswith("--base-url is set but POSTHOG_PERSONAL_API_KEY")
    assert config_error(posthog_timeout="-1").startswith("--request-timeout must be")
    assert config_error(posthog_profile="x").startswith("--contract-profile must be")


def test_an_empty_optional_key_is_unset_as_ci_hands_over_an_undefined_secret() -> None:
    settings = build({"POSTHOG_PROJECT_API_KEY": "", "POSTHOG_READONLY_API_KEY": " "})
    assert settings.project_api_key is None and settings.readonly_api_key is None


def test_a_key_pasted_into_another_variable_is_not_echoed() -> None:
    message = config_error({"POSTHOG_CONTRACT_SEED": CANARY})
    assert "looks like an API key" in message


def test_config_error_names_the_option() -> None:
    with pytest.raises(ConfigError) as info:
        build({"POSTHOG_PROJECT_ID": "x"})
    assert info.value.option == "POSTHOG_PROJECT_ID"


class FakeGroup:
    """Stands in for a pytest OptionGroup; can pretend another plugin owns some flags."""

    def __init__(self, taken: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.taken = taken
        self.added: dict[str, dict[str, Any]] = {}

    def addoption(self, *names: str, **kwargs: Any) -> None:
        if set(names) & self.taken:
            raise ValueError(f"option names {set(names) & self.taken} already added")
        for name in names:
            self.added[name] = kwargs


def test_add_options_registers_every_flag_with_none_defaults_and_env_in_help() -> None:
    group = FakeGroup()
    add_options(group)
    flags = {o.flag for o in OPTIONS if o.flag} | {CONFIG_OPTION.flag}
    assert set(group.added) == flags
    assert {"--base-url", "--project-id", "--read-only", "--request-timeout"} <= flags
    assert all(kwargs["default"] is None for kwargs in group.added.values())
    assert group.added["--read-only"]["action"] == "store_true"
    assert "POSTHOG_HOST" in group.added["--base-url"]["help"]
    assert all(kwargs["dest"].startswith("posthog_") for kwargs in group.added.values())


def test_add_options_falls_back_when_another_plugin_owns_a_flag() -> None:
    group = FakeGroup(taken={"--base-url"})
    clashes = add_options(group)
    assert "--posthog-base-url" in group.added and "--base-url" not in group.added
    assert group.added["--posthog-base-url"]["dest"] == "posthog_base_url"
    assert clashes == ["--base-url belongs to another plugin, so the suite's option is --posthog-base-url "
                       "(or set POSTHOG_HOST)"]


def test_keys_have_no_command_line_flag() -> None:
    assert all(o.flag is None for o in OPTIONS if o.env.endswith("API_KEY"))


def test_is_read_only_reads_the_flag_or_the_environment() -> None:
    from posthog_contract.config import is_read_only

    assert is_read_only({"posthog_read_only": True}.get, {}) is True
    assert is_read_only({}.get, {"POSTHOG_READ_ONLY": "yes"}) is True
    assert is_read_only({}.get, {"POSTHOG_READ_ONLY": "0"}) is False
    assert is_read_only({}.get, {"POSTHOG_READ_ONLY": "garbage"}) is False


# --- options people can find (issue 16, point 6) ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
CLASHING_PLUGIN = """
def pytest_addoption(parser):
    parser.addoption("--base-url", dest="base_url", default=None, help="another plugin's --base-url")
"""


def _pytest(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = suite_environment()
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=300)


def test_help_shows_metavars_and_every_environment_only_setting() -> None:
    done = _pytest("--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for shown in ("--request-timeout=SECONDS", "--contract-seed=N", "--base-url=URL", "--project-id=ID",
                  "--contract-profile={default,thorough}", "--reference-arg=ARG", "--report=DIR", "--har=FILE",
                  "--waivers=FILE"):
        assert shown in text, shown
    assert "=POSTHOG_" not in text  # the dest as metavar (--request-timeout=POSTHOG_TIMEOUT) is gone
    group = text.split("posthog-contract settings read from the environment only", 1)[1].split("\n\n", 1)[0]
    env_only = [o.env for o in OPTIONS if o.flag is None] + [name for name, _ in OTHER_ENVIRONMENT]
    assert env_only and all(f"{name}:" in group for name in env_only), group


def test_the_readme_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if line.startswith("| `")]
    for option in OPTIONS:
        assert any(f"`{option.env}" in line for line in table), option.env
        if option.flag:
            assert any(f"`{option.flag}" in line for line in table), option.flag
    for name, _ in OTHER_ENVIRONMENT:
        assert any(f"`{name}`" in line for line in table), name
    for setting in (*RUN_SETTINGS, CONFIG_OPTION):
        for name in filter(None, (setting.flag, setting.env)):
            assert any(f"`{name}" in line for line in table), name
    assert any("`--contract-env" in line for line in table)


def test_contract_env_shows_the_state_of_each_setting_without_keys() -> None:
    env = {**suite_environment(), "POSTHOG_PERSONAL_API_KEY": CANARY, "POSTHOG_EVENTS_TIMEOUT": "5"}
    done = subprocess.run([sys.executable, "-m", "pytest", "--contract-env"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert CANARY not in done.stdout
    rows = {line.split()[2]: line.split()[3:] for line in done.stdout.splitlines()[3:]}
    assert rows["POSTHOG_PERSONAL_API_KEY"] == ["[set]", "environment"]
    assert rows["POSTHOG_EVENTS_TIMEOUT"] == ["'5'", "environment"]
    assert rows["POSTHOG_HOST"] == ["(unset)", "default"]


def test_a_clash_on_an_option_name_is_reported_once_at_start(tmp_path: Path) -> None:
    (tmp_path / "other_base_url.py").write_text(CLASHING_PLUGIN, encoding="utf-8")
    done = _pytest("-p", "other_base_url", "tests/test_auth.py", "-q", "-p", "no:cacheprovider", "-x",
                   pythonpath=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    lines = done.stdout.splitlines()
    reported = [i for i, line in enumerate(lines) if "--base-url belongs to another plugin" in line]
    assert len(reported) == 1 and reported[0] == 0, lines[:3]
    assert "--posthog-base-url" in lines[0]


def test_contract_operation_takes_ids_and_method_path_labels() -> None:
    settings = settings_from(
        lambda name: None,
        {"POSTHOG_CONTRACT_OPERATION": "dashboards_partial_update, GET /api/projects/{project_id}/events/"},
    )
    assert settings.operations == ("dashboards_partial_update", "GET /api/projects/{project_id}/events/")


def test_an_unknown_contract_operation_is_one_sentence() -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from(lambda name: None, {"POSTHOG_CONTRACT_OPERATION": "dashboards_explode"})
    message = str(refused.value)
    assert "dashboards_explode" in message and "POSTHOG_CONTRACT_OPERATION" in message and "\n" not in message


def test_contract_operation_names_resolve_to_operation_ids() -> None:
    from posthog_contract import contract

    wanted = ["dashboards_partial_update", "GET /api/environments/{project_id}/events/"]
    assert contract.operation_ids(wanted) == {"dashboards_partial_update", "events_list_env"}
    assert contract.operation_ids([]) == frozenset()
