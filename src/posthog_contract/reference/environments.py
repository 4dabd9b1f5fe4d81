"""``/api/environments/``: PostHog's deprecation of the documented prefix (contract §1.9).

PostHog source: ``posthog/middleware.py``. ``EnvironmentsRewriteMiddleware`` (today's PostHog, the
default here) rewrites ``/api/environments/*`` to ``/api/projects/*`` in-process, "deliberately NOT a
307/308: many API clients (httpx, Guzzle, ...) don't follow redirects", so every URL the handler builds
(pagination ``next``) names ``/api/projects/``, and adds to the answer ``Deprecation: true``,
``Link: </api/projects/...?same query>; rel="successor-version"`` and, when the setting
``API_ENVIRONMENTS_SUNSET_DATE`` is set (default ``"2026-07-31"``, posthog/settings/web.py), ``Sunset``
as an HTTP-date (``http_date``; PostHog's tests: ``Fri, 31 Jul 2026 00:00:00 GMT``). Only paths whose
``/api/projects`` form resolves to a route are rewritten; the others pass through untouched, without
headers. The earlier ``EnvironmentsRedirectMiddleware`` answers **307** with the same headers and a
relative ``Location: /api/projects/...?same query`` while the ``api-environments-redirect`` flag is on
for the team (PostHog's tests: ``test_environments_redirect.py``), and otherwise serves the request on
the legacy route with the headers. Releases before the deprecation serve the prefix directly.

``--environments rewrite|redirect|headers|direct`` chooses; ``--sunset-date`` sets (or, empty, omits)
the ``Sunset``. Both sit in front of authentication and throttling, as PostHog's middleware does.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import quote

from starlette.responses import Response

from . import mutants

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ENVIRONMENTS = "/api/environments"
PROJECTS = "/api/projects"
#: the scope key holding the path as the client sent it (the rewrite replaces ``scope["path"]``)
SENT_PATH = "posthog_contract.sent_path"

REDIRECT_OTHER_PROJECT = mutants.declare(
    "environments_307_to_another_project",
    "a 307 from /api/environments/ names the same project's /api/projects/ successor, never another project (§1.9)",
    killed_by=("tests/test_dashboards.py::test_both_prefixes_serve_the_same_dashboard", "tests/test_stateful.py"),
)
REDIRECT_OTHER_ORIGIN = mutants.declare(
    "environments_307_to_another_origin",
    "a 307 from /api/environments/ stays on the host's origin; the key must never follow it elsewhere (§1.9)",
    killed_by=("tests/test_dashboards.py::test_both_prefixes_serve_the_same_dashboard", "tests/test_stateful.py"),
)
HEADERS_DROPPED = mutants.declare(
    "environments_deprecation_headers_dropped",
    "today's PostHog answers /api/environments/ with Deprecation, Link and Sunset (§1.9)",
    killed_by=("tests/test_deprecation.py::test_the_documented_prefix_announces_its_successor",),
)
LINK_OTHER_PROJECT = mutants.declare(
    "environments_successor_link_names_another_project",
    "the successor-version Link names the same project's /api/projects/ path (§1.9)",
    killed_by=("tests/test_deprecation.py::test_the_documented_prefix_announces_its_successor",),
)
SUNSET_NOT_HTTP_DATE = mutants.declare(
    "environments_sunset_not_an_http_date",
    "Sunset is an RFC 8594 HTTP-date (Fri, 31 Jul 2026 00:00:00 GMT), not an ISO date (§1.9)",
    killed_by=("tests/test_deprecation.py::test_the_documented_prefix_announces_its_successor",),
)


class _Routes(Protocol):
    def template_for(self, path: str) -> str | None: ...


def sunset_http_date(value: str | None) -> str | None:
    """PostHog's ``_sunset_http_date``: the setting as an HTTP-date; unset or unparsable: no header."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return formatdate(moment.timestamp(), usegmt=True)


def successor_path(path: str, routes: _Routes) -> str | None:
    """The ``/api/projects`` path serving ``path``, or None (not the prefix, or no projects route)."""
    if path != ENVIRONMENTS and not path.startswith(ENVIRONMENTS + "/"):
        return None
    target = PROJECTS + path[len(ENVIRONMENTS) :]
    template = routes.template_for(target)
    return target if template is not None and template.startswith(PROJECTS) else None


def _other_project(path: str) -> str:
    """``path`` with its project segment naming another project (the mutants' wrong successor)."""
    return re.sub(r"^(/api/projects/)([^/]+)", lambda m: m.group(1) + ("1" if m.group(2) == "2" else "2"), path)


@dataclass
class Deprecation:
    """What the middleware decided for one request: a ready 307, headers to add, or nothing."""

    redirect: Response | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def apply(self, response: Response) -> Response:
        for name, value in self.headers.items():
            response.headers[name] = header_value(value)
        return response


def header_value(value: str) -> str:
    """Django's header rule (``ResponseHeaders._convert_to_charset``, ``mime_encode=True``): latin-1 as is,
    anything else as an RFC 2047 encoded word. The Link names the decoded request path, which a client
    may have filled with any character. Control characters are percent-encoded: Django raises
    ``BadHeaderError`` on a CR or LF there (a 500 from PostHog's middleware, §1.7), the reference keeps
    the request's own answer."""
    value = _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", value)
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return Header(value, "utf-8", maxlinelen=sys.maxsize).encode()
    return value


def iri_to_uri(iri: str) -> str:
    """Django's ``iri_to_uri``, which ``HttpResponseRedirect`` applies to ``Location``."""
    return quote(iri, safe="/#%[]=:;$&()+,!?*@'~")


def route(scope: dict[str, Any], routes: _Routes, mode: str, sunset_date: str | None,
          other_origin: str | None = None) -> Deprecation:
    """Apply the ``--environments`` mode to one request; a rewrite replaces ``scope["path"]``."""
    scope.setdefault(SENT_PATH, scope["path"])
    forced = mutants.active(REDIRECT_OTHER_PROJECT) or mutants.active(REDIRECT_OTHER_ORIGIN)
    if mode == "direct" and not forced:
        return Deprecation()
    successor = successor_path(scope["path"], routes)
    if successor is None:
        return Deprecation()
    query = scope.get("query_string", b"").decode("latin-1")
    target = f"{successor}?{query}" if query else successor
    link_target = _other_project(target) if mutants.active(LINK_OTHER_PROJECT) else target
    headers = {"Deprecation": "true", "Link": f'<{link_target}>; rel="successor-version"'}
    sunset = sunset_http_date(sunset_date)
    if sunset and mutants.active(SUNSET_NOT_HTTP_DATE):
        sunset = str(sunset_date)
    if sunset:
        headers["Sunset"] = sunset
    if mutants.active(HEADERS_DROPPED):
        headers = {}
    if mutants.active(REDIRECT_OTHER_PROJECT):
        return Deprecation(_redirect(_other_project(target), headers), headers)
    if mutants.active(REDIRECT_OTHER_ORIGIN):
        return Deprecation(_redirect(f"{other_origin or 'http://127.0.0.1:9'}{target}", headers), headers)
    if mode == "redirect":
        return Deprecation(_redirect(target, headers), headers)
    if mode == "rewrite":
        scope["path"] = successor
    return Deprecation(None, headers)


def _redirect(location: str, headers: dict[str, str]) -> Response:
    """Django's redirect response: 307 (method and body survive), empty HTML body, ``Location`` as given."""
    response = Response(b"", status_code=307, headers={"Location": iri_to_uri(location)},
                        media_type="text/html; charset=utf-8")
    return Deprecation(None, headers).apply(response)
