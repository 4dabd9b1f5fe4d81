"""DRF's field readers, so that a refused value gets DRF's 400: code, detail and ``attr`` (contract §1.2).

Each reader takes the raw JSON value and the ``attr`` to report (nested fields joined by ``__``, as
drf-exceptions-hog does) and answers the value as the serializer would store it, or raises
:class:`errors.ApiError`. Sources: ``rest_framework/fields.py`` (``BooleanField``, ``CharField``,
``IntegerField``, ``ChoiceField``, ``DateTimeField``, ``ListField``, ``DictField``, ``UUIDField``) and
PostHog's ``posthog.utils.str_to_bool``. Shared by every resource module that validates a body.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from . import errors
from .timeutil import iso_z

_TRUE = frozenset({"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"})
_FALSE = frozenset({"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_DJANGO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)


def invalid(detail: str, attr: str | None, code: str = "invalid_input") -> errors.ApiError:
    return errors.validation_error(detail, attr=attr, code=code)


def null_error(attr: str) -> errors.ApiError:
    return invalid("This field may not be null.", attr, "null")


def type_name(value: Any) -> str:
    return type(value).__name__


def str_to_bool(value: Any) -> bool:
    """PostHog's ``posthog.utils.str_to_bool``: truthy spellings only; everything else is False."""
    if not value:
        return False
    return str(value).lower() in ("y", "yes", "t", "true", "on", "1")


def boolean_field(value: Any, attr: str, *, allow_null: bool = False) -> bool | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if value is True or (isinstance(value, str) and value in _TRUE):
        return True
    if value is False or (isinstance(value, str) and value in _FALSE):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    raise invalid("Must be a valid boolean.", attr)


def char_field(
    value: Any,
    attr: str,
    *,
    max_length: int | None = None,
    allow_null: bool = False,
    allow_blank: bool = True,
    max_length_message: str | None = None,
) -> str | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid("Not a valid string.", attr)
    text = str(value).strip()
    if text == "":
        if not allow_blank:
            raise invalid("This field may not be blank.", attr, "blank")
        return ""
    if "\x00" in text:
        raise invalid("Null characters are not allowed.", attr, "null_characters_not_allowed")
    found = _SURROGATE.search(text)
    if found:
        raise invalid(
            f"Surrogate characters are not allowed: U+{ord(found.group()):X}.", attr, "surrogate_characters_not_allowed"
        )
    if max_length is not None and len(text) > max_length:
        raise invalid(
            max_length_message or f"Ensure this field has no more than {max_length} characters.", attr, "max_length"
        )
    return text


def integer_field(
    value: Any, attr: str, *, allow_null: bool = False, min_value: int | None = None, max_value: int | None = None
) -> int | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, str) and len(value) > 1000:
        raise invalid("String value too large.", attr, "max_string_length")
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        number = int(re.sub(r"\.0*\s*$", "", str(value)))
    except (ValueError, OverflowError):
        raise invalid("A valid integer is required.", attr) from None
    if max_value is not None and number > max_value:
        raise invalid(f"Ensure this value is less than or equal to {max_value}.", attr, "max_value")
    if min_value is not None and number < min_value:
        raise invalid(f"Ensure this value is greater than or equal to {min_value}.", attr, "min_value")
    return number


def choice_field(value: Any, attr: str, choices: tuple[int, ...], *, allow_null: bool = False) -> int | None:
    """DRF's ChoiceField: the input's ``str()`` must be one of the choices' ``str()``."""
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    by_string = {str(choice): choice for choice in choices}
    if not isinstance(value, bool) and str(value) in by_string:
        return by_string[str(value)]
    raise invalid(f'"{value}" is not a valid choice.', attr, "invalid_choice")


def datetime_field(value: Any, attr: str, *, allow_null: bool = True, form: bool = False) -> str | None:
    """DRF's DateTimeField on ISO 8601 input; stored and shown in DRF's ``...Z`` format.

    A blank value is null only in a form body (``Field.get_value`` on HTML input); in JSON ``""`` is
    just a malformed datetime (``DateTimeField.to_internal_value``: 400 ``invalid``).
    """
    if value is None or (value == "" and allow_null and form):
        if allow_null:
            return None
        raise null_error(attr)
    message = (
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
    )
    if not isinstance(value, str):
        raise invalid(message, attr)
    moment = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        match = _DJANGO_DATETIME.match(value)
        if match:
            try:
                moment = datetime.fromisoformat(_django_to_iso(match))
            except ValueError:
                moment = None
    if moment is None:
        raise invalid(message, attr)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return iso_z(moment)
    except (ValueError, OverflowError):
        raise invalid(message, attr) from None


def _django_to_iso(match: re.Match[str]) -> str:
    parts = match.groupdict()
    micro = (parts["microsecond"] or "0").ljust(6, "0")
    tz = parts["tzinfo"] or ""
    if tz and tz != "Z" and len(tz) == 3:
        tz += ":00"
    return (
        f"{int(parts['year']):04d}-{int(parts['month']):02d}-{int(parts['day']):02d}T{int(parts['hour']):02d}:"
        f"{int(parts['minute']):02d}:{int(parts['second'] or 0):02d}.{micro}{tz.replace('Z', '+00:00')}"
    )


def list_field(value: Any, attr: str, *, allow_null: bool = False) -> list[Any] | None:
    if value is None:
        if allow_null:
            return None
        raise null_error(attr)
    if isinstance(value, str) or not isinstance(value, list):
        raise invalid(f'Expected a list of items but got type "{type_name(value)}".', attr, "not_a_list")
    return value


def dict_field(value: Any, attr: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid data. Expected a dictionary, but got {type_name(value)}.", attr)
    return value


def uuid_field(value: Any, attr: str) -> str:
    """DRF's UUIDField: a UUID string in any of Python's spellings, or an integer."""
    if value is None:
        raise null_error(attr)
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return str(uuid.UUID(int=value))
        if isinstance(value, str):
            return str(uuid.UUID(hex=value))
        raise ValueError
    except (ValueError, TypeError, AttributeError):
        raise invalid("Must be a valid UUID.", attr) from None


def reject_surrogates(data: dict[str, Any]) -> None:
    """Lone surrogates cannot be stored or echoed as UTF-8: refuse them up front, on the field that has one."""

    def find(value: Any) -> str | None:
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            return found.group() if found else None
        if isinstance(value, dict):
            for key, item in value.items():
                hit = find(key) or find(item)
                if hit:
                    return hit
        if isinstance(value, list):
            for item in value:
                hit = find(item)
                if hit:
                    return hit
        return None

    for key, value in data.items():
        hit = find(key)
        attr = None if hit else key
        hit = hit or find(value)
        if hit:
            raise invalid(
                f"Surrogate characters are not allowed: U+{ord(hit):X}.", attr, "surrogate_characters_not_allowed"
            )
