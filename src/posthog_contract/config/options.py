"""What can be set: every setting's flag, environment variable, config-file key and help (the tables
the plugin registers, ``--contract-env`` lists and the README's settings table mirrors)."""

from __future__ import annotations

from typing import Any, NamedTuple


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
