"""Small readers shared by steering, checks and the failure filter: which operation a case is, its ids, its answer."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from .run import run_of

TITLE = "PostHog API"  # info.title of contract.openapi_document(): the hooks act on this document only
ENV_SUFFIX = "_env"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_RE = re.compile(r"[/+]json\b")


def is_ours(operation: Any) -> bool:
    if operation is None or run_of(operation) is None:
        return False
    info = operation.schema.raw_schema.get("info")
    return isinstance(info, dict) and info.get("title") == TITLE


def operation_id(operation: Any) -> str:
    """The catalogue id (the environments twin's ``_env`` suffix removed)."""
    raw = operation.definition.raw.get("operationId", "")
    return raw.removesuffix(ENV_SUFFIX)


def stable_hash(value: Any) -> int:
    return zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode())


def as_int(value: Any) -> int | None:
    """The integer a host would read from ``value`` in a URL or a DRF IntegerField, if any."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def pick(choices: tuple[Any, ...] | list[Any], value: Any) -> Any:
    return choices[stable_hash(value) % len(choices)]


def steer_id(value: Any, allowed: tuple[int, ...]) -> Any:
    """An id the run may use: values naming no integer stay (they cannot name a dashboard)."""
    number = as_int(value)
    if number is None or not allowed:
        return value
    if number in allowed:
        return number if isinstance(value, int) else value
    return pick(allowed, number)


def is_negative(case: schemathesis.Case, location: ParameterLocation) -> bool:
    meta = case.meta
    return meta is not None and meta.is_negative_at(location)


def is_positive(case: schemathesis.Case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode == GenerationMode.POSITIVE


def json_or_none(response: Any) -> Any:
    media = content_type(response)
    if not response.content or not JSON_RE.search(media):
        return None
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def content_type(response: Any) -> str:
    headers = response.headers
    value = headers.get("content-type") if hasattr(headers, "get") else None
    if isinstance(value, list):
        value = value[0] if value else ""
    return (value or "").lower()


def query_pairs(case: schemathesis.Case, response: Any) -> list[tuple[str, str]]:
    """The query as sent (from the request URL: what the host actually saw)."""
    url = getattr(getattr(response, "request", None), "url", None)
    if isinstance(url, str):
        return parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return [(k, str(v)) for k, v in (case.query or {}).items()]


def last_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    return dict(pairs)  # a repeated parameter collapses to its last value (§7.4)


def judged(case: schemathesis.Case, *op_ids: str) -> str | None:
    if not is_ours(case.operation):
        return None
    op_id = operation_id(case.operation)
    return op_id if not op_ids or op_id in op_ids else None
