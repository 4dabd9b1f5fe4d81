"""The reference server's dashboard sharing (contract §3), through HTTP only."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

SHARING_FIELDS = {"created_at", "enabled", "access_token", "settings", "password_required", "share_passwords"}


def sharing_path(base: str, dashboard_id: object) -> str:
    return f"{base}/dashboards/{dashboard_id}/sharing/"


def test_never_configured_sharing_is_an_unsaved_default_with_a_fresh_token(api, base, make_dashboard):
    made = make_dashboard(name="sharing-default")
    first = api.get(sharing_path(base, made["id"]))
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert isinstance(body, dict) and set(body) == SHARING_FIELDS
    assert body["created_at"] is None and body["enabled"] is False and body["settings"] is None
    assert body["password_required"] is False and body["share_passwords"] == []
    assert isinstance(body["access_token"], str) and body["access_token"]
    second = api.get(sharing_path(base, made["id"])).json()
    assert second["access_token"] != body["access_token"]


def test_enabling_stores_the_configuration_and_is_shared_follows(api, base, env_base, make_dashboard):
    made = make_dashboard(name="sharing-enable")
    response = api.patch(sharing_path(base, made["id"]), json={"enabled": True})
    assert response.status_code == 200
    enabled = response.json()
    assert set(enabled) == SHARING_FIELDS and enabled["enabled"] is True
    datetime.fromisoformat(enabled["created_at"])
    for prefix in (base, env_base):
        again = api.get(sharing_path(prefix, made["id"]).rstrip("/")).json()
        assert again["access_token"] == enabled["access_token"] and again["enabled"] is True
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["is_shared"] is True
    listed = api.get(f"{base}/dashboards/", params={"limit": 10000}).json()["results"]
    assert next(i for i in listed if i["id"] == made["id"])["is_shared"] is True
    disabled = api.patch(sharing_path(env_base, made["id"]), json={"enabled": False}).json()
    assert disabled["enabled"] is False and disabled["created_at"] == enabled["created_at"]
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["is_shared"] is False
    reenabled = api.patch(sharing_path(base, made["id"]), json={"enabled": True}).json()
    assert reenabled["enabled"] is True and reenabled["access_token"] != enabled["access_token"]


def test_settings_and_password_required_are_stored(api, base, make_dashboard):
    made = make_dashboard(name="sharing-settings")
    body = api.patch(sharing_path(base, made["id"]),
                     json={"settings": {"whitelabel": True}, "password_required": True}).json()
    assert body["settings"] == {"whitelabel": True} and body["password_required"] is True and body["enabled"] is False
    assert api.get(sharing_path(base, made["id"])).json()["settings"] == {"whitelabel": True}
    cleared = api.patch(sharing_path(base, made["id"]), json={"settings": None}).json()
    assert cleared["settings"] is None


def test_patch_as_form_data(api, base, make_dashboard):
    made = make_dashboard(name="sharing-form")
    response = api.patch(sharing_path(base, made["id"]), data={"enabled": "true"})
    assert response.status_code == 200 and response.json()["enabled"] is True


def test_refresh_issues_a_new_configuration_copying_its_state(api, base, make_dashboard):
    made = make_dashboard(name="sharing-refresh")
    old = api.patch(sharing_path(base, made["id"]), json={"enabled": True, "settings": {"noHeader": True}}).json()
    response = api.post(f"{sharing_path(base, made['id'])}refresh/")
    assert response.status_code == 200
    new = response.json()
    assert set(new) == SHARING_FIELDS
    assert new["access_token"] != old["access_token"]
    assert datetime.fromisoformat(new["created_at"]) >= datetime.fromisoformat(old["created_at"])
    assert new["enabled"] is True and new["settings"] == {"noHeader": True}
    assert api.get(sharing_path(base, made["id"])).json()["access_token"] == new["access_token"]
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["is_shared"] is True


def test_refresh_of_a_never_configured_dashboard_stores_a_disabled_one(api, base, make_dashboard):
    made = make_dashboard(name="sharing-refresh-new")
    new = api.post(f"{sharing_path(base, made['id'])}refresh").json()
    assert new["enabled"] is False and new["created_at"] is not None
    assert api.get(sharing_path(base, made["id"])).json()["access_token"] == new["access_token"]


@pytest.mark.parametrize(
    ("body", "attr", "detail", "code"),
    [
        ({"enabled": "maybe"}, "enabled", "Must be a valid boolean.", "invalid_input"),
        ({"enabled": {"a": 1}}, "enabled", "Must be a valid boolean.", "invalid_input"),
        ({"enabled": None}, "enabled", "This field may not be null.", "null"),
        ({"settings": "dark"}, "settings", "Invalid settings format", "invalid_input"),
        ({"settings": [1]}, "settings", "Invalid settings format", "invalid_input"),
        ({"password_required": 7}, "password_required", "Must be a valid boolean.", "invalid_input"),
        ({"enabled": "x", "settings": "y"}, "enabled", "Must be a valid boolean.", "invalid_input"),
    ],
)
def test_invalid_patch_is_400(api, base, make_dashboard, expect_error, body, attr, detail, code):
    made = make_dashboard(name="sharing-invalid")
    expect_error(api.patch(sharing_path(base, made["id"]), json=body), 400, code, detail, attr)
    assert api.get(sharing_path(base, made["id"])).json()["created_at"] is None  # nothing stored


def test_malformed_bodies_are_4xx(api, base, make_dashboard, expect_error):
    made = make_dashboard(name="sharing-malformed")
    path = sharing_path(base, made["id"])
    expect_error(api.patch(path, content=b"{", headers={"Content-Type": "application/json"}), 400, "parse_error")
    expect_error(api.patch(path, content=b"[true]", headers={"Content-Type": "application/json"}), 400,
                 "invalid_input")
    expect_error(api.patch(path, content=b"x", headers={"Content-Type": "application/xml"}), 415,
                 "unsupported_media_type")


@pytest.mark.parametrize("raw_id", ["987654321", "abc", "-1"])
def test_missing_dashboard_is_404_dashboard_not_found(api, base, expect_error, raw_id):
    for response in (api.get(sharing_path(base, raw_id)), api.patch(sharing_path(base, raw_id), json={}),
                     api.post(f"{sharing_path(base, raw_id)}refresh/")):
        expect_error(response, 404, "not_found", "Dashboard not found.", None)


def test_soft_deleted_and_foreign_dashboards_are_404(api, base, reference, make_dashboard, soft_delete, client_for,
                                                    expect_error):
    made = make_dashboard(name="sharing-deleted")
    soft_delete(made["id"])
    expect_error(api.get(sharing_path(base, made["id"])), 404, "not_found", "Dashboard not found.")
    theirs = client_for("outsider_api_key").post(f"/api/projects/{reference['other_project_id']}/dashboards/",
                                                 json={"name": "theirs"}).json()
    expect_error(api.get(sharing_path(base, theirs["id"])), 404, "not_found", "Dashboard not found.")


def test_put_and_delete_are_405(client_for, base, make_dashboard, expect_error):
    """PUT/DELETE have no action on sharing (§1.4, §3): a legacy unscoped key gets DRF's 405."""
    api = client_for("legacy_api_key")
    made = make_dashboard(name="sharing-405")
    path = sharing_path(base, made["id"])
    expect_error(api.put(path, json={"enabled": True}), 405, "method_not_allowed", 'Method "PUT" not allowed.')
    expect_error(api.delete(path), 405, "method_not_allowed", 'Method "DELETE" not allowed.')
    assert api.get(path).json()["created_at"] is None


def test_scopes(client_for, base, make_dashboard, expect_error):
    readonly = client_for("readonly_api_key")
    made = make_dashboard(name="sharing-scopes")
    assert readonly.get(sharing_path(base, made["id"])).status_code == 200
    missing = "API key missing required scope 'sharing_configuration:write'"
    expect_error(readonly.patch(sharing_path(base, made["id"]), json={"enabled": True}), 403, "permission_denied",
                 missing)
    expect_error(readonly.post(f"{sharing_path(base, made['id'])}refresh/"), 403, "permission_denied", missing)
    expect_error(readonly.patch(sharing_path(base, "987654"), json={}), 403, "permission_denied", missing)
    expect_error(client_for(None).get(sharing_path(base, made["id"])), 401, "not_authenticated")


def test_member_without_edit_rights_cannot_change_sharing(client_for, base, make_dashboard, expect_error):
    member = client_for("member_api_key")
    made = make_dashboard(name="sharing-restricted", restriction_level=37)
    assert member.get(sharing_path(base, made["id"])).status_code == 200
    denied = "You don't have edit permissions for this dashboard."
    expect_error(member.patch(sharing_path(base, made["id"]), json={"enabled": True}), 403, "permission_denied",
                 denied)
    expect_error(member.post(f"{sharing_path(base, made['id'])}refresh/"), 403, "permission_denied", denied)
    open_one = make_dashboard(name="sharing-open")
    assert member.patch(sharing_path(base, open_one["id"]), json={"enabled": True}).status_code == 200


# --- mutants ------------------------------------------------------------------------------------------------


def test_mutant_sharing_array(mutant_server, base):
    client = mutant_server("sharing_array").client()
    made = client.post(f"{base}/dashboards/", json={"name": "array"}).json()
    body = client.get(sharing_path(base, made["id"])).json()
    assert isinstance(body, list) and len(body) == 1


def test_mutant_sharing_enable_not_stored(mutant_server, base):
    client = mutant_server("sharing_enable_not_stored").client()
    made = client.post(f"{base}/dashboards/", json={"name": "not-stored"}).json()
    assert client.patch(sharing_path(base, made["id"]), json={"enabled": True}).json()["enabled"] is True
    assert client.get(sharing_path(base, made["id"])).json()["enabled"] is False


def test_mutant_sharing_token_not_rotated(mutant_server, base):
    client = mutant_server("sharing_token_not_rotated").client()
    made = client.post(f"{base}/dashboards/", json={"name": "rotated"}).json()
    token = client.patch(sharing_path(base, made["id"]), json={"enabled": True}).json()["access_token"]
    assert client.post(f"{sharing_path(base, made['id'])}refresh/").json()["access_token"] == token


def test_mutant_sharing_of_deleted_dashboard_served(mutant_server, base):
    client = mutant_server("sharing_of_deleted_dashboard_served").client()
    made = client.post(f"{base}/dashboards/", json={"name": f"gone-{uuid.uuid4().hex}", "deleted": True}).json()
    assert client.get(sharing_path(base, made["id"])).status_code == 200
