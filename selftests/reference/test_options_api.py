"""OPTIONS as DRF's ``metadata`` action, the CORS preflight, and the 401 challenge (contract §1.3), over HTTP.

PostHog source: ``posthog/permissions.py`` (``ScopeBasePermission._get_required_scopes``: OPTIONS needs the
route's read scope), DRF's ``SimpleMetadata`` (rest_framework/metadata.py), django-cors-headers'
``CorsMiddleware`` (preflights answered before any view) and ``posthog/exceptions.py``
(``exception_handler``: ``WWW-Authenticate: Bearer resource_metadata=...`` on every DRF 401).
"""

from __future__ import annotations

import pytest

JSON = "application/json"
PARSES = [JSON, "application/x-www-form-urlencoded", "multipart/form-data"]
NO_ACTION = "This action does not support personal API key access"


@pytest.mark.parametrize(("path", "name", "renders", "parses"), [
    ("/dashboards/", "Dashboards List", [JSON, "text/event-stream"], PARSES),
    ("/dashboards/999999/", "Dashboards Instance", [JSON, "text/event-stream"], PARSES),
    ("/dashboards/1/move_tile/", "Move tile", [JSON, "text/event-stream"], PARSES),
    ("/dashboards/create_from_template_json/", "Create from template json", [JSON, "text/event-stream"], [JSON]),
    ("/dashboards/1/sharing/", "Sharing Configuration List", [JSON], PARSES),
    ("/dashboards/1/collaborators/", "Dashboard Collaborator List", [JSON], PARSES),
    ("/events/", "Event List", [JSON, "text/csv"], PARSES),
])
def test_options_answers_simple_metadata(api, base, path, name, renders, parses):
    """200 even where the route has no GET (move_tile) or the object does not exist: no lookup happens."""
    response = api.options(f"{base}{path}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(JSON)
    assert response.json() == {"name": name, "description": "", "renders": renders, "parses": parses}


def test_options_outside_a_project(api):
    response = api.options("/api/users/@me/")
    assert response.status_code == 200 and response.json()["name"] == "User Instance"


def test_options_needs_the_routes_read_scope(client_for, base, expect_error):
    """The read-only key has dashboard:read (200 even on a write-only route); the no-query key lacks query:read."""
    assert client_for("readonly_api_key").options(f"{base}/dashboards/1/move_tile/").status_code == 200
    refused = client_for("no_query_api_key").options(f"{base}/events/")
    expect_error(refused, 403, "permission_denied", "API key missing required scope 'query:read'")
    expect_error(client_for(None).options(f"{base}/dashboards/"), 401, "not_authenticated")


def test_options_is_never_405(client_for, base):
    """A legacy unscoped key (which gets DRF's 405 on methods without an action) gets the metadata too."""
    for key in ("personal_api_key", "legacy_api_key"):
        for path in ("/dashboards/1/collaborators/00000000-0000-0000-0000-000000000000/", "/events/1/"):
            response = client_for(key).options(f"{base}{path}")
            assert response.status_code == 200 and set(response.json()) == {"name", "description", "renders",
                                                                            "parses"}, (key, path, response.text)


def test_options_on_the_environments_prefix_is_deprecated_metadata(api, env_base):
    response = api.options(f"{env_base}/dashboards/")
    assert response.status_code == 200 and response.json()["name"] == "Dashboards List"
    assert response.headers["Deprecation"] == "true"


def test_options_of_an_unknown_path_is_404(api, base, expect_error):
    expect_error(api.options(f"{base}/no_such_route/"), 404, "not_found")


def test_a_cors_preflight_is_answered_before_authentication(client_for, base, env_base):
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"}
    for path in (f"{base}/dashboards/1/", f"{env_base}/dashboards/1/", f"{base}/events/"):
        response = client_for(None).options(path, headers=preflight)
        assert response.status_code == 200 and response.content == b"", (path, response.text)
        assert "deprecation" not in response.headers and "www-authenticate" not in response.headers


def test_scoped_methods_without_an_action_still_get_403(api, base, expect_error):
    expect_error(api.put(f"{base}/dashboards/"), 403, "permission_denied", NO_ACTION)


@pytest.mark.parametrize(("mutant", "status"), [("options_500", 500), ("options_405", 405)])
def test_pending_options_mutants_break_their_rule(reference_server, base, mutant, status):
    assert reference_server(mutant).client().options(f"{base}/dashboards/").status_code == status


# --- the 401 challenge ------------------------------------------------------------------------------------


def test_a_401_names_the_oauth_protected_resource_metadata(client_for, reference, base):
    expected = f'Bearer resource_metadata="{reference["base_url"]}/.well-known/oauth-protected-resource"'
    anonymous = client_for(None).get(f"{base}/dashboards/")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == expected
    anonymous_me = client_for(None).get("/api/users/@me/")
    assert anonymous_me.status_code == 401 and anonymous_me.headers["WWW-Authenticate"] == expected


def test_the_challenge_is_pinned_to_the_site_not_the_host_header(client_for, reference, base):
    """PostHog pins it to SITE_URL: a forged Host header must not steer the discovery hint."""
    response = client_for(None).get(f"{base}/dashboards/", headers={"Host": "attacker.example"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith(f'Bearer resource_metadata="{reference["base_url"]}/')


def test_an_unknown_key_gets_the_challenge_too_and_a_403_none(reference_server, base, client_for):
    bad = reference_server().client(None)
    response = bad.get(f"{base}/dashboards/", headers={"Authorization": "Bearer phx_not_a_key"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer resource_metadata=")
    refused = client_for("readonly_api_key").post(f"{base}/dashboards/", json={"name": "x"})
    assert refused.status_code == 403 and "www-authenticate" not in refused.headers


def test_capture_errors_carry_no_challenge(client_for):
    response = client_for(None).post("/i/v0/e/", json={"event": "x", "distinct_id": "d"})
    assert response.status_code >= 400 and "www-authenticate" not in response.headers


def test_release_2024_01_sends_no_challenge(server_with):
    response = server_with("--release", "2024-01").client(None).get("/api/projects/1/dashboards/")
    assert response.status_code == 401 and "www-authenticate" not in response.headers
