"""PostHog's REST error envelope (drf-exceptions-hog) and the few bodies that break it.

Every REST error is ``{"type", "code", "detail", "attr"}`` (contract §1.2). Handlers raise
:class:`ApiError`; the app turns it into a response. :class:`RawResponse` carries the envelope
exceptions (the empty DELETE 405, the event-retrieve "Invalid UUID" body, capture errors).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response (PostHog sends ``application/json``)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return Response(body, status_code=status, media_type="application/json", headers=dict(headers or {}))


def empty_response(status: int) -> Response:
    """A response with no body and no content type (204, and the dashboard DELETE 405)."""
    return Response(b"", status_code=status)


class ApiError(Exception):
    """An error answered with the PostHog envelope."""

    def __init__(
        self,
        status: int,
        type_: str,
        code: str,
        detail: str,
        attr: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.type, self.code, self.detail, self.attr = status, type_, code, detail, attr
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"type": self.type, "code": self.code, "detail": self.detail, "attr": self.attr}

    def response(self) -> Response:
        return json_response(self.body(), self.status, self.headers)


class RawResponse(Exception):
    """Short-circuits a handler with a ready response (bodies that are not the envelope)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def validation_error(detail: str, *, attr: str | None = None, code: str = "invalid_input") -> ApiError:
    """400 ``validation_error``; DRF's ``invalid`` code is renamed ``invalid_input`` by PostHog."""
    return ApiError(400, "validation_error", "invalid_input" if code == "invalid" else code, detail, attr)


def required(attr: str) -> ApiError:
    return validation_error("This field is required.", attr=attr, code="required")


def parse_error(reason: str) -> ApiError:
    return ApiError(400, "invalid_request", "parse_error", f"JSON parse error - {reason}")


def not_authenticated() -> ApiError:
    return ApiError(401, "authentication_error", "not_authenticated", "Authentication credentials were not provided.")


def authentication_failed(source: str) -> ApiError:
    """``source`` is where the key was found: "Authorization header", "request body", "query string"."""
    return ApiError(
        401,
        "authentication_error",
        "authentication_failed",
        f"Personal API key found in request {source} is invalid.",
    )


def permission_denied(detail: str) -> ApiError:
    return ApiError(403, "authentication_error", "permission_denied", detail)


def not_found(detail: str = "Not found.") -> ApiError:
    return ApiError(404, "invalid_request", "not_found", detail)


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "invalid_request", "method_not_allowed", f'Method "{method}" not allowed.')


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415, "invalid_request", "unsupported_media_type", f'Unsupported media type "{content_type}" in request.'
    )


def payload_too_large(limit: int) -> ApiError:
    """Reference choice: PostHog's Django front rejects oversize bodies too; the envelope keeps it uniform."""
    return ApiError(413, "invalid_request", "payload_too_large", f"Request body exceeds the limit of {limit} bytes.")


def throttled(wait_seconds: int) -> ApiError:
    return ApiError(
        429,
        "throttled_error",
        "throttled",
        f"Request was throttled. Expected available in {wait_seconds} seconds.",
        headers={"Retry-After": str(wait_seconds)},
    )


def server_error() -> ApiError:
    return ApiError(500, "server_error", "error", "A server error occurred.")
