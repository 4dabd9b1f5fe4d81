"""Preflight: turn a misconfigured host, key or project into one sentence before any test runs.

Why: without it, a wrong key or project id fails every test with the same 401/404, burying the one
thing the user has to change. Preflight makes at most three quick requests and either returns the
facts the suite needs (project id, project key, who the key belongs to) or raises ConfigError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from .client import ContractClient, RateLimitExhausted
from .config import ConfigError, Settings
from .policy import HostViolation
from .redaction import Redactor

__all__ = ["HostFacts", "preflight"]

_PREFLIGHT_TIMEOUT = 5.0  # per request: a misconfigured run must end within 10 s, even on a silent host
_MISSING_SCOPE = re.compile(r"missing required scope '([^']+)'", re.IGNORECASE)


@dataclass(frozen=True)
class HostFacts:
    """What preflight learned about the host; ``notes`` are non-fatal observations for the report."""

    project_id: str
    project_name: str | None
    project_api_key: str | None
    user_uuid: str | None
    user_email: str | None
    version: str | None
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the project key stays out of pytest output
        key = "None" if self.project_api_key is None else "'[set]'"
        return (
            f"HostFacts(project_id={self.project_id!r}, project_name={self.project_name!r}, "
            f"project_api_key={key}, user_uuid={self.user_uuid!r}, user_email={self.user_email!r}, "
            f"version={self.version!r}, notes={self.notes!r})"
        )


def preflight(client: ContractClient, settings: Settings, *, needs_events: bool = False) -> HostFacts:
    """Check host, key and project in that order; raise ConfigError with one sentence on the first fault.

    ``needs_events``: the selected tests list events, so the key's ``query:read`` scope is probed too.
    """
    timeout = min(settings.timeout, _PREFLIGHT_TIMEOUT)
    redactor = client.redactor
    host = client.redactor.url(settings.base_url or client.base_url or "(no host)")
    notes: list[str] = []
    version: str | None = None

    def get(path: str, **params: Any) -> httpx.Response:
        try:
            return client.get(path, params=params or None, timeout=timeout)
        except httpx.TimeoutException:
            raise ConfigError(
                f"Cannot reach POSTHOG_HOST {host}: no answer within {timeout:g} s. Check POSTHOG_HOST.",
                option="POSTHOG_HOST",
            ) from None
        except httpx.TransportError as exc:
            raise ConfigError(
                f"Cannot reach POSTHOG_HOST {host}: {_reason(exc, client)}. Check POSTHOG_HOST.",
                option="POSTHOG_HOST",
            ) from None
        except RateLimitExhausted as exc:
            raise ConfigError(
                f"The host rate-limited the preflight request ({exc}): wait and retry, or raise "
                "POSTHOG_MAX_RETRY_WAIT.",
                option="POSTHOG_MAX_RETRY_WAIT",
            ) from None
        except HostViolation as exc:  # an answer past the size cap or the deadline: no run on such a host
            raise ConfigError(
                f"The host's answer to the preflight request broke the suite's bounds ({exc}); check POSTHOG_HOST.",
                option="POSTHOG_HOST",
            ) from None

    # 1. The key and the user behind it.
    me_response = get("/api/users/@me/")
    version = _version(me_response)
    _common_faults(me_response, host, redactor, "GET /api/users/@me/")
    me: dict[str, Any] = {}
    if me_response.status_code == 200:
        me = _json_object(me_response, host, "GET /api/users/@me/")
    elif me_response.status_code == 403:
        notes.append(
            f"GET /api/users/@me/ answered 403 ({_detail(me_response, redactor)}); user facts unknown, "
            "collaborator discovery may be unavailable"
        )
    else:
        notes.append(f"GET /api/users/@me/ answered {me_response.status_code}; user facts unknown")
    team = me.get("team") if isinstance(me.get("team"), dict) else {}

    # 2. The project.
    project_id = settings.project_id
    project_name: str | None = None
    listed_key: str | None = None
    if project_id is None:
        project_id, project_name, listed_key = _discover_project(get, host, redactor, team, notes)
    elif team and _same_project(project_id, team):
        project_name = _str(team.get("name"))

    # 3. The project is reachable with this key (dashboard:read is the scope every run needs).
    dashboards = get(f"/api/projects/{project_id}/dashboards/", limit=1)
    version = version or _version(dashboards)
    _common_faults(dashboards, host, redactor, f"GET /api/projects/{project_id}/dashboards/")
    if dashboards.status_code == 404:
        if not _is_json(dashboards):
            raise ConfigError(
                f"GET /api/projects/{project_id}/dashboards/ on {host} answered 404 without PostHog's JSON "
                "error body: check that POSTHOG_HOST is the PostHog API host.",
                option="POSTHOG_HOST",
            )
        raise ConfigError(
            f"Project {project_id} not found on the host: check POSTHOG_PROJECT_ID.",
            option="POSTHOG_PROJECT_ID",
        )
    if dashboards.status_code == 403:
        detail = _detail(dashboards, redactor)
        scope = _MISSING_SCOPE.search(detail)
        if scope:
            raise ConfigError(
                f"POSTHOG_PERSONAL_API_KEY lacks the scope '{scope.group(1)}' the suite needs ({detail}): "
                "give the key that scope (or all scopes) in PostHog's personal API key settings.",
                option="POSTHOG_PERSONAL_API_KEY",
            )
        raise ConfigError(
            f"The key cannot access project {project_id} ({detail}): check POSTHOG_PROJECT_ID or the key's "
            "scopes.",
            option="POSTHOG_PROJECT_ID",
        )
    if dashboards.status_code != 200:
        raise ConfigError(
            f"GET /api/projects/{project_id}/dashboards/ on {host} answered {dashboards.status_code} "
            f"({_detail(dashboards, redactor)}): check POSTHOG_HOST and POSTHOG_PROJECT_ID.",
            option="POSTHOG_HOST",
        )
    _json_object(dashboards, host, f"GET /api/projects/{project_id}/dashboards/")

    # 3b. Event tests are selected: the key must also read events (query:read).
    if needs_events:
        _probe_events(client, project_id, timeout, redactor, notes)

    # 4. The project API key for capture.
    project_api_key = settings.project_api_key
    if project_api_key is None:
        if team and _same_project(project_id, team):
            project_api_key = _str(team.get("api_token"))
        project_api_key = project_api_key or listed_key
        if project_api_key is None:
            notes.append(
                "no project API key configured or discovered; capture checks need POSTHOG_PROJECT_API_KEY"
            )
    client.redactor.add(project_api_key)

    return HostFacts(
        project_id=project_id,
        project_name=project_name,
        project_api_key=project_api_key,
        user_uuid=_str(me.get("uuid")),
        user_email=_str(me.get("email")),
        version=version,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------------


def _probe_events(
    client: ContractClient, project_id: str, timeout: float, redactor: Redactor, notes: list[str]
) -> None:
    """A key without query:read fails every event test with the same 403: say so once, up front.

    Anything but a missing-scope 403 is left to the tests (an events query may be slow on a big
    project; that is not a misconfiguration).
    """
    path = f"/api/projects/{project_id}/events/"
    try:
        response = client.get(path, params={"limit": 1}, timeout=timeout)
    except (httpx.HTTPError, RateLimitExhausted, HostViolation) as exc:
        notes.append(f"GET {path} probe did not answer ({type(exc).__name__}); event checks will tell")
        return
    if response.status_code == 403:
        detail = _detail(response, redactor)
        scope = _MISSING_SCOPE.search(detail)
        if scope:
            raise ConfigError(
                f"POSTHOG_PERSONAL_API_KEY lacks the scope '{scope.group(1)}' the selected event tests need "
                f"({detail}): give the key that scope, or deselect the event tests.",
                option="POSTHOG_PERSONAL_API_KEY",
            )
    if response.status_code != 200:
        notes.append(f"GET {path} probe answered {response.status_code} ({_detail(response, redactor)})")


def _discover_project(
    get: Any, host: str, redactor: Redactor, team: dict[str, Any], notes: list[str]
) -> tuple[str, str | None, str | None]:
    """The key's only project via GET /api/projects/, else ConfigError asking for POSTHOG_PROJECT_ID."""
    response = get("/api/projects/")
    _common_faults(response, host, redactor, "GET /api/projects/")
    if response.status_code != 200:
        # A key without project:read can still name its current project through @me.
        if response.status_code == 404 and not _is_json(response):
            raise ConfigError(
                f"GET /api/projects/ on {host} answered 404 without PostHog's JSON error body: check that "
                "POSTHOG_HOST is the PostHog API host.",
                option="POSTHOG_HOST",
            )
        fallback = (team.get("project_id") or team.get("id")) if team else None
        if fallback is not None:
            notes.append(
                f"GET /api/projects/ answered {response.status_code} ({_detail(response, redactor)}); "
                f"using the key owner's current project {fallback} from /api/users/@me/"
            )
            return str(fallback), _str(team.get("name")), None
        raise ConfigError(
            f"Cannot discover the project: GET /api/projects/ answered {response.status_code} "
            f"({_detail(response, redactor)}); set POSTHOG_PROJECT_ID.",
            option="POSTHOG_PROJECT_ID",
        )
    body = _json_any(response, host, "GET /api/projects/")
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise ConfigError(
            f"GET /api/projects/ on {host} answered 200 without a project list: set POSTHOG_PROJECT_ID.",
            option="POSTHOG_PROJECT_ID",
        )
    projects = [p for p in results if isinstance(p, dict) and p.get("id") is not None]
    count = len(projects)
    if isinstance(body, dict) and isinstance(body.get("count"), int):
        count = body["count"]
    if count == 1 and len(projects) == 1:
        project = projects[0]
        return str(project["id"]), _str(project.get("name")), _str(project.get("api_token"))
    if count == 0:
        raise ConfigError(
            "The key sees no projects on the host: set POSTHOG_PROJECT_ID or use a key with project access.",
            option="POSTHOG_PROJECT_ID",
        )
    ids = ", ".join(str(p["id"]) for p in projects[:10])
    more = ", …" if count > 10 else ""
    raise ConfigError(
        f"Several projects are visible to the key: set POSTHOG_PROJECT_ID (the key sees {count} projects: "
        f"ids {ids}{more}).",
        option="POSTHOG_PROJECT_ID",
    )


def _common_faults(response: httpx.Response, host: str, redactor: Redactor, what: str) -> None:
    """Faults that mean the same thing on every preflight request: bad key, redirects, server errors."""
    status = response.status_code
    if status == 401:
        code = _code(response)
        raise ConfigError(
            f"The host rejected POSTHOG_PERSONAL_API_KEY (401{' ' + code if code else ''}): check the key.",
            option="POSTHOG_PERSONAL_API_KEY",
        )
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        raise ConfigError(
            f"{what} on {host} redirects ({status}) to {location}: set POSTHOG_HOST to the final address "
            "(the suite does not follow redirects).",
            option="POSTHOG_HOST",
        )
    if status >= 500:
        raise ConfigError(
            f"{what} on {host} failed with {status} ({_detail(response, redactor)}): check the host's "
            "health and POSTHOG_HOST.",
            option="POSTHOG_HOST",
        )


def _json_any(response: httpx.Response, host: str, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        ctype = response.headers.get("content-type") or "no content type"
        raise ConfigError(
            f"{what} on {host} answered {response.status_code} with {ctype}, not JSON: check that "
            "POSTHOG_HOST is the PostHog API host (e.g. https://us.posthog.com, not the capture host).",
            option="POSTHOG_HOST",
        ) from None


def _json_object(response: httpx.Response, host: str, what: str) -> dict[str, Any]:
    body = _json_any(response, host, what)
    if not isinstance(body, dict):
        raise ConfigError(
            f"{what} on {host} answered {response.status_code} with JSON that is not an object: check that "
            "POSTHOG_HOST is the PostHog API host.",
            option="POSTHOG_HOST",
        )
    return body


def _is_json(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def _detail(response: httpx.Response, redactor: Redactor) -> str:
    """The error envelope's detail, else a short body excerpt, redacted."""
    return redactor.text(_raw_detail(response))


def _raw_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field in ("detail", "error", "message"):
            if isinstance(body.get(field), str) and body[field]:
                return body[field][:200]
    text = response.text.strip().replace("\n", " ")
    return (text[:120] + "…" if len(text) > 120 else text) or "empty body"


def _code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return _str(body.get("code")) if isinstance(body, dict) else None


def _same_project(project_id: str, team: dict[str, Any]) -> bool:
    if project_id == "@current":
        return True
    return project_id in {str(team.get("id")), str(team.get("project_id"))}


def _version(response: httpx.Response) -> str | None:
    """The host's version if it says so: X-PostHog-Version, or a Server header that names PostHog."""
    value = response.headers.get("x-posthog-version")
    if value:
        return value.strip()
    server = response.headers.get("server", "")
    return server.strip() if "posthog" in server.lower() else None


def _reason(exc: Exception, client: ContractClient) -> str:
    """A network error as a short lowercase phrase ("connection refused")."""
    text = client.redactor.text(str(exc)).strip()
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    if not text:
        return type(exc).__name__
    return text[0].lower() + text[1:] if not text[:2].isupper() else text


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
