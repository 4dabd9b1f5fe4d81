"""Personal API keys, scopes, project access and rate limits (contract §1.3-§1.5, §1.8).

``authorize`` applies PostHog's order: 401 -> 429 -> project 404 / key restriction 403 -> scope 403
-> membership 403. Handlers receive a :class:`Ctx` with everything they may need.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request

from . import errors, mutants
from .bodies import raw_body
from .options import Rate
from .storage import Database

MISSING_KEY_ACCEPTED = mutants.declare(
    "missing_key_accepted", "a request without credentials must be 401 not_authenticated (§1.3)"
)
READONLY_KEY_MAY_WRITE = mutants.declare(
    "readonly_key_may_write", "a key without the :write scope must get 403 permission_denied (§1.4)"
)
OTHER_PROJECT_SERVED = mutants.declare(
    "other_project_served", "a project of another organisation must answer 403 (§1.5)"
)
CURRENT_ALIAS_UNSUPPORTED = mutants.declare(
    "current_project_alias_unsupported", "`@current` as project id names the key owner's current project (§1.1)"
)
NON_INTEGER_PROJECT_500 = mutants.declare(
    "non_integer_project_500", "a project id that is neither an integer nor @current is 404, not 500 (§1.1)"
)
OTHER_PROJECT_404 = mutants.declare(
    "other_project_404", "a project of another organisation answers 403, not 404 (§1.5)",
    killed_by=("tests/test_auth.py::test_another_organisations_project_is_refused",),
)
READ_SCOPE_REFUSED = mutants.declare(
    "read_scope_refused", "a key with dashboard:read lists dashboards (§1.4)",
    killed_by=("tests/test_auth.py::test_readonly_key_can_read_dashboards",),
)
AUTH_403_FOR_401 = mutants.declare(
    "invalid_key_is_403", "an unknown personal API key must be 401 authentication_failed, not 403 (§1.3)"
)
_REFUSALS = "tests/test_writes.py::test_every_write_"
READONLY_MAY_PUT = mutants.declare(
    "readonly_key_may_put", "PUT needs dashboard:write like PATCH (§1.4)",
    killed_by=(f"{_REFUSALS}refuses_a_read_only_key[dashboards_update]",),
)
READONLY_MAY_REMOVE_COLLABORATOR = mutants.declare(
    "readonly_key_may_remove_collaborator", "removing a collaborator needs dashboard:write (§1.4)",
    killed_by=(f"{_REFUSALS}refuses_a_read_only_key[dashboards_collaborators_destroy]",),
)
OTHER_PROJECT_WRITES_404 = mutants.declare(
    "other_project_writes_404", "a write to another organisation's project is 403, like a read (§1.5)",
    killed_by=(f"{_REFUSALS}to_another_organisations_project_is_403",),
)
ANONYMOUS_PUT_404 = mutants.declare(
    "anonymous_put_404", "PUT without credentials is 401 before any lookup (§1.3, §1.5)",
    killed_by=("tests/test_writes.py::test_every_operation_refuses_a_request_without_a_key[dashboards_update]",),
)

DASHBOARD_READ, DASHBOARD_WRITE = "dashboard:read", "dashboard:write"
SHARING_READ, SHARING_WRITE = "sharing_configuration:read", "sharing_configuration:write"
QUERY_READ = "query:read"
NO_SCOPE = None  # the action declares no scope: personal keys are refused


@dataclass
class Ctx:
    """Who is calling, about which project, with which database."""

    request: Request
    db: Database
    user: sqlite3.Row
    key: sqlite3.Row
    project: sqlite3.Row | None
    organization: sqlite3.Row | None
    membership_level: int | None

    @property
    def project_id(self) -> int:
        assert self.project is not None
        return int(self.project["id"])

    @property
    def is_org_admin(self) -> bool:
        return (self.membership_level or 0) >= 8


def scope_granted(scopes: list[str], required: str) -> bool:
    """``*`` grants everything; ``x:write`` implies ``x:read``."""
    if "*" in scopes or required in scopes:
        return True
    resource, _, action = required.partition(":")
    return action == "read" and f"{resource}:write" in scopes


class RateLimiter:
    """Sliding windows per (key, class); answers the seconds to wait, or 0."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, int], deque[float]] = {}

    def wait_seconds(self, key: str, klass: str, rates: tuple[Rate, ...]) -> int:
        moment = time.monotonic()
        waits = []
        for rate in rates:
            window = self._hits.setdefault((key, klass, rate.period), deque())
            while window and window[0] <= moment - rate.period:
                window.popleft()
            if len(window) >= rate.count:
                waits.append(max(1, math.ceil(window[0] + rate.period - moment)))
        if waits:
            return max(waits)
        for rate in rates:
            self._hits[(key, klass, rate.period)].append(moment)
        return 0


def _find_key(request: Request, body: bytes) -> tuple[str, str] | None:
    """PostHog tries the header, then the body, then the query string; only the first key found."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), "Authorization header"
        return None
    if body and request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("personal_api_key"), str):
            return data["personal_api_key"], "request body"
    query = parse_qs(request.url.query)
    if query.get("personal_api_key"):
        return query["personal_api_key"][0], "query string"
    return None


async def authenticate(request: Request) -> tuple[sqlite3.Row, sqlite3.Row]:
    """The key row and its user, or 401."""
    db: Database = request.app.state.db
    # the body is only consulted without an Authorization header, and then read within the size limit
    body = b"" if "authorization" in request.headers else await raw_body(request)
    found = _find_key(request, body)
    if found is None:
        if mutants.active(MISSING_KEY_ACCEPTED):
            key = db.one("SELECT * FROM personal_keys WHERE label = 'full'")
            return key, db.one("SELECT * FROM users WHERE id = ?", (key["user_id"],))
        raise errors.not_authenticated()
    value, source = found
    key = db.one("SELECT * FROM personal_keys WHERE value = ?", (value,))
    user = None if key is None else db.one("SELECT * FROM users WHERE id = ? AND is_active = 1", (key["user_id"],))
    if key is None or user is None:
        if mutants.active(AUTH_403_FOR_401):
            raise errors.permission_denied("Invalid API key.")
        raise errors.authentication_failed(source)
    return key, user


def _throttle(request: Request, key: sqlite3.Row, klass: str) -> None:
    options = request.app.state.options
    rates = options.events_rate_limits if klass == "events" else options.rate_limits
    wait = request.app.state.rate_limiter.wait_seconds(key["value"], klass, rates)
    if wait:
        raise errors.throttled(wait)


def resolve_project(db: Database, raw: str, user: sqlite3.Row) -> sqlite3.Row:
    """``project_id`` is an integer or ``@current``; anything else or unknown is 404."""
    if raw == "@current" and not mutants.active(CURRENT_ALIAS_UNSUPPORTED):
        project_id = user["current_project_id"]
    elif raw.isdigit() and len(raw) < 19:  # beyond SQLite's 64-bit integers no project can exist
        project_id = int(raw)
    else:
        if mutants.active(NON_INTEGER_PROJECT_500) and not raw.isdigit():
            raise errors.server_error()
        raise errors.not_found("Project not found.")
    project = db.one("SELECT * FROM projects WHERE id = ?", (project_id,))
    if project is None:
        raise errors.not_found("Project not found.")
    return project


def membership_level(db: Database, organization_id: str, user_id: int) -> int | None:
    return db.scalar(
        "SELECT level FROM memberships WHERE organization_id = ? AND user_id = ?", (organization_id, user_id)
    )


def is_legacy(key: sqlite3.Row) -> bool:
    """A key from before scopes: PostHog lets it do anything (posthog/permissions.py, APIScopePermission)."""
    return not json.loads(key["scopes"])


def require_scope(key: sqlite3.Row, scope: str | None) -> None:
    scopes = json.loads(key["scopes"])
    if not scopes:  # legacy unscoped key: "allowed to do anything, even if the view is unsupported"
        return
    if scope is None:
        raise errors.permission_denied("This action does not support personal API key access")
    if mutants.active(READ_SCOPE_REFUSED) and "*" not in scopes and scope.endswith(":read"):
        raise errors.permission_denied(f"API key missing required scope '{scope}'")
    if scope_granted(scopes, scope):
        return
    if mutants.active(READONLY_KEY_MAY_WRITE) and scope.endswith(":write"):
        return
    raise errors.permission_denied(f"API key missing required scope '{scope}'")


async def authorize(request: Request, scope: str | None, *, klass: str = "default", project: bool = True) -> Ctx:
    """Authenticate, throttle, resolve ``{project_id}`` and check scope and membership, in PostHog's order."""
    db: Database = request.app.state.db
    if mutants.active(ANONYMOUS_PUT_404) and request.method == "PUT" and "authorization" not in request.headers:
        raise errors.not_found()  # looked the object up before authenticating
    key, user = await authenticate(request)
    _throttle(request, key, klass)
    if not project:
        require_scope(key, scope)
        return Ctx(request, db, user, key, None, None, None)
    row = resolve_project(db, request.path_params["project_id"], user)
    teams = key["scoped_teams"]
    if teams is not None and row["id"] not in json.loads(teams):
        raise errors.permission_denied(f"API key does not have access to the requested project: ID {row['id']}.")
    lenient = (mutants.active(READONLY_MAY_PUT) and request.method == "PUT") or (
        mutants.active(READONLY_MAY_REMOVE_COLLABORATOR) and request.method == "DELETE"
        and "/collaborators/" in request.url.path
    )
    if not lenient:
        require_scope(key, scope)
    organization = db.one("SELECT * FROM organizations WHERE id = ?", (row["organization_id"],))
    level = membership_level(db, row["organization_id"], user["id"])
    if level is None:
        if mutants.active(OTHER_PROJECT_404) or (
            mutants.active(OTHER_PROJECT_WRITES_404) and request.method not in ("GET", "HEAD", "OPTIONS")
        ):
            raise errors.not_found("Project not found.")
        if not mutants.active(OTHER_PROJECT_SERVED):
            raise errors.permission_denied("You don't have access to the project.")
        level = 1
    return Ctx(request, db, user, key, row, organization, level)


NO_ACTION_GENERIC_403 = mutants.declare(
    "no_action_403_generic_detail",
    "a personal key on a method without an action is refused with 'does not support personal API key access' (§1.4)",
    killed_by=(
        "tests/test_auth.py::test_a_method_without_an_action_is_refused",
        "tests/test_property_based.py",
        "tests/test_collaborators.py::test_patch_a_collaborator_is_refused",
    ),
)


def _scope_object(path: str) -> str:
    """The viewset's ``scope_object`` for a project path (sharing, events: their own; else dashboard)."""
    if "/sharing" in path:
        return "sharing_configuration"
    return "query" if "/events" in path else "dashboard"


def undeclared_method_scope(request: Request) -> str | None:
    """The scope PostHog requires for a method the route maps to no action (§1.4 "Methods without an action").

    PostHog source: ``posthog/permissions.py``, ``ScopeBasePermission._get_action`` /
    ``_get_required_scopes``: DRF sets ``view.action = None`` for an unmapped method, except that
    PATCH on a non-detail route counts as the ``patch`` write action; with no action there is no
    required scope, and ``APIScopePermission.has_permission`` refuses a scoped key with 403 "This
    action does not support personal API key access" before DRF's 405. A legacy unscoped key
    passes (:func:`require_scope`) and gets the 405. (PostHog answers OPTIONS with DRF's metadata
    under the read scope; the reference keeps refusing it like a method without an action.)
    """
    scope_object = _scope_object(request.url.path)
    template = request.app.router.template_for(request.url.path) or ""
    if request.method == "PATCH" and not template.endswith("}"):
        return f"{scope_object}:write"
    return NO_SCOPE


async def refuse_undeclared_method(request: Request) -> None:
    """Authenticate and check the scope of a method the route has no handler for; the caller answers 405."""
    scope = undeclared_method_scope(request)
    if scope is NO_SCOPE and mutants.active(NO_ACTION_GENERIC_403):
        await authorize(request, DASHBOARD_READ)
        raise errors.permission_denied("You do not have permission to perform this action.")
    await authorize(request, scope)
