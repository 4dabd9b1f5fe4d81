"""The ``/api/environments/`` deprecation of today's PostHog (contract §1.9), over HTTP only.

PostHog source: ``posthog/middleware.py`` (``EnvironmentsRewriteMiddleware``, and the earlier
``EnvironmentsRedirectMiddleware``), PostHog's tests ``test_environments_rewrite.py`` /
``test_environments_redirect.py``, and the setting ``API_ENVIRONMENTS_SUNSET_DATE`` (default 2026-07-31).
"""

from __future__ import annotations

import uuid
from email.header import decode_header
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

SUNSET = "Fri, 31 Jul 2026 00:00:00 GMT"


def deprecation(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in ("Deprecation", "Link", "Sunset")}


def link_target(response: httpx.Response) -> str:
    link = response.headers["Link"]
    assert link.endswith('>; rel="successor-version"') and link.startswith("<"), link
    return link[1 : link.index(">")]


# --- default: the rewrite build ------------------------------------------------------------------------


def test_environments_answers_carry_deprecation_link_and_sunset(api, env_base, base):
    response = api.get(f"{env_base}/dashboards/", params={"limit": 1})
    assert response.status_code == 200
    assert response.headers["Deprecation"] == "true" and response.headers["Sunset"] == SUNSET
    assert link_target(response) == f"{base}/dashboards/?limit=1"
    assert "location" not in response.headers


def test_projects_answers_carry_no_deprecation(api, base):
    response = api.get(f"{base}/dashboards/")
    assert response.status_code == 200
    assert deprecation(response) == {"Deprecation": None, "Link": None, "Sunset": None}


def test_the_link_keeps_the_query_as_sent_and_the_path_as_written(api, env_base, base):
    response = api.get(f"{env_base}/dashboards?search=a%20b&limit=2&limit=3")
    assert response.status_code == 200
    assert link_target(response) == f"{base}/dashboards?search=a%20b&limit=2&limit=3"


def test_the_rewrite_serves_the_same_data_and_builds_urls_under_projects(api, env_base, base, make_dashboard):
    """`next` is built from the rewritten path: it names /api/projects/ (PostHog: request.path rewritten)."""
    for _ in range(2):
        make_dashboard(name=f"env-rewrite-{uuid.uuid4().hex[:8]}")
    page = api.get(f"{env_base}/dashboards/", params={"limit": 1})
    assert page.status_code == 200 and page.json()["next"] is not None
    assert urlsplit(page.json()["next"]).path == f"{base}/dashboards/"
    made = make_dashboard(name="env-same-data")
    through_env, through_projects = (api.get(f"{p}/dashboards/{made['id']}/").json() for p in (env_base, base))
    for body in (through_env, through_projects):
        body.pop("last_accessed_at")  # a retrieve stamps it
    assert through_env == through_projects


@pytest.mark.parametrize("method", ["PATCH", "POST", "DELETE", "PUT"])
def test_every_answer_of_a_rewritten_path_is_deprecated(api, env_base, make_dashboard, method):
    """Headers on every answer, errors included: the middleware sets them after the view answered."""
    made = make_dashboard(name="env-methods")
    path = f"{env_base}/dashboards/{made['id']}/" if method != "POST" else f"{env_base}/dashboards/"
    response = api.request(method, path, json={"name": "env-methods-renamed"} if method != "DELETE" else None)
    assert response.status_code in (200, 201, 405), response.text
    assert response.headers["Deprecation"] == "true" and response.headers["Sunset"] == SUNSET


def test_errors_of_a_rewritten_path_are_deprecated_too(client_for, env_base):
    anonymous = client_for(None).get(f"{env_base}/dashboards/")
    assert anonymous.status_code == 401 and anonymous.headers["Deprecation"] == "true"
    unknown = client_for("personal_api_key").get(f"{env_base}/dashboards/999999999/")
    assert unknown.status_code == 404 and unknown.headers["Deprecation"] == "true" and unknown.headers["Link"]


def test_a_path_without_a_projects_counterpart_passes_through_undeprecated(api, env_base):
    """``_projects_route_exists`` false: served (here 404) on the legacy route, no successor advertised."""
    response = api.get(f"{env_base}/does_not_exist_anywhere/")
    assert response.status_code == 404
    assert deprecation(response) == {"Deprecation": None, "Link": None, "Sunset": None}
    lookalike = api.get("/api/environments_lookalike/")
    assert lookalike.status_code == 404 and "deprecation" not in lookalike.headers


def test_a_link_beyond_latin1_is_encoded_as_django_does(api, env_base):
    """Django MIME-encodes a header value latin-1 cannot carry; control characters never reach the wire."""
    response = api.get(f"{env_base}/dashboards/%E2%9C%93/")
    assert response.status_code == 404
    (raw, charset), = decode_header(response.headers["Link"])
    assert charset == "utf-8" and "/api/projects/1/dashboards/\u2713/" in raw.decode("utf-8")
    control = api.get(f"{env_base}/dashboards/%0D/sharing/")
    assert control.status_code == 404 and "%0D" in control.headers["Link"]


# --- the sunset setting --------------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "header"), [("2027-01-15", "Fri, 15 Jan 2027 00:00:00 GMT"),
                                                 ("2026-07-31T12:30:00+02:00", "Fri, 31 Jul 2026 10:30:00 GMT")])
def test_the_sunset_date_is_configurable(server_with, setting, header):
    server = server_with("--sunset-date", setting)
    response = server.client().get("/api/environments/1/dashboards/")
    assert response.headers["Sunset"] == header and response.headers["Deprecation"] == "true"


def test_an_empty_sunset_date_omits_the_header(server_with):
    response = server_with("--sunset-date", "").client().get("/api/environments/1/dashboards/")
    assert response.headers["Deprecation"] == "true" and "sunset" not in response.headers


# --- the redirect build (api-environments-redirect flag on) -----------------------------------------------


def test_redirect_mode_answers_307_to_the_relative_successor_with_the_headers(server_with):
    server = server_with("--environments", "redirect")
    response = server.client().post("/api/environments/1/dashboards/?limit=10&search=a%20b", json={"name": "x"})
    assert response.status_code == 307 and response.content == b""
    assert response.headers["Location"] == "/api/projects/1/dashboards/?limit=10&search=a%20b"
    assert link_target(response) == response.headers["Location"]
    assert response.headers["Deprecation"] == "true" and response.headers["Sunset"] == SUNSET
    listed = server.client().get("/api/projects/1/dashboards/", params={"search": "x", "limit": 1000}).json()
    assert all(item["name"] != "x" for item in listed["results"]), "the 307 itself must not write"


def test_the_redirect_comes_before_authentication(server_with):
    response = server_with("--environments", "redirect").client(None).get("/api/environments/@current/events/")
    assert response.status_code == 307 and response.headers["Location"] == "/api/projects/@current/events/"


def test_following_the_redirect_with_the_same_method_and_body_writes(server_with):
    server = server_with("--environments", "redirect")
    client = server.client()
    first = client.post("/api/environments/1/dashboards/", json={"name": "followed"})
    followed = client.post(first.headers["Location"], json={"name": "followed"})
    assert followed.status_code == 201 and followed.json()["name"] == "followed"
    assert "deprecation" not in followed.headers


def test_headers_mode_serves_the_legacy_route_with_the_headers(server_with, reference_server):
    """The redirect build with its flag off: no 307, headers sent, URLs built from the legacy path."""
    client = server_with("--environments", "headers").client()
    for _ in range(2):
        client.post("/api/projects/1/dashboards/", json={"name": "headers-mode"})
    page = client.get("/api/environments/1/dashboards/", params={"limit": 1})
    assert page.status_code == 200 and page.headers["Deprecation"] == "true"
    assert urlsplit(page.json()["next"]).path == "/api/environments/1/dashboards/"


# --- before the deprecation -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("--environments", "direct"), ("--release", "2024-01")])
def test_before_the_deprecation_the_prefix_is_served_directly(server_with, args):
    client = server_with(*args).client()
    made = client.post("/api/projects/1/dashboards/", json={"name": "direct"}).json()
    for _ in range(2):
        client.post("/api/projects/1/dashboards/", json={"name": "direct"})
    page = client.get("/api/environments/1/dashboards/", params={"limit": 1})
    assert page.status_code == 200 and deprecation(page) == {"Deprecation": None, "Link": None, "Sunset": None}
    assert urlsplit(page.json()["next"]).path == "/api/environments/1/dashboards/"
    assert client.get(f"/api/environments/1/dashboards/{made['id']}/").json()["name"] == "direct"


def test_an_older_release_can_still_choose_a_deprecation_mode(server_with):
    response = server_with("--release", "2024-01", "--environments", "rewrite").client().get(
        "/api/environments/1/dashboards/"
    )
    assert response.headers["Deprecation"] == "true"


# --- mutants ---------------------------------------------------------------------------------------------


def test_mutant_307_to_another_project(reference_server):
    response = reference_server("environments_307_to_another_project").client().get(
        "/api/environments/1/dashboards/?limit=1"
    )
    assert response.status_code == 307 and response.headers["Location"] == "/api/projects/2/dashboards/?limit=1"


def test_mutant_307_to_another_origin_names_a_second_listener_serving_the_same_data(reference_server):
    """The other origin answers like the host: only a client that refuses to follow (and to send its key
    there) notices; one that follows gets good data and lets the mutant live."""
    server: Any = reference_server("environments_307_to_another_origin")
    response = server.client().get("/api/environments/1/dashboards/?limit=1")
    assert response.status_code == 307
    location = urlsplit(response.headers["Location"])
    assert (location.hostname, location.path, location.query) == ("127.0.0.1", "/api/projects/1/dashboards/", "limit=1")
    assert location.port != urlsplit(server.base_url).port
    with httpx.Client(headers={"Authorization": f"Bearer {server.credentials['personal_api_key']}"}) as other:
        served = other.get(response.headers["Location"])
    assert served.status_code == 200 and served.json()["count"] >= 0


@pytest.mark.parametrize(("mutant", "broken"), [
    ("environments_deprecation_headers_dropped", lambda r: "deprecation" not in r.headers),
    ("environments_successor_link_names_another_project", lambda r: "/api/projects/2/" in r.headers["Link"]),
    ("environments_sunset_not_an_http_date", lambda r: r.headers["Sunset"] == "2026-07-31"),
])
def test_pending_deprecation_mutants_break_their_rule(reference_server, mutant, broken):
    response = reference_server(mutant).client().get("/api/environments/1/dashboards/")
    assert response.status_code == 200 and broken(response), dict(response.headers)
