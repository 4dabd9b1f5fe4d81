"""The values of the settings, read and checked: each reader returns the normalised value or raises
:class:`ConfigError`, one sentence naming the option or variable to fix and never a key's value."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

PROFILES: tuple[str, ...] = ("default", "thorough")

_KEY_LOOKALIKE = re.compile(r"ph[xc]_[A-Za-z0-9]{8,}")
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


def _operations(value: Any, source: str) -> tuple[str, ...]:
    """Operation ids or ``METHOD /path`` labels of the assembled OpenAPI, checked against it."""
    if value is None or not str(value).strip():
        return ()
    from ..contract import operation_labels

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


def _state(value: Any, *, default: Any = None) -> str:
    if value is None or value is False and default is False:
        return "(unset)" if default is None else f"{default!r}"
    text = value if isinstance(value, str) else repr(value)
    if _KEY_LOOKALIKE.search(str(text)):
        return "[set]"
    return repr(value) if isinstance(value, str) else text
