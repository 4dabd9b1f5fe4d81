"""``OPTIONS``: DRF's ``metadata`` action, and the CORS preflight in front of it (contract §1.3).

PostHog routes OPTIONS to DRF's ``APIView.options``, which answers ``SimpleMetadata``:
``{"name", "description", "renders", "parses"}`` (rest_framework/metadata.py, ``determine_metadata``).
``name`` is DRF's ``get_view_name``: the viewset class name without ``ViewSet``, in words, plus the
route's suffix ("List" / "Instance"), or the ``@action``'s own name ("Move tile"); ``description`` the
class docstring (``DashboardsViewSet`` has none), so ``""``. ``renders`` lists the view's renderers
(``DashboardsViewSet``: ``SafeJSONRenderer``, ``ServerSentEventRenderer``; events add drf-csv's),
``parses`` DRF's default parsers (JSON, form, multipart; ``create_from_template_json`` parses JSON only).
PostHog adds no ``actions`` for a scoped personal key.

Permissions run first, as for any action: no key 401, then PostHog's ``APIScopePermission`` asks for the
route's **read** scope (posthog/permissions.py, ``ScopeBasePermission._get_required_scopes``: ``if
view.action == "metadata" or request.method == "OPTIONS": return [f"{scope_object}:read"]``), so a key
without it gets the 403 missing-scope envelope; OPTIONS is never 405. A CORS preflight (an OPTIONS
carrying ``Access-Control-Request-Method``) never reaches DRF: django-cors-headers' ``CorsMiddleware``
answers it first, 200 with an empty body and no authentication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from . import errors, mutants
from .auth import authorize
from .errors import json_response

_OPTIONS_KILLER = "tests/test_auth.py::test_options_is_the_metadata_action_under_the_read_scope"
OPTIONS_500 = mutants.declare(
    "options_500", "OPTIONS is DRF's metadata action: 200 under the route's read scope, never a 5xx (§1.3)",
    killed_by=(_OPTIONS_KILLER,),
)
OPTIONS_405 = mutants.declare(
    "options_405", "OPTIONS is DRF's metadata action: 200 under the route's read scope, never 405 (§1.3)",
    killed_by=(_OPTIONS_KILLER,),
)

JSON = "application/json"
DEFAULT_PARSES = (JSON, "application/x-www-form-urlencoded", "multipart/form-data")
DASHBOARD_RENDERS = (JSON, "text/event-stream")


@dataclass(frozen=True)
class View:
    """What DRF's ``SimpleMetadata`` says about one route, and the read scope OPTIONS needs there."""

    name: str
    scope: str
    renders: tuple[str, ...] = (JSON,)
    parses: tuple[str, ...] = DEFAULT_PARSES
    description: str = ""

    @property
    def project(self) -> bool:
        """Whether the route sits under a project (``{project_id}`` resolved, key restrictions applied)."""
        return self.scope.split(":")[0] in ("dashboard", "sharing_configuration", "query")


#: route template (the project prefix left out) -> the view answering OPTIONS there
VIEWS: dict[str, View] = {
    "/dashboards": View("Dashboards List", "dashboard:read", DASHBOARD_RENDERS),
    "/dashboards/create_from_template_json": View(
        "Create from template json", "dashboard:read", DASHBOARD_RENDERS, (JSON,)
    ),
    "/dashboards/{id}": View("Dashboards Instance", "dashboard:read", DASHBOARD_RENDERS),
    "/dashboards/{id}/move_tile": View("Move tile", "dashboard:read", DASHBOARD_RENDERS),
    "/dashboards/{dashboard_id}/sharing": View("Sharing Configuration List", "sharing_configuration:read"),
    "/dashboards/{dashboard_id}/sharing/refresh": View("Refresh", "sharing_configuration:read"),
    "/dashboards/{dashboard_id}/collaborators": View("Dashboard Collaborator List", "dashboard:read"),
    "/dashboards/{dashboard_id}/collaborators/{user_uuid}": View("Dashboard Collaborator Instance", "dashboard:read"),
    "/events": View("Event List", "query:read", (JSON, "text/csv")),
    "/events/{event_id}": View("Event Instance", "query:read", (JSON, "text/csv")),
    "/api/users/@me": View("User Instance", "user:read"),
    "/api/organizations/@current": View("Organization Instance", "organization:read"),
    "/api/organizations/@current/members": View("Organization Member List", "organization_member:read"),
    "/api/projects": View("Project List", "project:read"),
}

_PROJECT_PREFIX = re.compile(r"^/api/(?:projects|environments)/\{project_id\}")


def view_for(template: str | None) -> View | None:
    """The view answering OPTIONS on a matched route template, or None (capture, the schema: no DRF view)."""
    if template is None:
        return None
    return VIEWS.get(_PROJECT_PREFIX.sub("", template))


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    """django-cors-headers' test: an OPTIONS carrying ``Access-Control-Request-Method``."""
    return method == "OPTIONS" and "access-control-request-method" in headers


def preflight() -> Response:
    """``CorsMiddleware``'s own answer: 200, empty, before any authentication (CORS headers omitted:
    they depend on the host's allowed origins, which the contract does not fix)."""
    return Response(b"", status_code=200)


async def options(request: Request, view: View) -> Response:
    """DRF's ``options`` handler: permissions (the read scope), then ``SimpleMetadata``."""
    await authorize(request, view.scope, project=view.project)
    if mutants.active(OPTIONS_500):
        raise errors.server_error()
    if mutants.active(OPTIONS_405):
        raise errors.method_not_allowed("OPTIONS")
    return json_response(
        {"name": view.name, "description": view.description, "renders": list(view.renders),
         "parses": list(view.parses)}
    )
