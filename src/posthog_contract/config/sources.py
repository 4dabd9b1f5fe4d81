"""Where each value comes from, by precedence (flag > environment > config file > default), and the
settings built from them: :func:`settings_from`, the settings outside them (:func:`run_setting`),
``--contract-env`` (:func:`describe`) and the early reads collection hooks need."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .file import ConfigFile, config_file
from .options import (
    CONFIG_FILE_NAME,
    CONFIG_OPTION,
    OPTIONS,
    OTHER_ENVIRONMENT,
    PYPROJECT_TABLE,
    RUN_SETTINGS,
    Option,
    RunSetting,
)
from .settings import Settings
from .values import (
    ConfigError,
    _baseline,
    _blank,
    _bool,
    _count,
    _key,
    _operations,
    _profile,
    _project_id,
    _seconds,
    _seed,
    _shown,
    _state,
    _url,
    _uuid,
)


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
