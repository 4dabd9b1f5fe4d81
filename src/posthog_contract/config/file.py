"""The config file: ``posthog-contract.toml``, or a ``[tool.posthog-contract]`` table in pyproject.toml,
found and checked (every key known, no key value anywhere, each value a plain TOML value)."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .options import _ENVIRONMENT_ONLY_KEYS, CONFIG_FILE_NAME, CONFIG_OPTION, OPTIONS, PYPROJECT_TABLE, RUN_SETTINGS
from .values import _KEY_LOOKALIKE, ConfigError, _blank, _shown


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
