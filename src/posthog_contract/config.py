"""Options and environment variables -> one frozen :class:`Settings`, validated once.

Why one place: every misconfiguration should surface as a single readable sentence at session
start (naming the option or environment variable to fix), never as a stack trace from deep inside
a test, and never with a key value in it.

Precedence: command-line option > environment variable > config file > default. The config file is
``posthog-contract.toml``, or a ``[tool.posthog-contract]`` table in ``pyproject.toml``, found in the
working directory or its parents (up to the repository's top, the folder holding ``.git``), as
schemathesis finds ``schemathesis.toml`` and ruff its ``[tool.ruff]``; ``--contract-config FILE`` /
``POSTHOG_CONTRACT_CONFIG`` name one. Its keys are the flags' names (``base-url = "https://…"``,
``request-timeout = 10``, ``seed = 42``). API keys are environment-only on purpose: a key on the
command line ends up in shell history, process lists and pytest's ``invocation_params``, and a key in
a file ends up in a repository; the file may only name the variable that holds one
(``personal-api-key-env = "STAGING_POSTHOG_KEY"``), and a key written into it is a misconfiguration.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import secrets as _secrets
import string
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from .policy import DEFAULT_DEADLINE, ExchangeBounds

__all__ = [
    "CONFIG_OPTION",
    "OPTIONS",
    "PROFILES",
    "RUN_SETTINGS",
    "ConfigError",
    "ConfigFile",
    "Option",
    "RunSetting",
    "Settings",
    "add_options",
    "config_file",
    "describe",
    "environment_help",
    "is_read_only",
    "new_run_id",
    "raw_value",
    "reference_args",
    "run_setting",
    "settings_from",
]

PROFILES: tuple[str, ...] = ("default", "thorough")

_KEY_LOOKALIKE = re.compile(r"ph[xc]_[A-Za-z0-9]{8,}")
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class ConfigError(Exception):
    """A misconfiguration, explained in one sentence that names what to change.

    ``str(error)`` never contains a key value; ``option`` names the option or environment variable
    at fault when there is exactly one (plugins may use it for a usage error).
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class Option(NamedTuple):
    """One setting: its pytest flag (None: environment only), environment variable, pytest dest, help,
    and the flag's metavar in ``pytest --help`` (else pytest would show the dest, POSTHOG_TIMEOUT)."""

    flag: str | None
    env: str
    dest: str
    help: str
    metavar: str | None = None

    @property
    def field(self) -> str:
        """The :class:`Settings` field this option fills."""
        return self.dest.removeprefix("posthog_")

    @property
    def secret(self) -> bool:
        """An API key: environment only, never a flag, never in a file."""
        return self.env.endswith("_API_KEY")

    @property
    def key(self) -> str:
        """Its name in the config file: the flag's (``--contract-seed`` -> ``seed``), else the variable's
        (``POSTHOG_EVENTS_TIMEOUT`` -> ``events-timeout``); a secret's file key names its variable."""
        if self.flag is not None:
            name = self.flag.removeprefix("--").removeprefix("contract-").removeprefix("posthog-")
        else:
            name = self.env.removeprefix("POSTHOG_").lower().replace("_", "-")
        return f"{name}-env" if self.secret else name


# dest names carry a ``posthog_`` prefix: ``timeout`` is pytest-timeout's and ``base_url`` is
# pytest-base-url's, and argparse lets two flags silently share one dest.
OPTIONS: list[Option] = [
    Option(
        "--base-url",
        "POSTHOG_HOST",
        "posthog_base_url",
        "PostHog host to test, e.g. https://us.posthog.com (default: the embedded reference server)",
        "URL",
    ),
    Option(
        None,
        "POSTHOG_PERSONAL_API_KEY",
        "posthog_personal_api_key",
        "personal API key (phx_...), required with a host; environment only",
    ),
    Option(
        "--project-id",
        "POSTHOG_PROJECT_ID",
        "posthog_project_id",
        "project id (an integer or @current); default: the key's only project",
        "ID",
    ),
    Option(
        None,
        "POSTHOG_PROJECT_API_KEY",
        "posthog_project_api_key",
        "project API key (phc_...) for capture; default: discovered from /api/users/@me/",
    ),
    Option(
        None,
        "POSTHOG_READONLY_API_KEY",
        "posthog_readonly_api_key",
        "personal API key with read scopes only, for scope checks; environment only",
    ),
    Option(
        None,
        "POSTHOG_COLLABORATOR_UUID",
        "posthog_collaborator_uuid",
        "user UUID of an organisation member to add as a dashboard collaborator",
    ),
    Option(
        None,
        "POSTHOG_OTHER_PROJECT_ID",
        "posthog_other_project_id",
        "id of a project the key cannot access, for isolation checks",
    ),
    Option(
        "--data-color-theme-id",
        "POSTHOG_DATA_COLOR_THEME_ID",
        "posthog_data_color_theme_id",
        "id of one of the host's data color themes (PostHog: Settings > Customization), so that the read-back of"
        " a dashboard's data_color_theme_id can be judged (default: unavailable, naming this setting)",
        "ID",
    ),
    Option(
        "--quick-filter-id",
        "POSTHOG_QUICK_FILTER_ID",
        "posthog_quick_filter_id",
        "UUID of one of the project's quick filters, so that the read-back of a dashboard's quick_filter_ids can be"
        " judged (default: unavailable, naming this setting)",
        "UUID",
    ),
    Option(
        "--capture-url",
        "POSTHOG_CAPTURE_URL",
        "posthog_capture_url",
        "capture (ingestion) host, e.g. https://us.i.posthog.com (default: the API host)",
        "URL",
    ),
    Option(
        "--read-only",
        "POSTHOG_READ_ONLY",
        "posthog_read_only",
        "deselect tests that create or change resources on the host",
    ),
    Option(
        "--request-timeout",
        "POSTHOG_REQUEST_TIMEOUT",
        "posthog_timeout",
        "seconds per HTTP request (default 30)",
        "SECONDS",
    ),
    Option(
        "--request-deadline",
        "POSTHOG_REQUEST_DEADLINE",
        "posthog_deadline",
        "seconds one request may take in all, from sending it to the last byte of the answer (default 60,"
        " or the request timeout if larger); an answer not complete by then is a host violation",
        "SECONDS",
    ),
    Option(
        "--max-response-mb",
        "POSTHOG_MAX_RESPONSE_MB",
        "posthog_max_response_mb",
        "largest answer the suite reads, in MB of 1,000,000 bytes (default 32: an events page of 1,000 events"
        " is a few MB); a larger answer is a host violation, the rest is not read",
        "MB",
    ),
    Option(
        None,
        "POSTHOG_MAX_RETRY_WAIT",
        "posthog_max_retry_wait",
        "total seconds the client may wait on 429 answers (default 120)",
    ),
    Option(
        None,
        "POSTHOG_EVENTS_TIMEOUT",
        "posthog_events_timeout",
        "seconds to wait for captured events to become listable (default 120)",
    ),
    Option(
        "--contract-seed",
        "POSTHOG_CONTRACT_SEED",
        "posthog_seed",
        "integer seed for generated data (default: random)",
        "N",
    ),
    Option(
        "--contract-profile",
        "POSTHOG_CONTRACT_PROFILE",
        "posthog_profile",
        "test depth: default or thorough",
        "{default,thorough}",
    ),
    Option(
        "--posthog-baseline",
        "POSTHOG_BASELINE",
        "posthog_baseline",
        "judge the host as the PostHog release of this month (YYYY-MM, e.g. 2024-01): fields added later"
        " are type-checked when present, their absence is a version finding (default: the current release)",
        "YYYY-MM",
    ),
    Option(
        "--request-budget",
        "POSTHOG_REQUEST_BUDGET",
        "posthog_request_budget",
        "most requests the run may send, cleanup included (default: the profile's, 600 for default,"
        " 4000 for thorough; 0: no cap); checks past it are unavailable, generated cases first",
        "N",
    ),
    Option(
        "--contract-operation",
        "POSTHOG_CONTRACT_OPERATION",
        "posthog_operation",
        "generated checks for these operations only (comma-separated operation ids such as"
        " dashboards_partial_update, or 'METHOD /path' as a failure names it), to rerun a failing case",
        "OPERATION",
    ),
]

_BOOLEAN_FIELDS = frozenset({"read_only"})

#: the config file's own setting (which file; registered by add_options beside OPTIONS)
CONFIG_OPTION = Option(
    "--contract-config",
    "POSTHOG_CONTRACT_CONFIG",
    "posthog_config",
    "settings file (TOML; keys as the flags without --, e.g. base-url): default posthog-contract.toml, or the"
    " [tool.posthog-contract] table of pyproject.toml, in the working directory or its parents",
    "FILE",
)
CONFIG_FILE_NAME = "posthog-contract.toml"
PYPROJECT_TABLE = "posthog-contract"  # [tool.posthog-contract]


class RunSetting(NamedTuple):
    """A setting outside :class:`Settings`, read by another part of the plugin (the report, the embedded
    server) through :func:`run_setting`: its config-file key, its flag and pytest dest, its variable."""

    key: str
    flag: str | None
    dest: str | None
    env: str | None
    kind: str = "text"  # text (a path) | switch (a store_true flag) | list (repeatable flag) | choice | percent
    choices: tuple[str, ...] = ()  # kind "choice": the values it may take


RUN_SETTINGS: tuple[RunSetting, ...] = (
    RunSetting("waivers", "--waivers", "contract_waivers", "POSTHOG_CONTRACT_WAIVERS"),
    # issue 22: what a deprecation finding does to the run (report/deprecations.py, verdicts.py)
    RunSetting("deprecations", "--deprecations", "contract_deprecations", "POSTHOG_CONTRACT_DEPRECATIONS", "choice",
               ("warn", "fail")),
    RunSetting("report", "--report", "contract_report", None),
    RunSetting("har", "--har", "contract_har", None),
    RunSetting("drift-fail", "--drift-fail", "contract_drift_fail", None, "switch"),
    RunSetting("min-coverage", "--min-coverage", "contract_min_coverage", "POSTHOG_CONTRACT_MIN_COVERAGE", "percent"),
    RunSetting("reference-args", "--reference-arg", "reference_args", "POSTHOG_REFERENCE_ARGS", "list"),
)
#: read when the package loads, before any file could be found: environment only, never in the file
_ENVIRONMENT_ONLY_KEYS = {"schemas-dir": "POSTHOG_CONTRACT_SCHEMAS_DIR"}

#: settings read from the environment outside `Settings` (no flag either), for ``pytest --help``
OTHER_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("POSTHOG_REFERENCE_ARGS", "extra arguments for the embedded reference server, shell-quoted "
     "(added after every --reference-arg)"),
    ("POSTHOG_CONTRACT_SCHEMAS_DIR", "folder of the contract's JSON Schemas (default: the repository's schemas/)"),
)


def new_run_id() -> str:
    """A run id: "pcr" + 10 lowercase alphanumerics, unique enough to tag one run's resources."""
    return "pcr" + "".join(_secrets.choice(_RUN_ID_ALPHABET) for _ in range(10))


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything the suite needs to know, validated; build it with :func:`settings_from`.

    Every field has a default so that ``Settings()`` means "the embedded reference server with
    defaults" (handy in self-tests).
    """

    base_url: str | None = None
    personal_api_key: str | None = None
    project_id: str | None = None
    project_api_key: str | None = None
    readonly_api_key: str | None = None
    collaborator_uuid: str | None = None
    other_project_id: str | None = None
    data_color_theme_id: int | None = None  # --data-color-theme-id: one of the host's data color themes
    quick_filter_id: str | None = None  # --quick-filter-id: one of the project's quick filters (a UUID)
    capture_url: str | None = None
    read_only: bool = False
    timeout: float = 30.0
    deadline: float | None = None  # --request-deadline; None = policy.DEFAULT_DEADLINE or the timeout if larger
    max_response_mb: float = 32.0  # --max-response-mb: the response size cap
    max_retry_wait: float = 120.0
    events_timeout: float = 120.0
    seed: int | None = None
    profile: str = "default"
    baseline: str | None = None  # --posthog-baseline: an older release (YYYY-MM); None = current
    operations: tuple[str, ...] = ()  # --contract-operation: generated operations to run (empty: all)
    request_budget: int | None = None  # --request-budget: None = the profile's; 0 = no cap
    run_id: str = field(default_factory=new_run_id)
    embedded: bool = False  # True once with_embedded() pointed the settings at the reference server

    def bounds(self) -> ExchangeBounds:
        """The deadline and size cap every exchange of the run is held to (policy.ExchangeBounds)."""
        deadline = self.deadline if self.deadline is not None else max(DEFAULT_DEADLINE, self.timeout)
        return ExchangeBounds(deadline=deadline, max_bytes=max(1, int(self.max_response_mb * 1_000_000)))

    def secrets(self) -> tuple[str, ...]:
        """Every non-empty key value, for the redactor (duplicates removed, order kept)."""
        values = (self.personal_api_key, self.readonly_api_key, self.project_api_key)
        return tuple(dict.fromkeys(v for v in values if v))

    def with_embedded(
        self,
        *,
        base_url: str,
        personal_api_key: str,
        project_id: str,
        project_api_key: str | None,
        readonly_api_key: str | None = None,
        collaborator_uuid: str | None = None,
        other_project_id: str | None = None,
        capture_url: str | None = None,
        data_color_theme_id: int | None = None,
        quick_filter_id: str | None = None,
    ) -> Settings:
        """The same settings pointed at the embedded reference server the plugin started."""
        return dataclasses.replace(
            self,
            base_url=base_url.rstrip("/"),
            personal_api_key=personal_api_key,
            project_id=str(project_id),
            project_api_key=project_api_key,
            readonly_api_key=readonly_api_key,
            collaborator_uuid=collaborator_uuid,
            other_project_id=None if other_project_id is None else str(other_project_id),
            capture_url=(capture_url or base_url).rstrip("/"),
            data_color_theme_id=data_color_theme_id,
            quick_filter_id=quick_filter_id,
            embedded=True,
        )

    def __repr__(self) -> str:
        # Keys are shown as set/unset only: pytest prints reprs in assertion introspection.
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            secret = f.name.endswith("api_key")
            shown = ("None" if value is None else "'[set]'") if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"


def add_options(group: Any) -> list[str]:
    """Register the flags of :data:`OPTIONS` on a pytest ``OptionGroup``; return the clashes.

    Defaults are None so that :func:`settings_from` can tell "not given" from "given" and fall back
    to the environment. If another plugin already owns a flag (pytest-base-url's ``--base-url``),
    the option is registered under ``--posthog-<name>`` instead of failing the whole run, and the
    returned sentence says so (the plugin prints it once at start).
    """
    clashes = []
    taken = _taken_flags(group)
    for option in (*OPTIONS, CONFIG_OPTION):
        if option.flag is None:
            continue
        kwargs: dict[str, Any] = {
            "dest": option.dest,
            "default": None,
            "help": f"{option.help} [env {option.env}]",
        }
        if option.field in _BOOLEAN_FIELDS:
            kwargs["action"] = "store_true"
        else:  # never pytest's default, the dest in capitals (--request-timeout=POSTHOG_TIMEOUT)
            kwargs["metavar"] = option.metavar or option.flag.removeprefix("--").upper().replace("-", "_")
        try:
            if option.flag in taken:
                raise ValueError(option.flag)
            group.addoption(option.flag, **kwargs)
        except ValueError:  # flag taken by another plugin
            renamed = "--posthog-" + option.flag.removeprefix("--").removeprefix("contract-")
            group.addoption(renamed, **kwargs)
            clashes.append(
                f"{option.flag} belongs to another plugin, so the suite's option is {renamed} "
                f"(or set {option.env})"
            )
    return clashes


def _taken_flags(group: Any) -> set[str]:
    """Flags other plugins registered already, in any group (pytest only checks within one group,
    and argparse would fail the whole run later with a traceback)."""
    parser = getattr(group, "parser", None)
    groups = [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]
    return {name for g in groups if g is not None for opt in g.options for name in opt.names()}


def environment_help() -> str:
    """One line per setting with no command-line flag, for the ``pytest --help`` group."""
    lines = [f"{o.env}: {o.help}" for o in OPTIONS if o.flag is None]
    lines += [f"{name}: {text}" for name, text in OTHER_ENVIRONMENT]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The config file: posthog-contract.toml, or [tool.posthog-contract] in pyproject.toml.


@dataclass(frozen=True)
class ConfigFile:
    """A loaded, validated config file: its settings by key, and how to name it in a sentence."""

    path: Path
    label: str  # "posthog-contract.toml" or "[tool.posthog-contract] in pyproject.toml", with the folder
    values: Mapping[str, Any]
    found_by: str  # the flag or variable that named it, or "found in <folder>"


def _file_keys() -> dict[str, str]:
    """Every key a config file may hold -> the flag or variable it stands for (for messages)."""
    keys = {o.key: o.flag or o.env for o in OPTIONS}
    keys.update({s.key: s.flag or s.env or s.key for s in RUN_SETTINGS})
    return keys


def config_file(
    get_option: Callable[[str], Any], environ: Mapping[str, str], cwd: Path | None = None
) -> ConfigFile | None:
    """The config file of this run: named by ``--contract-config`` / ``POSTHOG_CONTRACT_CONFIG``, else
    ``posthog-contract.toml`` or a pyproject.toml with a ``[tool.posthog-contract]`` table in ``cwd`` or
    its parents, up to the folder holding ``.git``; None when there is none. ConfigError when unusable."""
    folder = Path.cwd() if cwd is None else Path(cwd)
    named, source = get_option(CONFIG_OPTION.dest), CONFIG_OPTION.flag
    if _blank(named):
        named, source = environ.get(CONFIG_OPTION.env), CONFIG_OPTION.env
    if not _blank(named):
        path = folder / str(named).strip()
        if not path.is_file():
            raise ConfigError(f"{source} names {str(named).strip()!r}, which is not a file: give the path of a "
                              f"{CONFIG_FILE_NAME} or of a pyproject.toml with a [tool.{PYPROJECT_TABLE}] table.",
                              option=source)
        return _load(path, found_by=str(source), table_required=path.name == "pyproject.toml")
    for directory in (folder, *folder.parents):
        if (directory / CONFIG_FILE_NAME).is_file():
            return _load(directory / CONFIG_FILE_NAME, found_by=f"found in {directory}")
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            loaded = _load(pyproject, found_by=f"found in {directory}")
            if loaded is not None:
                return loaded
        if (directory / ".git").exists():
            break
    return None


def _load(path: Path, *, found_by: str, table_required: bool = False) -> ConfigFile | None:
    pyproject = path.name == "pyproject.toml"
    label = f"[tool.{PYPROJECT_TABLE}] in {path}" if pyproject else str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}.") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        if pyproject and not table_required:
            return None  # someone else's broken pyproject.toml is not ours to judge
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}.") from None
    if pyproject:
        tool = data.get("tool")
        table = tool.get(PYPROJECT_TABLE) if isinstance(tool, dict) else None
        if table is None:
            if table_required:
                raise ConfigError(f"{path} has no [tool.{PYPROJECT_TABLE}] table: add one, or name a "
                                  f"{CONFIG_FILE_NAME}.")
            return None
        if not isinstance(table, dict):
            raise ConfigError(f"{label} must be a table of settings.")
        data = table
    return ConfigFile(path, label, _checked(data, label), found_by)


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _checked(data: Mapping[str, Any], label: str) -> dict[str, Any]:
    """Every key known, no key value anywhere, each value a plain TOML value (one sentence otherwise)."""
    known = _file_keys()
    secrets = {o.key.removesuffix("-env"): o for o in OPTIONS if o.secret}
    by_env = {name: key for key, name in known.items() if name and name.startswith("POSTHOG_")}
    by_env.update({o.env: o.key for o in OPTIONS})
    for key, value in data.items():
        if key in secrets:
            option = secrets[key]
            raise ConfigError(f"{label} holds an API key ({key}): keys never go into a file; export "
                              f"{option.env} instead, or name the variable that holds it with "
                              f"{option.key} = \"VARIABLE\".", option=option.env)
        for text in _texts(value):
            if _KEY_LOOKALIKE.search(text):
                variable = next((o.env for o in OPTIONS if o.secret), "POSTHOG_PERSONAL_API_KEY")
                raise ConfigError(f"{label}: {key} holds what looks like an API key; keys never go into a file: "
                                  f"export it as {variable} (or POSTHOG_PROJECT_API_KEY / POSTHOG_READONLY_API_KEY)"
                                  " instead.", option=variable)
        if key in _ENVIRONMENT_ONLY_KEYS:
            raise ConfigError(f"{label}: {key} cannot be set in a file (it is read when the package loads): "
                              f"export {_ENVIRONMENT_ONLY_KEYS[key]} instead.")
        if key not in known:
            hint = ""
            if key in by_env:
                hint = f": write {by_env[key]} = … (the file's name for {key})"
            elif close := difflib.get_close_matches(key, known, n=1):
                hint = f": did you mean {close[0]}?"
            raise ConfigError(f"{label} has an unknown setting {key!r}{hint} (known: {', '.join(sorted(known))}).")
        plain = isinstance(value, str | int | float | bool) and not isinstance(value, dict)
        listed = isinstance(value, list) and all(isinstance(item, str) for item in value)
        if not plain and not (listed and key in ("reference-args", "operation")):
            raise ConfigError(f"{label}: {key} must be a string, a number or true/false, not "
                              f"{type(value).__name__} {_shown(value)}.")
        if key.endswith("-env") and not (isinstance(value, str) and _VARIABLE_NAME.fullmatch(value)):
            raise ConfigError(f"{label}: {key} must name an environment variable (like STAGING_POSTHOG_KEY), "
                              f"not {_shown(value)}.")
    checked = dict(data)
    if isinstance(checked.get("operation"), list):  # a list in the file, comma-separated on a command line
        checked["operation"] = ",".join(checked["operation"])
    return checked


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


def _resolve(
    option: Option, get_option: Callable[[str], Any], environ: Mapping[str, str], file: ConfigFile | None
) -> tuple[Any, str, str]:
    """``(value, name for messages, where it came from)`` by precedence: flag > environment > file > default.

    A blank variable counts as unset when the file holds the setting (CI sets optional secrets to "").
    """
    if option.flag is not None:
        value = get_option(option.dest)
        if value is not None and value is not False:
            return value, option.flag, "flag"
    value = environ.get(option.env)
    in_file = file is not None and option.key in file.values
    if value is not None and not (in_file and _blank(value)):
        return value, option.env, "environment"
    if in_file:
        assert file is not None
        if option.secret:
            variable = str(file.values[option.key])
            named = environ.get(variable)
            if named is None:
                raise ConfigError(f"{option.key} in {file.label} names {variable}, which is not set: export "
                                  f"{variable} (or {option.env}).", option=variable)
            return named, variable, f"environment {variable} (named by the config file)"
        return file.values[option.key], f"{option.key} in {file.label}", "config file"
    return value, option.env, "default"


def run_setting(
    key: str,
    get_option: Callable[[str], Any],
    environ: Mapping[str, str],
    cwd: Path | None = None,
    *,
    use_file: bool = True,
) -> tuple[Any, str]:
    """A setting of :data:`RUN_SETTINGS` by precedence, and where it came from (flag, environment, config
    file, default). Lists: every value, the file's first (so a flag or the variable wins in argparse).
    ``use_file=False``: a pytest run that does not select the suite (a project's own tests in the same
    virtualenv) takes nothing from a config file lying in its folder."""
    setting = next(s for s in RUN_SETTINGS if s.key == key)
    file = config_file(get_option, environ, cwd) if use_file else None
    from_file = None if file is None else file.values.get(key)
    flag = get_option(setting.dest) if setting.dest else None
    variable = environ.get(setting.env) if setting.env else None
    if setting.kind == "list":
        parts = [*_as_list(from_file), *(flag or [])]
        sources = [name for name, given in (("config file", from_file), ("flag", flag)) if given]
        return parts, " + ".join(sources) or "default"
    if setting.kind == "choice":
        return _choice(setting, flag, variable, from_file, file)
    if setting.kind == "percent":
        return _percent(setting, flag, variable, from_file, file)
    if flag not in (None, False, ""):
        return flag, "flag"
    if not _blank(variable):
        return str(variable).strip(), "environment"
    if from_file is not None and file is not None:
        if setting.kind == "switch" and not isinstance(from_file, bool):
            raise ConfigError(f"{key} in {file.label} must be true or false, not {_shown(from_file)}.")
        if setting.kind == "text":  # a path: relative to the file's folder, as pytest and ruff read theirs
            return str(file.path.parent / str(from_file)), "config file"
        return from_file, "config file"
    return (False if setting.kind == "switch" else None), "default"


def _choice(setting: RunSetting, flag: Any, variable: Any, from_file: Any, file: ConfigFile | None) -> tuple[Any, str]:
    """A setting of a few values by precedence, the first its default; ConfigError names the one to fix."""
    for value, origin, name in ((flag, "flag", setting.flag), (variable, "environment", setting.env),
                                (from_file, "config file", f"{setting.key} in {file.label if file else ''}")):
        if _blank(value):
            continue
        text = str(value).strip().lower()
        if text not in setting.choices:
            raise ConfigError(f"{name} must be one of {', '.join(setting.choices)}, not {_shown(value)}.", option=name)
        return text, origin
    return setting.choices[0], "default"
def _percent(
    setting: RunSetting, flag: Any, variable: str | None, from_file: Any, file: ConfigFile | None
) -> tuple[float | None, str]:
    """A percentage from 0 to 100 (``--min-coverage``), by precedence; ConfigError naming its source otherwise."""
    for value, origin, name in ((flag, "flag", setting.flag), (variable, "environment", setting.env),
                                (from_file, "config file", f"{setting.key} in {file.label if file else 'the file'}")):
        if _blank(value) or value is False:
            continue
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not 0 <= number <= 100:
            raise ConfigError(f"{name} must be a percentage from 0 to 100, not {_shown(value)}.", option=name)
        return number, origin
    return None, "default"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(item) for item in value]
    import shlex

    return shlex.split(str(value))


def run_settings(
    get_option: Callable[[str], Any], environ: Mapping[str, str], *, use_file: bool = True
) -> dict[str, Any]:
    """Every setting of :data:`RUN_SETTINGS` by key (see :func:`run_setting`)."""
    return {s.key: run_setting(s.key, get_option, environ, use_file=use_file)[0] for s in RUN_SETTINGS}


def reference_args(get_option: Callable[[str], Any], environ: Mapping[str, str], cwd: Path | None = None) -> list[str]:
    """The embedded server's extra arguments: the file's, then every ``--reference-arg`` (the embedded
    module adds ``POSTHOG_REFERENCE_ARGS`` last, so it wins)."""
    return list(run_setting("reference-args", get_option, environ, cwd)[0])


def describe(get_option: Callable[[str], Any], environ: Mapping[str, str], cwd: Path | None = None) -> list[str]:
    """``--contract-env``: every setting, its value (keys only as [set]) and where the value came from."""
    file = config_file(get_option, environ, cwd)
    lines = ["posthog-contract settings, by precedence: flag > environment > config file > default"]
    if file is None:
        lines.append(f"config file: none ({CONFIG_OPTION.flag} FILE, {CONFIG_OPTION.env}, or {CONFIG_FILE_NAME} / "
                     f"[tool.{PYPROJECT_TABLE}] in pyproject.toml in the working directory or its parents)")
    else:
        lines.append(f"config file: {file.label} ({file.found_by})")
    lines.append(f"{'key':22} {'flag':22} {'environment':30} {'value':40}  from")

    def row(key: str, flag: str | None, env: str | None, shown: str, origin: str) -> str:
        return f"{key:22} {flag or '-':22} {env or '-':30} {shown:40}  {origin}"

    for option in OPTIONS:
        value, _name, origin = _resolve(option, get_option, environ, file)
        if option.secret:
            shown = "(unset)" if value is None else "[set]"
        else:
            shown = _state(value, default=getattr(Settings, option.field, None))
        lines.append(row(option.key, option.flag, option.env, shown, origin))
    for setting in RUN_SETTINGS:
        value, origin = run_setting(setting.key, get_option, environ, cwd)
        if setting.kind == "list" and setting.env and not _blank(environ.get(setting.env)):
            origin = "environment" if origin == "default" else f"{origin} + environment"
            value = [*value, *_as_list(environ.get(setting.env))]
        lines.append(row(setting.key, setting.flag, setting.env, _state(value or None), origin))
    config_named = get_option(CONFIG_OPTION.dest) or environ.get(CONFIG_OPTION.env)
    lines.append(row("-", CONFIG_OPTION.flag, CONFIG_OPTION.env, _state(config_named or None),
                     "flag" if get_option(CONFIG_OPTION.dest) else "environment" if config_named else "default"))
    for name, _text in OTHER_ENVIRONMENT:
        if name in {s.env for s in RUN_SETTINGS}:
            continue
        value = environ.get(name)
        lines.append(row("-", None, name, _state(value), "environment" if value is not None else "default"))
    return lines


def _state(value: Any, *, default: Any = None) -> str:
    if value is None or value is False and default is False:
        return "(unset)" if default is None else f"{default!r}"
    text = value if isinstance(value, str) else repr(value)
    if _KEY_LOOKALIKE.search(str(text)):
        return "[set]"
    return repr(value) if isinstance(value, str) else text


def settings_from(
    get_option: Callable[[str], Any], environ: Mapping[str, str], *, cwd: Path | None = None
) -> Settings:
    """Build and validate the settings; raise :class:`ConfigError` on the first problem found.

    ``get_option`` is typically ``pytest.Config.getoption``; it is only asked for options that have a
    flag. ``environ`` is passed in (not read from ``os.environ``) so tests can supply their own; the
    config file is looked for from ``cwd`` (default: the working directory).
    """
    file = config_file(get_option, environ, cwd)
    raw: dict[str, tuple[Any, str]] = {}  # field -> (value, name to show in messages)
    for option in OPTIONS:
        value, name, _origin = _resolve(option, get_option, environ, file)
        raw[option.field] = (value, name)

    def name(field_name: str) -> str:
        return raw[field_name][1]

    base_url = _url(raw["base_url"][0], name("base_url"), example="https://us.posthog.com")
    personal = _key(raw["personal_api_key"][0], name("personal_api_key"), want="phx")
    # optional keys: empty is unset, as CI hands an undefined secret over ("${{ secrets.X }}" is "")
    optional = {f: None if _blank(raw[f][0]) else raw[f][0] for f in ("project_api_key", "readonly_api_key")}
    project_key = _key(optional["project_api_key"], name("project_api_key"), want="phc")
    readonly = _key(optional["readonly_api_key"], name("readonly_api_key"), want="phx")
    secrets = [k for k in (personal, project_key, readonly) if k]

    if base_url is not None and personal is None:
        raise ConfigError(
            f"{name('base_url')} is set but POSTHOG_PERSONAL_API_KEY is not: export a personal API key "
            f"(phx_…) for that host, or unset {name('base_url')} to test the embedded reference server.",
            option="POSTHOG_PERSONAL_API_KEY",
        )

    project_id = _project_id(raw["project_id"][0], name("project_id"), secrets, allow_current=True)
    other_project_id = _project_id(
        raw["other_project_id"][0], name("other_project_id"), secrets, allow_current=False
    )
    if other_project_id is not None and other_project_id == project_id:
        raise ConfigError(
            f"{name('other_project_id')} equals the project under test ({project_id}): name a project "
            "the key cannot access.",
            option=name("other_project_id"),
        )

    collaborator = _uuid(raw["collaborator_uuid"][0], name("collaborator_uuid"), secrets)
    quick_filter = _uuid(raw["quick_filter_id"][0], name("quick_filter_id"), secrets, what="quick filter UUID")
    theme = _project_id(raw["data_color_theme_id"][0], name("data_color_theme_id"), secrets, allow_current=False)

    capture_url = _url(raw["capture_url"][0], name("capture_url"), example="https://us.i.posthog.com")
    if capture_url is not None and base_url is None:
        raise ConfigError(
            f"{name('capture_url')} is set but POSTHOG_HOST is not: the embedded reference server is its "
            f"own capture host, so unset {name('capture_url')} or also set POSTHOG_HOST.",
            option=name("capture_url"),
        )

    return Settings(
        base_url=base_url,
        personal_api_key=personal,
        project_id=project_id,
        project_api_key=project_key,
        readonly_api_key=readonly,
        collaborator_uuid=collaborator,
        other_project_id=other_project_id,
        data_color_theme_id=None if theme is None else int(theme),
        quick_filter_id=quick_filter,
        capture_url=capture_url or base_url,
        read_only=_bool(raw["read_only"][0], name("read_only"), secrets),
        timeout=_seconds(raw["timeout"][0], name("timeout"), 30.0, secrets),
        deadline=None if _blank(raw["deadline"][0]) else _seconds(raw["deadline"][0], name("deadline"), 0.0, secrets),
        max_response_mb=_seconds(raw["max_response_mb"][0], name("max_response_mb"), 32.0, secrets, unit="MB"),
        max_retry_wait=_seconds(
            raw["max_retry_wait"][0], name("max_retry_wait"), 120.0, secrets, allow_zero=True
        ),
        events_timeout=_seconds(raw["events_timeout"][0], name("events_timeout"), 120.0, secrets),
        seed=_seed(raw["seed"][0], name("seed"), secrets),
        profile=_profile(raw["profile"][0], name("profile"), secrets),
        baseline=_baseline(raw["baseline"][0], name("baseline")),
        operations=_operations(raw["operation"][0], name("operation")),
        request_budget=_count(raw["request_budget"][0], name("request_budget"), secrets),
    )


def _operations(value: Any, source: str) -> tuple[str, ...]:
    """Operation ids or ``METHOD /path`` labels of the assembled OpenAPI, checked against it."""
    if value is None or not str(value).strip():
        return ()
    from .contract import operation_labels

    known = operation_labels()
    wanted = tuple(part.strip() for part in str(value).split(",") if part.strip())
    unknown = [part for part in wanted if part not in known]
    if unknown:
        raise ConfigError(
            f"{source} names no operation of the contract: {', '.join(unknown)} (use an operation id such as"
            " dashboards_partial_update or 'PATCH /api/projects/{project_id}/dashboards/{id}/').",
            option=source,
        )
    return wanted


def _baseline(value: Any, source: str) -> str | None:
    """``YYYY-MM`` or unset: the PostHog release the host is judged against (contract §11)."""
    if value is None or str(value).strip() in ("", "current"):
        return None
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise ConfigError(
            f"{source} must be a release month YYYY-MM (e.g. 2024-01) or 'current', not {text!r}.", option=source
        )
    return text


def is_read_only(get_option: Callable[[str], Any], environ: Mapping[str, str], cwd: Path | None = None) -> bool:
    """--read-only / POSTHOG_READ_ONLY / read-only in the config file, for collection hooks that run
    before the settings exist.

    Lenient on purpose: an unreadable value counts as "not read-only" here; settings_from() reports it.
    """
    try:
        return _bool(raw_value("read_only", get_option, environ, cwd), "read-only", ())
    except ConfigError:
        return False


def raw_value(field_name: str, get_option: Callable[[str], Any], environ: Mapping[str, str],
              cwd: Path | None = None) -> Any:
    """One setting of :data:`OPTIONS` (by its Settings field) as given, unvalidated, by precedence; None
    when nothing gives it. For hooks that need one value before :func:`settings_from` runs."""
    option = next(o for o in OPTIONS if o.field == field_name)
    value, _name, origin = _resolve(option, get_option, environ, config_file(get_option, environ, cwd))
    return None if origin == "default" else value


# --------------------------------------------------------------------------------------------------
# Validators: each returns the normalised value or raises ConfigError naming `name`.


def _shown(value: Any, secrets: Iterable[str] = ()) -> str:
    """A value fit for an error message: quoted, shortened, never a key."""
    text = str(value)
    if _KEY_LOOKALIKE.search(text) or any(s and s in text for s in secrets):
        return "a value that looks like an API key"
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _url(value: Any, name: str, *, example: str) -> str | None:
    if _blank(value):
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    shown_parts = parts._replace(netloc=parts.hostname or "", query="", fragment="")
    shown = _shown(urlunsplit(shown_parts)) if parts.hostname else _shown(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} must be an http(s) URL with a host, like {example}, not {shown}.", option=name
        )
    if parts.username or parts.password:
        raise ConfigError(
            f"{name} must not carry credentials in the URL: remove the user:password@ part "
            "(the suite authenticates with POSTHOG_PERSONAL_API_KEY).",
            option=name,
        )
    if parts.query or parts.fragment:
        raise ConfigError(
            f"{name} must not have a query string or fragment: use just the origin, like {example}.",
            option=name,
        )
    if parts.path.strip("/"):
        # PostHog routes from the site's root (posthog/urls.py, urlpatterns: every API route starts with
        # "api/", capture's "e", "capture", "batch" sit at the top), and every path the suite sends
        # starts there: a path here would be doubled (…/api/api/projects/…) and misread as a bad project
        raise ConfigError(
            f"{name} must be the host's origin without a path, like {example}, not {shown}: drop "
            f"{_shown(parts.path)} (the suite adds /api/… itself).",
            option=name,
        )
    return text.rstrip("/")


def _key(value: Any, name: str, *, want: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()  # a trailing newline from `$(cat keyfile)` is harmless
    if not text:
        raise ConfigError(f"{name} is set but empty: set it to the key or unset it.", option=name)
    if any(ch.isspace() for ch in text):
        raise ConfigError(
            f"{name} contains whitespace: set it to the bare key, without a 'Bearer' prefix or quotes.",
            option=name,
        )
    if text.lower().startswith("bearer"):
        raise ConfigError(f"{name} starts with 'Bearer': set it to the bare key.", option=name)
    if want == "phx" and text.startswith("phc_"):
        raise ConfigError(
            f"{name} holds a project API key (phc_…); use a personal API key (phx_…) "
            "created under Settings > Personal API keys.",
            option=name,
        )
    if want == "phc" and text.startswith("phx_"):
        raise ConfigError(
            f"{name} holds a personal API key (phx_…); use the project API key (phc_…) "
            "shown in the project settings.",
            option=name,
        )
    return text


def _project_id(value: Any, name: str, secrets: Iterable[str], *, allow_current: bool) -> str | None:
    if _blank(value):
        return None
    text = str(value).strip()
    if allow_current and text == "@current":
        return text
    if text.isascii() and text.isdigit() and int(text) > 0:
        return str(int(text))
    expected = "a positive integer or @current" if allow_current else "a positive integer"
    raise ConfigError(f"{name} must be {expected}, not {_shown(text, secrets)}.", option=name)


def _uuid(value: Any, name: str, secrets: Iterable[str], *, what: str = "user UUID") -> str | None:
    if _blank(value):
        return None
    text = str(value).strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ConfigError(
            f"{name} must be a {what} like 0190e4d1-7b5c-7d8e-9f00-1a2b3c4d5e6f, "
            f"not {_shown(text, secrets)}.",
            option=name,
        ) from None


def _seconds(
    value: Any, name: str, default: float, secrets: Iterable[str], *, allow_zero: bool = False, unit: str = "seconds"
) -> float:
    if _blank(value):
        return default
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        expected = f"a number of {unit}, 0 or more" if allow_zero else f"a positive number of {unit}"
        raise ConfigError(f"{name} must be {expected}, not {_shown(value, secrets)}.", option=name)
    return number


def _seed(value: Any, name: str, secrets: Iterable[str]) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {_shown(value, secrets)}.", option=name) from None


def _count(value: Any, name: str, secrets: Iterable[str]) -> int | None:
    if _blank(value):
        return None
    text = str(value).strip()
    if not text.isdigit():
        raise ConfigError(
            f"{name} must be a whole number of requests (0: no cap), not {_shown(value, secrets)}.", option=name
        )
    return int(text)


def _profile(value: Any, name: str, secrets: Iterable[str]) -> str:
    if _blank(value):
        return "default"
    text = str(value).strip().lower()
    if text not in PROFILES:
        raise ConfigError(
            f"{name} must be one of {', '.join(PROFILES)}, not {_shown(value, secrets)}.", option=name
        )
    return text


def _bool(value: Any, name: str, secrets: Iterable[str]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false), not {_shown(value, secrets)}.", option=name)
