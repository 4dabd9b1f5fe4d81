"""The schema files are the contract as data: check they are sound and say what the spec says.

Valid instances follow the spec's field tables (reality), invalid ones each break one rule; the
required-field lists below are copied from the spec's R tiers, independently of the schema files,
so a schema that drops or renames an R field fails here.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing.exceptions import Unresolvable

from posthog_contract import contract

UUID = "095be615-a8ad-4c33-8e9c-c7612fbf6c9f"
UUID2 = "0e3d6a64-7c6f-4f0e-8f43-2f2b1c4f9a10"
WHEN = "2024-03-07T22:42:36.154000+00:00"


# --- valid instances (reality, per the spec) ------------------------------------------------------


def user(**over: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "uuid": UUID,
        "distinct_id": "owner-distinct-id",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "is_email_verified": None,
        "hedgehog_config": None,
        "role_at_organization": "",
        **over,
    }


def tile(**over: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "insight": None,
        "text": {"id": 3, "body": "hello"},
        "layouts": {"sm": {"x": 0, "y": 0, "w": 6, "h": 5}},
        "color": None,
        **over,
    }


def dashboard_basic(**over: Any) -> dict[str, Any]:
    return {
        "id": 12,
        "name": "Run dashboard",
        "description": "",
        "pinned": False,
        "created_at": WHEN,
        "created_by": user(),
        "last_accessed_at": None,
        "last_refresh": None,
        "last_viewed_at": None,
        "is_shared": False,
        "deleted": False,
        "creation_mode": "default",
        "tags": [],
        "restriction_level": 21,
        "effective_restriction_level": 21,
        "effective_privilege_level": 37,
        "user_access_level": "manager",
        "access_control_version": "v2",
        "team_id": 1,
        **over,
    }


def dashboard(**over: Any) -> dict[str, Any]:
    detail = {
        "filters": {},
        "variables": {},
        "breakdown_colors": [],
        "data_color_theme_id": None,
        "persisted_filters": None,
        "persisted_variables": None,
        "tiles": [tile()],
    }
    return dashboard_basic(**{**detail, **over})


def sharing(**over: Any) -> dict[str, Any]:
    return {
        "created_at": None,
        "enabled": False,
        "access_token": "dGhpcy1pcy1hLXRva2VuLXh4",
        "settings": None,
        "password_required": False,
        "share_passwords": [],
        **over,
    }


def collaborator(**over: Any) -> dict[str, Any]:
    return {
        "id": UUID2,
        "dashboard_id": 12,
        "user": user(id=2, uuid=UUID2, email="member@example.com"),
        "level": 37,
        "added_at": WHEN,
        "updated_at": WHEN,
        **over,
    }


def event(**over: Any) -> dict[str, Any]:
    return {
        "id": UUID,
        "distinct_id": "run-1",
        "properties": {"run_id": "run-1", "$ip": "127.0.0.1"},
        "event": "contract test",
        "timestamp": "2024-03-07T22:42:36+00:00",
        "person": None,
        "elements": [],
        "elements_chain": "",
        **over,
    }


def project(**over: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "uuid": UUID,
        "organization": UUID2,
        "name": "Default project",
        "api_token": "phc_abc",
        "timezone": "UTC",
        **over,
    }


def member(**over: Any) -> dict[str, Any]:
    return {"user": user(), "level": 1, "id": UUID2, "joined_at": WHEN, "updated_at": WHEN, **over}


def envelope(**over: Any) -> dict[str, Any]:
    return {"type": "validation_error", "code": "required", "detail": "This field is required.", "attr": "name", **over}


PAGE_URL = "http://localhost:8010/api/projects/1/dashboards/?limit=1&offset=1"
NEXT_EVENTS = "http://localhost:8010/api/projects/1/events/?after=2024-01-01&before=2024-03-07T22%3A42%3A36%2B00%3A00"
TEMPLATE = {
    "template_name": "run template",
    "dashboard_description": "made by the suite",
    "dashboard_filters": {},
    "tiles": [{"type": "TEXT", "body": "hello", "layouts": {}}],
}

VALID: dict[str, list[Any]] = {
    "restriction-level": [21, 37],
    "user-basic": [
        user(),
        user(distinct_id=None, is_email_verified=True, hedgehog_config={"color": "blue"}),
        user(role_at_organization="astronaut"),  # any string: the set changes between releases
        user(role_at_organization=None, extra_field=1),
    ],
    "tile": [
        tile(),
        tile(insight={"id": 4, "name": "x"}, text=None, color="blue", order=0, is_cached=False),
        tile(show_description=None, transparent_background=True, filters_overrides={}, button_tile=None),
    ],
    "dashboard-common": [dashboard_basic(), dashboard()],
    "dashboard-basic": [
        dashboard_basic(),
        dashboard_basic(created_by=None),
        dashboard_basic(name=None, search_match_type="exact", user_access_level=None),
        dashboard_basic(tags=["a", "b"], restriction_level=37, access_control_version="v1"),
    ],
    "dashboard": [
        dashboard(),
        dashboard(created_by=None),
        dashboard(tiles=None),  # null tolerated (contract §2.1)
        dashboard(tiles=[], variables=None, breakdown_colors=None, quick_filter_ids=[UUID]),
        dashboard(use_template="", use_dashboard=None, delete_insights=False),  # X keys tolerated
        dashboard(name="x" * 400, last_accessed_at=WHEN, last_refresh="2024-03-07T22:42:36Z"),
    ],
    "dashboard-list-page": [
        {"count": 0, "next": None, "previous": None, "results": []},
        {"count": 3, "next": PAGE_URL, "previous": None, "results": [dashboard_basic()]},
    ],
    "tile-payload": [
        {"id": 7, "color": "red", "layouts": {}, "deleted": True},
        {"id": 7, "is_cached": True, "order": 1},
        {"text": {"body": "new text tile"}},
        {"text": {"body": "t"}, "layouts": {"sm": {}}, "color": None},
    ],
    "dashboard-write-body": [
        {},
        {"name": None},
        {"name": "n", "description": "d", "pinned": True, "tags": ["x"], "restriction_level": 37},
        {"deleted": True, "delete_insights": True},
        {"filters": {"date_from": "-7d"}, "variables": {}, "breakdown_colors": {"a": "b"}},
        {"tiles": [{"text": {"body": "hi"}}, {"id": 4, "deleted": True}]},
        {"use_template": "DEFAULT_APP"},
        {"use_dashboard": 12, "duplicate_tiles": True},
        {"use_template": "", "use_dashboard": 12},  # "" counts as absent (contract §2.3)
        {"unknown_key": 1, "id": 99},  # unknown and read-only keys are ignored
    ],
    "share-password": [
        {"id": 1, "created_at": WHEN, "note": "", "created_by_email": "deleted user", "is_active": True},
    ],
    "sharing-configuration": [
        sharing(),
        sharing(created_at=WHEN, enabled=True, settings={"whitelabel": True}, user_access_level="editor"),
        sharing(
            share_passwords=[
                {"id": "p1", "created_at": WHEN, "note": None, "created_by_email": "a@b.co", "is_active": False}
            ]
        ),
    ],
    "sharing-write-body": [{}, {"enabled": True}, {"settings": None, "password_required": False}],
    "sharing-password-error": [{"error": "Sharing with password requires the Advanced Permissions feature"}],
    "collaborator": [collaborator(), collaborator(level=21, user_uuid=UUID2)],
    "collaborator-list": [[], [collaborator()]],
    "collaborator-create-body": [{"user_uuid": UUID2, "level": 37}, {"user_uuid": UUID2, "level": 21}],
    "move-tile-body": [
        {"tile": {"id": 7}, "to_dashboard": 13},
        {"tile": {"id": 7, "text": {}}, "toDashboard": 13},
        {"tile": {"id": 7}, "to_dashboard": 13, "toDashboard": 14},
    ],
    "create-from-template-json-body": [
        {"template": TEMPLATE},
        {
            "template": {
                **TEMPLATE,
                "tags": ["t"],
                "variables": None,
                "tiles": [
                    {"type": "INSIGHT", "name": "i", "filters": {}, "layouts": {}, "color": None},
                    {"type": "INSIGHT", "name": "q", "query": {"kind": "X"}, "layouts": {}},
                ],
            },
            "creation_context": "onboarding",
        },
    ],
    "event-element": [
        {},
        {"tag_name": "a", "attr_class": ["btn"], "nth_child": 1, "nth_of_type": None, "attributes": {}, "order": 0},
    ],
    "event": [
        event(),
        event(person={"is_identified": True, "distinct_ids": ["run-1"], "properties": {"email": "a@b.co"}}),
        event(timestamp="2024-03-07T22:42:36.154Z", elements=[{"tag_name": "button", "text": "Go"}]),
        event(id=UUID.upper()),
    ],
    "event-list-page": [
        {"next": None, "results": []},
        {"next": NEXT_EVENTS, "results": [event()]},
    ],
    "property-filter": [
        {"key": "$browser"},
        {"key": "$browser", "value": ["Safari", "Chrome"], "operator": "exact", "type": "event"},
        {"key": "email", "value": None, "operator": "is_set", "type": "person"},
        {"key": "$browser", "operator": None, "label": "Browser"},
    ],
    "property-group": [
        {"type": "AND", "values": []},
        {"type": "OR", "values": [{"key": "a", "value": 1}, {"type": "AND", "values": [{"key": "b"}]}]},
    ],
    "events-properties-param": [
        [],
        [{"key": "$browser", "value": "Safari", "operator": "exact", "type": "event"}],
        {"type": "AND", "values": [{"key": "a"}]},
    ],
    "error-envelope": [
        envelope(),
        envelope(type="authentication_error", code="not_authenticated", attr=None),
    ],
    "event-invalid-uuid-error": [{"detail": "Invalid UUID", "code": "invalid", "type": "validation_error"}],
    "capture-event": [
        {"event": "e", "distinct_id": "d"},
        {"event": "e", "properties": {"distinct_id": 5}},
        {"event": "e", "distinct_id": 5, "timestamp": WHEN, "uuid": UUID, "$set": {"a": 1}},
    ],
    "capture-request": [
        {"api_key": "phc_x", "event": "e", "distinct_id": "d"},
        {"token": "phc_x", "event": "e", "distinct_id": "d", "properties": {"run_id": "r"}},
        {"event": "e", "properties": {"token": "phc_x", "distinct_id": "d"}},
        {"api_key": "phc_x", "batch": [{"event": "e", "distinct_id": "d"}], "historical_migration": False},
        {"$token": "phc_x", "batch": [{"event": "e", "distinct_id": "d", "uuid": UUID}]},
        [{"api_key": "phc_x", "event": "e", "distinct_id": "d"}],
    ],
    "capture-response": [{"status": "Ok"}, {"status": 1}, {"status": "Ok", "quota_limited": ["events"]}],
    "capture-error": [{"status": 401, "code": "ingest_key_required", "error": "no token"}],
    "project": [project(), project(extra={"x": 1})],
    "project-list-page": [{"count": 1, "next": None, "previous": None, "results": [project()]}],
    "current-user": [
        {"uuid": UUID, "email": "ada@example.com"},
        {
            "uuid": UUID,
            "email": "ada@example.com",
            "id": 1,
            "distinct_id": "x",
            "organization": {"id": UUID2, "name": "Org"},
            "team": {"id": 1, "project_id": 1, "name": "Default", "api_token": "phc_x"},
        },
    ],
    "organization-member": [member(), {"user": user(), "level": 8}],
    "organization-member-list": [
        {"count": 1, "next": None, "previous": None, "results": [member()]},
        {"results": []},
        [member(), member(level=15)],
    ],
}


# --- invalid instances: each breaks one rule, named by the error path it must produce -------------


def without(instance: dict[str, Any], key: str) -> dict[str, Any]:
    out = copy.deepcopy(instance)
    del out[key]
    return out


INVALID: list[tuple[str, str, Any, str, str]] = [
    # (id, schema, instance, expected json path, expected fragment of the message)
    ("dashboard-without-team_id", "dashboard", without(dashboard(), "team_id"), "$", "'team_id' is a required"),
    ("dashboard-without-tiles", "dashboard", without(dashboard(), "tiles"), "$", "'tiles' is a required"),
    ("dashboard-restriction-99", "dashboard", dashboard(restriction_level=99), "$.restriction_level", "99"),
    (
        "dashboard-privilege-blank",
        "dashboard",
        dashboard(effective_privilege_level=""),
        "$.effective_privilege_level",
        "",
    ),
    ("dashboard-name-401", "dashboard", dashboard(name="x" * 401), "$.name", "too long"),
    ("dashboard-description-null", "dashboard", dashboard(description=None), "$.description", "not of type"),
    ("dashboard-creation-mode", "dashboard", dashboard(creation_mode="copy"), "$.creation_mode", "copy"),
    ("dashboard-tags-null-item", "dashboard", dashboard(tags=[None]), "$.tags[0]", "not of type 'string'"),
    ("dashboard-free-tile", "dashboard", dashboard(tiles=[{"property1": None}]), "$.tiles[0]", "'id' is a required"),
    (
        "dashboard-created-by-bad-uuid",
        "dashboard",
        dashboard(created_by=user(uuid="1234")),
        "$.created_by",
        "uuid: '1234' is not a 'uuid'",
    ),
    ("dashboard-created-by-string", "dashboard", dashboard(created_by=""), "$.created_by", "allowed shapes"),
    (
        "dashboard-naive-created-at",
        "dashboard",
        dashboard(created_at="2024-03-07T22:42:36"),
        "$.created_at",
        "date-time",
    ),
    (
        "dashboard-spaced-created-at",
        "dashboard",
        dashboard(created_at="2024-03-07 22:42:36Z"),
        "$.created_at",
        "date-time",
    ),
    (
        "dashboard-impossible-date",
        "dashboard",
        dashboard(created_at="2024-02-30T00:00:00Z"),
        "$.created_at",
        "date-time",
    ),
    ("dashboard-filters-null", "dashboard", dashboard(filters=None), "$.filters", "not of type 'object'"),
    (
        "dashboard-quick-filter-not-uuid",
        "dashboard",
        dashboard(quick_filter_ids=["x"]),
        "$.quick_filter_ids[0]",
        "uuid",
    ),
    ("list-item-with-tiles", "dashboard-basic", dashboard_basic(tiles=[]), "$", "must not match"),
    (
        "list-item-missing-deleted",
        "dashboard-basic",
        without(dashboard_basic(), "deleted"),
        "$",
        "'deleted' is a required",
    ),
    (
        "list-page-item-with-tiles",
        "dashboard-list-page",
        {"count": 1, "next": None, "previous": None, "results": [dashboard_basic(tiles=None)]},
        "$.results[0]",
        "must not match",
    ),
    (
        "list-page-relative-next",
        "dashboard-list-page",
        {"count": 1, "next": "/api/projects/1/dashboards/?offset=1", "previous": None, "results": []},
        "$.next",
        "uri",
    ),
    (
        "list-page-negative-count",
        "dashboard-list-page",
        {"count": -1, "next": None, "previous": None, "results": []},
        "$.count",
        "minimum",
    ),
    (
        "list-page-without-previous",
        "dashboard-list-page",
        {"count": 0, "next": None, "results": []},
        "$",
        "'previous' is a required",
    ),
    ("tile-without-layouts", "tile", without(tile(), "layouts"), "$", "'layouts' is a required"),
    ("tile-text-without-body", "tile", tile(text={"id": 1}), "$.text", "'body' is a required"),
    ("tile-insight-without-id", "tile", tile(insight={}), "$.insight", "'id' is a required"),
    ("user-bad-email", "user-basic", user(email="not-an-email"), "$.email", "email"),
    ("user-bad-uuid", "user-basic", user(uuid="095be615a8ad4c338e9cc7612fbf6c9f"), "$.uuid", "uuid"),
    ("user-without-role", "user-basic", without(user(), "role_at_organization"), "$", "'role_at_organization'"),
    ("sharing-as-array", "sharing-configuration", [sharing()], "$", "not of type 'object'"),
    ("sharing-passwords-string", "sharing-configuration", sharing(share_passwords="x"), "$.share_passwords", "array"),
    ("sharing-without-settings", "sharing-configuration", without(sharing(), "settings"), "$", "'settings'"),
    ("sharing-write-enabled-string", "sharing-write-body", {"enabled": "yes"}, "$.enabled", "boolean"),
    ("sharing-password-error-empty", "sharing-password-error", {}, "$", "'error' is a required"),
    ("share-password-inactive-missing", "share-password", {"id": 1}, "$", "'created_at' is a required"),
    ("collaborator-level-1", "collaborator", collaborator(level=1), "$.level", "1"),
    ("collaborator-id-not-uuid", "collaborator", collaborator(id=5), "$.id", "not of type 'string'"),
    ("collaborator-without-user", "collaborator", without(collaborator(), "user"), "$", "'user' is a required"),
    ("collaborator-list-as-page", "collaborator-list", {"results": []}, "$", "not of type 'array'"),
    ("collaborator-body-without-level", "collaborator-create-body", {"user_uuid": UUID}, "$", "'level'"),
    ("collaborator-body-level-99", "collaborator-create-body", {"user_uuid": UUID, "level": 99}, "$.level", "99"),
    (
        "collaborator-body-bad-uuid",
        "collaborator-create-body",
        {"user_uuid": "abc", "level": 37},
        "$.user_uuid",
        "uuid",
    ),
    ("move-tile-without-destination", "move-tile-body", {"tile": {"id": 1}}, "$", "'to_dashboard' is a required"),
    ("move-tile-tile-without-id", "move-tile-body", {"tile": {}, "to_dashboard": 2}, "$.tile", "'id'"),
    (
        "move-tile-string-destination",
        "move-tile-body",
        {"tile": {"id": 1}, "to_dashboard": "2"},
        "$.to_dashboard",
        "integer",
    ),
    ("template-missing", "create-from-template-json-body", {}, "$", "'template' is a required"),
    (
        "template-without-name",
        "create-from-template-json-body",
        {"template": without(TEMPLATE, "template_name")},
        "$.template",
        "'template_name' is a required",
    ),
    (
        "template-empty-tiles",
        "create-from-template-json-body",
        {"template": {**TEMPLATE, "tiles": []}},
        "$.template.tiles",
        "should be non-empty",
    ),
    (
        "template-unknown-tile-type",
        "create-from-template-json-body",
        {"template": {**TEMPLATE, "tiles": [{"type": "CHART", "body": "x", "layouts": {}}]}},
        "$.template.tiles[0]",
        "allowed shapes",
    ),
    (
        "template-insight-without-query",
        "create-from-template-json-body",
        {"template": {**TEMPLATE, "tiles": [{"type": "INSIGHT", "name": "i", "layouts": {}}]}},
        "$.template.tiles[0]",
        "'filters' is a required",
    ),
    ("write-name-401", "dashboard-write-body", {"name": "x" * 401}, "$.name", "too long"),
    ("write-restriction-99", "dashboard-write-body", {"restriction_level": 99}, "$.restriction_level", "99"),
    ("write-filters-string", "dashboard-write-body", {"filters": "x"}, "$.filters", "object"),
    ("write-variables-null", "dashboard-write-body", {"variables": None}, "$.variables", "object"),
    (
        "write-template-and-duplicate",
        "dashboard-write-body",
        {"use_template": "DEFAULT_APP", "use_dashboard": 1},
        "$",
        "must not match",
    ),
    ("write-tile-without-id-or-text", "dashboard-write-body", {"tiles": [{"color": "red"}]}, "$.tiles[0]", "allowed"),
    ("tile-payload-text-without-body", "tile-payload", {"text": {}}, "$", "allowed shapes"),
    ("event-properties-string", "event", event(properties="string"), "$.properties", "not of type 'object'"),
    ("event-person-string", "event", event(person="string"), "$.person", "not of type 'object', 'null'"),
    ("event-elements-string", "event", event(elements="string"), "$.elements", "not of type 'array'"),
    ("event-id-not-uuid", "event", event(id="string"), "$.id", "uuid"),
    ("event-naive-timestamp", "event", event(timestamp="2024-03-07T22:42:36"), "$.timestamp", "date-time"),
    ("event-without-elements-chain", "event", without(event(), "elements_chain"), "$", "'elements_chain'"),
    (
        "event-person-without-distinct-ids",
        "event",
        event(person={"is_identified": False, "properties": {}}),
        "$.person",
        "'distinct_ids'",
    ),
    ("element-nth-child-string", "event-element", {"nth_child": "1"}, "$.nth_child", "integer"),
    ("event-page-without-next", "event-list-page", {"results": []}, "$", "'next' is a required"),
    (
        "event-page-relative-next",
        "event-list-page",
        {"next": "/api/projects/1/events/", "results": []},
        "$.next",
        "uri",
    ),
    ("event-page-results-null", "event-list-page", {"next": None, "results": None}, "$.results", "array"),
    ("envelope-without-attr", "error-envelope", without(envelope(), "attr"), "$", "'attr' is a required"),
    ("envelope-attr-number", "error-envelope", envelope(attr=5), "$.attr", "not of type"),
    (
        "invalid-uuid-error-with-attr",
        "event-invalid-uuid-error",
        {"detail": "Invalid UUID", "code": "invalid", "type": "validation_error", "attr": None},
        "$",
        "must not match",
    ),
    (
        "invalid-uuid-error-renamed-code",
        "event-invalid-uuid-error",
        {"detail": "Invalid UUID", "code": "invalid_input", "type": "validation_error"},
        "$.code",
        "'invalid' was expected",
    ),
    ("capture-without-token", "capture-request", {"event": "e", "distinct_id": "d"}, "$", "'api_key' is a required"),
    (
        "capture-empty-batch",
        "capture-request",
        {"api_key": "phc_x", "batch": []},
        "$",
        "$.batch: [] should be non-empty",
    ),
    ("capture-empty-distinct-id", "capture-event", {"event": "e", "distinct_id": ""}, "$.distinct_id", "non-empty"),
    ("capture-without-event", "capture-event", {"distinct_id": "d"}, "$", "'event' is a required"),
    ("capture-status-lowercase", "capture-response", {"status": "ok"}, "$.status", "is not one of"),
    ("capture-status-true", "capture-response", {"status": True}, "$.status", "is not one of"),
    ("capture-error-without-code", "capture-error", {"status": 400, "error": "x"}, "$", "'code' is a required"),
    ("project-org-not-uuid", "project", project(organization=1), "$.organization", "not of type 'string'"),
    ("project-without-api-token", "project", without(project(), "api_token"), "$", "'api_token'"),
    (
        "project-page-bad-item",
        "project-list-page",
        {"count": 1, "next": None, "previous": None, "results": [{}]},
        "$.results[0]",
        "'id' is a required",
    ),
    ("current-user-without-email", "current-user", {"uuid": UUID}, "$", "'email' is a required"),
    ("current-user-bad-email", "current-user", {"uuid": UUID, "email": "ada"}, "$.email", "email"),
    ("member-level-string", "organization-member", member(level="1"), "$.level", "integer"),
    ("member-list-page-without-results", "organization-member-list", {"count": 0}, "$", "'results' is a required"),
    ("member-list-string", "organization-member-list", "members", "$", "allowed shapes"),
    ("restriction-level-string", "restriction-level", "21", "$", "not of type 'integer'"),
    ("property-filter-cohort", "property-filter", {"key": "id", "type": "cohort"}, "$.type", "cohort"),
    ("property-filter-without-key", "property-filter", {"value": 1}, "$", "'key' is a required"),
    # posthog/schema.py, EventPropertyFilter / PersonPropertyFilter (extra="forbid"): what PostHog refuses
    ("property-filter-extra-key", "property-filter", {"key": "a", "colour": 1}, "$", "'colour' was unexpected"),
    ("property-filter-object-value", "property-filter", {"key": "a", "value": {"b": 1}}, "$.value", "is not of type"),
    ("property-filter-person-without-operator", "property-filter", {"key": "a", "type": "person"}, "$",
     "does not match any of the allowed shapes"),
    ("property-filter-null-type", "property-filter", {"key": "a", "type": None}, "$.type", "None is not one of"),
    ("property-group-xor", "property-group", {"type": "XOR", "values": []}, "$.type", "XOR"),
    ("properties-param-string", "events-properties-param", "[]", "$", "allowed shapes"),
    ("dashboard-common-without-id", "dashboard-common", without(dashboard_basic(), "id"), "$", "'id' is a required"),
]

# The spec's R tiers (copied from docs/spec, not from the schema files).
REQUIRED_BY_SPEC: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "user-basic": (
        user(),
        (
            "id",
            "uuid",
            "distinct_id",
            "first_name",
            "last_name",
            "email",
            "is_email_verified",
            "hedgehog_config",
            "role_at_organization",
        ),
    ),
    "dashboard-basic": (
        dashboard_basic(),
        (
            "id",
            "name",
            "description",
            "pinned",
            "created_at",
            "created_by",
            "last_accessed_at",
            "last_refresh",
            "last_viewed_at",
            "is_shared",
            "deleted",
            "creation_mode",
            "tags",
            "restriction_level",
            "effective_restriction_level",
            "effective_privilege_level",
            "user_access_level",
            "access_control_version",
            "team_id",
        ),
    ),
    "dashboard": (
        dashboard(),
        (
            "id",
            "name",
            "description",
            "pinned",
            "created_at",
            "created_by",
            "last_accessed_at",
            "last_refresh",
            "last_viewed_at",
            "is_shared",
            "deleted",
            "creation_mode",
            "filters",
            "variables",
            "breakdown_colors",
            "data_color_theme_id",
            "persisted_filters",
            "persisted_variables",
            "tags",
            "restriction_level",
            "effective_restriction_level",
            "effective_privilege_level",
            "user_access_level",
            "access_control_version",
            "team_id",
            "tiles",
        ),
    ),
    "tile": (tile(), ("id", "insight", "text", "layouts", "color")),
    "sharing-configuration": (
        sharing(),
        ("created_at", "enabled", "access_token", "settings", "password_required", "share_passwords"),
    ),
    "collaborator": (collaborator(), ("id", "dashboard_id", "user", "level", "added_at", "updated_at")),
    "event": (
        event(),
        ("id", "distinct_id", "properties", "event", "timestamp", "person", "elements", "elements_chain"),
    ),
    "event-list-page": ({"next": None, "results": []}, ("next", "results")),
    "dashboard-list-page": (
        {"count": 0, "next": None, "previous": None, "results": []},
        ("count", "next", "previous", "results"),
    ),
    "error-envelope": (envelope(), ("type", "code", "detail", "attr")),
    "project": (project(), ("id", "uuid", "organization", "name", "api_token", "timezone")),
    "current-user": ({"uuid": UUID, "email": "a@b.co"}, ("uuid", "email")),
    "organization-member": ({"user": user(), "level": 1}, ("user", "level")),
    "capture-error": ({"status": 400, "code": "c", "error": "e"}, ("status", "code", "error")),
}

# Tier T / X fields: present or absent, never required.
OPTIONAL_BY_SPEC: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "dashboard": (dashboard(quick_filter_ids=[], search_match_type="exact"), ("quick_filter_ids", "search_match_type")),
    "collaborator": (collaborator(user_uuid=UUID2), ("user_uuid",)),
    "sharing-configuration": (sharing(user_access_level="viewer"), ("user_access_level",)),
    "capture-response": ({"status": "Ok", "quota_limited": []}, ("quota_limited",)),
    "tile": (
        tile(order=1, last_refresh=None, is_cached=True, show_description=True, transparent_background=False),
        ("order", "last_refresh", "is_cached", "show_description", "transparent_background"),
    ),
}


# --- helpers -------------------------------------------------------------------------------------


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    """Every (pointer, subschema-or-value) in a JSON document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}/{index}")


def refs(schema: Any) -> list[str]:
    return [node["$ref"] for _, node in walk(schema) if isinstance(node, dict) and isinstance(node.get("$ref"), str)]


# --- the files themselves ------------------------------------------------------------------------


@pytest.mark.parametrize("name", contract.schema_names())
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    """A schema that is not itself valid would validate nothing reliably."""
    jsonschema.Draft202012Validator.check_schema(contract.load_schema(name))


@pytest.mark.parametrize("name", contract.schema_names())
def test_schema_has_id_title_and_description(name: str) -> None:
    """$id makes relative refs resolvable; title names the OpenAPI component; description cites sources."""
    schema = contract.load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{contract.SCHEMA_BASE_URI}{name}.json"
    assert isinstance(schema.get("title"), str) and schema["title"]
    assert isinstance(schema.get("description"), str) and len(schema["description"]) > 40


@pytest.mark.parametrize("name", contract.schema_names())
def test_every_ref_resolves_through_the_registry(name: str) -> None:
    """Each $ref must point at a schema file the one registry holds."""
    schema = contract.load_schema(name)
    resolver = contract.registry().resolver(base_uri=schema["$id"])
    for ref in refs(schema):
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{name}: $ref {ref!r} does not resolve: {exc}")
        assert isinstance(resolved.contents, dict)


def test_titles_are_unique_component_names() -> None:
    """Titles become OpenAPI component keys, so they must be unique and key-safe."""
    titles = [contract.component_name(name) for name in contract.schema_names()]
    assert len(titles) == len(set(titles))
    for title in titles:
        assert title.replace("_", "").replace("-", "").replace(".", "").isalnum(), title


#: request shapes PostHog reads with a closed model: extra keys are refused, not ignored (contract §1.7, §7.2)
CLOSED_REQUEST_SHAPES = {"property-filter": "posthog/schema.py, EventPropertyFilter: extra='forbid'"}


def test_no_schema_forbids_additional_properties() -> None:
    """Every response object allows extra properties (spec: newer releases add fields); unknown
    request keys are ignored by PostHog, so request bodies stay open too, except where PostHog's own
    model refuses them (CLOSED_REQUEST_SHAPES)."""
    for name in contract.schema_names():
        if name in CLOSED_REQUEST_SHAPES:
            continue
        for pointer, node in walk(contract.load_schema(name)):
            if isinstance(node, dict):
                assert node.get("additionalProperties", True) is not False, f"{name}{pointer}"
                assert node.get("unevaluatedProperties", True) is not False, f"{name}{pointer}"


def test_every_format_used_is_actually_checked() -> None:
    """jsonschema silently ignores a format without a checker; every one we use must have one."""
    used = {
        node["format"]
        for name in contract.schema_names()
        for _, node in walk(contract.load_schema(name))
        if isinstance(node, dict) and isinstance(node.get("format"), str)
    }
    assert used <= set(contract.FORMAT_CHECKER.checkers), used - set(contract.FORMAT_CHECKER.checkers)
    assert {"date-time", "uuid", "email", "uri"} <= used


# --- the format checker --------------------------------------------------------------------------

FORMATS: list[tuple[str, str, bool]] = [
    ("date-time", "2024-03-07T22:42:36.154000+00:00", True),
    ("date-time", "2024-03-07T22:42:36Z", True),
    ("date-time", "2024-03-07t22:42:36z", True),
    ("date-time", "2024-03-07T22:42:36.1-05:30", True),
    ("date-time", "2024-03-07T22:42:36", False),  # no offset
    ("date-time", "2024-03-07T22:42:36+0000", False),  # RFC 3339 needs the colon
    ("date-time", "2024-03-07 22:42:36Z", False),
    ("date-time", "2024-13-07T22:42:36Z", False),
    ("date-time", "2019-08-24", False),
    ("date-time", "string", False),
    ("date", "2024-02-29", True),
    ("date", "2023-02-29", False),
    ("uuid", UUID, True),
    ("uuid", UUID.upper(), True),
    ("uuid", UUID.replace("-", ""), False),
    ("uuid", "{" + UUID + "}", False),
    ("uuid", "string", False),
    ("email", "user@example.com", True),
    ("email", "admin@localhost", True),
    ("email", "user@example", False),
    ("email", "not an email", False),
    ("email", "a@b@c.com", False),
    ("uri", "http://api.example.org/accounts/?offset=400&limit=100", True),
    ("uri", "https://us.posthog.com/api/projects/1/events/?before=2024-03-07T22%3A42%3A36%2B00%3A00", True),
    ("uri", "urn:uuid:" + UUID, True),
    ("uri", "/api/projects/1/dashboards/?offset=100", False),
    ("uri", "api.example.org/accounts/", False),
    ("uri", "http:///path-only", False),
    ("uri", "http://host/a b", False),
    ("uri", "http://host/%zz", False),
]


@pytest.mark.parametrize(("fmt", "value", "ok"), FORMATS, ids=[f"{f}-{v[:30]}-{o}" for f, v, o in FORMATS])
def test_format_checker(fmt: str, value: str, ok: bool) -> None:
    """Format checks must not depend on optional packages and must reject what PostHog never sends."""
    assert contract.FORMAT_CHECKER.conforms(value, fmt) is ok


def test_formats_ignore_non_strings() -> None:
    """Formats only apply to strings; nullability is the `type` keyword's business."""
    for fmt in ("date-time", "date", "uuid", "email", "uri"):
        assert contract.FORMAT_CHECKER.conforms(None, fmt)
        assert contract.FORMAT_CHECKER.conforms(5, fmt)


# --- instances ------------------------------------------------------------------------------------


def test_every_schema_has_valid_examples_here() -> None:
    """Each shape is exercised by at least one valid instance below."""
    assert set(VALID) == set(contract.schema_names())


@pytest.mark.parametrize(
    ("name", "instance"),
    [(name, instance) for name, instances in VALID.items() for instance in instances],
    ids=[f"{name}-{i}" for name, instances in VALID.items() for i in range(len(instances))],
)
def test_valid_instance_passes(name: str, instance: Any) -> None:
    """Reality as the spec describes it must validate, or the suite would fail correct hosts."""
    assert contract.errors(instance, name) == []
    contract.validate(instance, name)


@pytest.mark.parametrize(
    ("name", "instance", "path", "fragment"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_instance_fails_at_the_right_place(name: str, instance: Any, path: str, fragment: str) -> None:
    """Each broken rule must be reported, at the field that broke it."""
    found = contract.errors(instance, name)
    assert found, f"{name} accepted an invalid instance"
    matching = [line for line in found if line.split(": ", 1)[0] == path]
    assert matching, f"no error at {path}: {found}"
    assert any(fragment in line for line in matching), f"{fragment!r} not in {matching}"


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, field) for name, (_, fields) in REQUIRED_BY_SPEC.items() for field in fields],
)
def test_spec_tier_r_fields_are_required(name: str, field: str) -> None:
    """Dropping any R field of the spec is a contract violation naming that field."""
    base, _ = REQUIRED_BY_SPEC[name]
    assert contract.errors(base, name) == []
    assert f"$: '{field}' is a required property" in contract.errors(without(base, field), name)


@pytest.mark.parametrize(
    ("name", "field"),
    [(name, field) for name, (_, fields) in OPTIONAL_BY_SPEC.items() for field in fields],
)
def test_spec_tier_t_and_x_fields_are_optional(name: str, field: str) -> None:
    """T and X fields are typed if present but never required."""
    base, _ = OPTIONAL_BY_SPEC[name]
    assert contract.errors(base, name) == []
    assert contract.errors(without(base, field), name) == []


# --- the helper API -------------------------------------------------------------------------------


def test_errors_are_sorted_by_path_and_formatted() -> None:
    """Stable, readable output: `<json path>: <message>`, sorted by path."""
    found = contract.errors(dashboard(team_id="1", tags=[None], id="x"), "dashboard")
    paths = [line.split(": ", 1)[0] for line in found]
    assert paths == ["$.id", "$.tags[0]", "$.team_id"]


def test_validate_raises_contract_violation_with_context() -> None:
    """Failures are AssertionErrors (pytest shows them as test failures) that say which request broke."""
    with pytest.raises(contract.ContractViolation) as info:
        contract.validate(dashboard(restriction_level=99), "dashboard", context="PATCH /api/projects/1/dashboards/12/")
    error = info.value
    assert isinstance(error, AssertionError)
    message = str(error)
    assert message.startswith("PATCH /api/projects/1/dashboards/12/\n")
    assert "$.restriction_level: 99 is not one of [21, 37]" in message
    assert error.schema == "dashboard"
    assert error.errors == contract.errors(dashboard(restriction_level=99), "dashboard")


def test_long_messages_are_shortened() -> None:
    """A `not` failure would otherwise print the whole instance."""
    big = dashboard_basic(tiles=[tile() for _ in range(50)])
    (line,) = contract.errors(big, "dashboard-basic")
    assert line == '$: must not match {"required": ["tiles"]}'
    assert all(len(text) < 700 for text in contract.errors({"results": [big] * 3}, "dashboard-list-page"))


def test_load_schema_returns_a_copy() -> None:
    """Callers may mutate what they get without corrupting the cached registry."""
    schema = contract.load_schema("dashboard")
    schema["required"].clear()
    assert contract.load_schema("dashboard")["required"]
    assert contract.errors({}, "dashboard")


def test_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no schema 'dashbaord'"):
        contract.errors({}, "dashbaord")


def test_schemas_dir_points_at_the_repository_folder() -> None:
    assert contract.SCHEMAS_DIR.is_dir()
    assert (contract.SCHEMAS_DIR / "dashboard.json").is_file()
    assert json.loads((contract.SCHEMAS_DIR / "dashboard.json").read_text())["title"] == "Dashboard"


# --- verbatim JSON fields: request and response schemas agree (issue 13, contract §12 q16) --------------

#: (request schema, JSON path to the property, response schema, path): PostHog stores these verbatim
VERBATIM_FIELDS = [
    ("tile-payload", ("oneOf", 0, "properties", "layouts"), "tile", ("properties", "layouts")),
    ("tile-payload", ("oneOf", 1, "properties", "layouts"), "tile", ("properties", "layouts")),
    ("dashboard-write-body", ("properties", "breakdown_colors"), "dashboard", ("properties", "breakdown_colors")),
]
JSON_SAMPLES = [None, True, 0, 1.5, "", "sm", [], [None, None], {}, {"sm": {"x": 0}}, [{"a": 1}]]


def _at(schema: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    node: Any = schema
    for step in path:
        node = node[step]
    return node


@pytest.mark.parametrize(("request_name", "request_path", "response_name", "response_path"), VERBATIM_FIELDS)
def test_a_verbatim_field_accepts_on_response_every_value_the_request_may_send(
    request_name, request_path, response_name, response_path
):
    """The suite never generates a value its own response schema would reject when the host echoes it."""
    request_schema = contract.load_schema(request_name)
    if request_path[0] == "oneOf" and "oneOf" not in request_schema:
        request_path = ("anyOf", *request_path[1:])
    sent = jsonschema.Draft202012Validator(_at(request_schema, request_path))
    echoed = jsonschema.Draft202012Validator(_at(contract.load_schema(response_name), response_path))
    disagree = [v for v in JSON_SAMPLES if sent.is_valid(v) and not echoed.is_valid(v)]
    assert not disagree, f"{request_name} may send {disagree} that {response_name} rejects when echoed"


# --- release baseline (issue 13, contract §11 "Release baseline") ------------------------------------

LATER_DASHBOARD = ("team_id", "user_access_level", "access_control_version", "variables", "breakdown_colors",
                   "data_color_theme_id", "persisted_filters", "persisted_variables", "last_viewed_at")
LATER_USER = ("role_at_organization", "last_name", "is_email_verified", "hedgehog_config")


def older(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in names}


OLDER = "2024-01"


def _added_keywords() -> Iterator[tuple[str, str, dict[str, Any]]]:
    def walk(node: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if isinstance(node, dict):
            for name, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and contract.BASELINE_KEYWORD in prop:
                    yield name, node
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for schema_name in contract.schema_names():
        for field_name, owner in walk(contract.load_schema(schema_name)):
            yield schema_name, field_name, owner


def test_every_added_keyword_is_a_release_month_on_a_required_field_with_evidence():
    found = list(_added_keywords())
    assert len(found) >= 16
    for schema_name, field_name, owner in found:
        prop = owner["properties"][field_name]
        assert re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", prop[contract.BASELINE_KEYWORD]), (schema_name, field_name)
        assert field_name in owner.get("required", []), f"{schema_name}.{field_name}: only R fields need a date"
        assert prop.get("x-posthog-added-evidence"), f"{schema_name}.{field_name} says where the date comes from"


def test_an_older_payload_fails_the_current_baseline_only_on_later_fields():
    body = older(dashboard(created_by=older(user(), LATER_USER)), LATER_DASHBOARD)
    problems = contract.errors(body, "dashboard")
    assert problems and all(any(name in p for name in LATER_DASHBOARD + LATER_USER) for p in problems), problems


def test_under_an_older_baseline_later_fields_are_optional_but_typed():
    body = older(dashboard(created_by=older(user(), LATER_USER)), LATER_DASHBOARD)
    assert contract.errors(body, "dashboard", baseline=OLDER) == []
    assert contract.errors({**body, "team_id": "one"}, "dashboard", baseline=OLDER), "a later field is still typed"
    assert contract.errors(older(body, ("name",)), "dashboard", baseline=OLDER), "fields of the baseline stay required"
    findings = contract.version_findings(body, "dashboard", OLDER)
    assert "team_id (added 2024-02)" in findings and "created_by.role_at_organization (added 2024-02)" in findings
    assert contract.version_findings(dashboard(), "dashboard", OLDER) == []
    assert contract.errors(body, "dashboard"), "the current release is judged alongside, unchanged (no shared state)"


def test_the_openapi_document_follows_the_baseline():
    name = contract.component_name("dashboard-common")
    component = contract.openapi_document(baseline=OLDER)["components"]["schemas"][name]
    assert "team_id" not in component["required"] and "team_id" in component["properties"]
    assert "team_id" in contract.openapi_document()["components"]["schemas"][name]["required"]


def test_an_invalid_baseline_is_refused():
    with pytest.raises(ValueError, match="YYYY-MM"):
        contract.openapi_document(baseline="January 2024")
    with pytest.raises(ValueError, match="YYYY-MM"):
        contract.errors({}, "dashboard", baseline="January 2024")


# --- real PostHog payloads (issue 13): valid under their era's baseline ----------------------------

REAL_PAYLOADS = sorted((Path(__file__).parent / "data" / "posthog").glob("*.json"))


def _later_fields() -> set[str]:
    """Every field some schema marks as added later (shapes reference one another, e.g. UserBasic)."""
    return {field_name for _, field_name, _ in _added_keywords()}


def test_there_are_real_payloads_with_their_source():
    assert len(REAL_PAYLOADS) >= 3
    for path in REAL_PAYLOADS:
        source = json.loads(path.read_text())["_source"]
        assert source["repository"] == "PostHog/posthog" and source["path"] and source["test"], path.name
        assert source["commit"] or source["commit_note"], f"{path.name} names its commit or says why not"


@pytest.mark.parametrize("path", REAL_PAYLOADS, ids=lambda p: p.stem)
def test_a_real_payload_validates_under_its_eras_baseline(path):
    data = json.loads(path.read_text())
    source, payload = data["_source"], data["payload"]
    assert contract.errors(payload, source["shape"], baseline=source["baseline"]) == [], path.name
    current = contract.errors(payload, source["shape"])
    later = _later_fields()
    assert all(any(f"'{name}'" in problem for name in later) for problem in current), (
        f"{path.name} fails the current baseline on a field not marked as added later: {current}"
    )
    assert bool(current) == (source["baseline"] is not None), "an older payload lacks at least one later field"
