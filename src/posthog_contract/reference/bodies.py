"""Request bodies as DRF parses them: JSON, form-urlencoded or multipart (contract §1.1)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from . import errors


async def raw_body(request: Request) -> bytes:
    """The body, refused with 413 past the server's limit, never held beyond it.

    Read chunk by chunk: a chunked body (no Content-Length) used to be buffered whole before its size
    was checked, so one 300 MB upload cost 300 MB of memory. The body is then kept where Starlette
    keeps it, so later ``request.body()`` / ``request.form()`` calls reuse it.
    """
    cached = getattr(request, "_body", None)
    limit = request.app.state.options.max_body_bytes
    if cached is not None:
        if len(cached) > limit:
            raise errors.payload_too_large(limit)
        return cached
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.payload_too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise errors.payload_too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's own cache attribute: body() and form() read it from here
    return body


async def read_data(request: Request) -> dict[str, Any]:
    """The body as a dict: ``{}`` when empty; 400 on malformed JSON or a non-object; 415 on other types.

    Only a body of no bytes is empty (DRF's ``Request._load_stream``: ``content_length == 0``); one of
    whitespace alone is JSON that ``json.loads`` refuses, a 400 ``parse_error`` (a form feed used to be
    read as ``{}``: seed 112 of the issue-22 sweep created a dashboard from it).
    """
    body = await raw_body(request)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if not body:  # DRF: only a zero-length body is no data (Request._load_stream); " " is a JSON parse error
        return {}
    if media in ("application/json", "") or media.endswith("+json"):
        try:
            data = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise errors.parse_error(str(exc)) from None
    elif media == "application/x-www-form-urlencoded":
        try:
            data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise errors.parse_error("form body is not UTF-8") from None
    elif media == "multipart/form-data":
        try:
            form = await request.form()
        except Exception as exc:  # the multipart parser's own errors are all client errors
            raise errors.ApiError(
                400, "invalid_request", "parse_error", f"Multipart form parse error - {exc}"
            ) from None
        data = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        raise errors.unsupported_media_type(content_type)
    if not isinstance(data, dict):
        raise errors.validation_error(f"Invalid data. Expected a dictionary, but got {type(data).__name__}.")
    return data


def _refuse_constant(name: str) -> Any:
    """DRF's strict JSON: ``NaN`` and ``Infinity`` are parse errors."""
    raise ValueError("Out of range float values are not JSON compliant")


def is_form(request: Request) -> bool:
    """Whether the body is a form (DRF's ``html.is_html_input``): its blank fields read as null or absent."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return media in ("application/x-www-form-urlencoded", "multipart/form-data")


async def form_values(request: Request, key: str) -> list[str] | None:
    """Every value of a repeated form field (DRF's ``getlist``); None when the body is not a form."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        body = await request.body()
        try:
            return [v for k, v in parse_qsl(body.decode("utf-8"), keep_blank_values=True) if k == key]
        except UnicodeDecodeError:
            return None
    if media == "multipart/form-data":
        form = await request.form()
        return [v for v in form.getlist(key) if isinstance(v, str)]
    return None


def form_bool(value: Any) -> Any:
    """Form fields arrive as strings; DRF's BooleanField reads these spellings."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on", "t", "y"):
            return True
        if lowered in ("false", "0", "no", "off", "f", "n", ""):
            return False
    return value
