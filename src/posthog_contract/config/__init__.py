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

The package, one concern per module: ``options`` (what can be set: flags, variables, file keys),
``values`` (each value read and checked, :class:`ConfigError`), ``file`` (the config file, found and
checked), ``settings`` (the frozen :class:`Settings`), ``sources`` (precedence, :func:`settings_from`,
``--contract-env``).
"""

from __future__ import annotations

from .file import ConfigFile, config_file
from .options import (
    CONFIG_OPTION,
    OPTIONS,
    OTHER_ENVIRONMENT,
    RUN_SETTINGS,
    Option,
    RunSetting,
    add_options,
    environment_help,
)
from .settings import Settings, new_run_id
from .sources import describe, is_read_only, raw_value, reference_args, run_setting, run_settings, settings_from
from .values import PROFILES, ConfigError

__all__ = [
    "CONFIG_OPTION",
    "OPTIONS",
    "OTHER_ENVIRONMENT",
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
    "run_settings",
    "settings_from",
]
