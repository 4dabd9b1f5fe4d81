"""Dashboard PATCH items of today's PostHog: ``quick_filter_ids``, ``button_tile`` and ``widget`` tile items
(contract §2.5, §2.6), over HTTP only.

PostHog source: ``products/dashboards/backend/api/dashboard.py``: ``DashboardSerializer.quick_filter_ids`` /
``validate_quick_filter_ids``; ``_update_tiles`` with ``ButtonTileSerializer`` (``validate_url``) and
``DashboardPatchWidgetSerializer`` then ``dashboard_widgets_enabled``; ``_update_existing_tile_display_fields``
(display-only items for unknown ids are skipped).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from posthog_contract.reference.world import OTHER_PROJECT_QUICK_FILTER_ID, QUICK_FILTER_ID


def patch(api: httpx.Client, base: str, dashboard_id: int, body: dict[str, Any]) -> httpx.Response:
    return api.patch(f"{base}/dashboards/{dashboard_id}/", json=body)


# --- quick_filter_ids ------------------------------------------------------------------------------------


SPELLINGS = [QUICK_FILTER_ID, QUICK_FILTER_ID.upper(), QUICK_FILTER_ID.replace("-", ""), "{" + QUICK_FILTER_ID + "}",
             f"urn:uuid:{QUICK_FILTER_ID}", f"  {QUICK_FILTER_ID} "]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_projects_quick_filter_is_stored_normalised(api, base, make_dashboard, spelling):
    made = make_dashboard(name="quick-filters")
    response = patch(api, base, made["id"], {"quick_filter_ids": [spelling]})
    assert response.status_code == 200, response.text
    assert response.json()["quick_filter_ids"] == [QUICK_FILTER_ID]
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["quick_filter_ids"] == [QUICK_FILTER_ID]


@pytest.mark.parametrize("empty", [[], None])
def test_an_empty_or_null_list_clears_them(api, base, make_dashboard, empty):
    made = make_dashboard(name="quick-filters-cleared", quick_filter_ids=[QUICK_FILTER_ID])
    assert made["quick_filter_ids"] == [QUICK_FILTER_ID]
    response = patch(api, base, made["id"], {"quick_filter_ids": empty})
    assert response.status_code == 200 and response.json()["quick_filter_ids"] == []


@pytest.mark.parametrize(("ids", "detail"), [
    (["nope"], "Invalid UUID: nope"),
    ([QUICK_FILTER_ID, 5], "Invalid UUID: 5"),
    ([str(uuid.UUID(int=7))], f"Quick filters not found: {uuid.UUID(int=7)}"),
    ([QUICK_FILTER_ID, OTHER_PROJECT_QUICK_FILTER_ID, str(uuid.UUID(int=8)).upper()],
     f"Quick filters not found: {OTHER_PROJECT_QUICK_FILTER_ID}, {uuid.UUID(int=8)}"),
])
def test_unusable_quick_filter_ids_are_400_on_the_field(api, base, make_dashboard, expect_error, ids, detail):
    made = make_dashboard(name="quick-filters-refused", quick_filter_ids=[QUICK_FILTER_ID])
    expect_error(patch(api, base, made["id"], {"quick_filter_ids": ids, "name": "unchanged?"}), 400,
                 "invalid_input", detail, "quick_filter_ids")
    kept = api.get(f"{base}/dashboards/{made['id']}/").json()
    assert kept["quick_filter_ids"] == [QUICK_FILTER_ID] and kept["name"] == "quick-filters-refused"


@pytest.mark.parametrize(("item", "code", "detail"), [
    (None, "null", "This field may not be null."),
    ("  ", "blank", "This field may not be blank."),
    (True, "invalid_input", "Not a valid string."),
    ({"id": QUICK_FILTER_ID}, "invalid_input", "Not a valid string."),
])
def test_an_item_char_field_refuses_is_400_on_its_index(api, base, make_dashboard, expect_error, item, code, detail):
    made = make_dashboard(name="quick-filters-items")
    expect_error(patch(api, base, made["id"], {"quick_filter_ids": [QUICK_FILTER_ID, item]}), 400, code, detail,
                 "quick_filter_ids__1")


def test_quick_filters_on_create(api, base, expect_error):
    made = api.post(f"{base}/dashboards/", json={"name": "qf-create", "quick_filter_ids": [QUICK_FILTER_ID]})
    assert made.status_code == 201 and made.json()["quick_filter_ids"] == [QUICK_FILTER_ID]
    refused = api.post(f"{base}/dashboards/", json={"name": "qf-create", "quick_filter_ids": [str(uuid.UUID(int=9))]})
    expect_error(refused, 400, "invalid_input", f"Quick filters not found: {uuid.UUID(int=9)}", "quick_filter_ids")


def test_field_order_reports_restriction_level_before_quick_filters(api, base, make_dashboard, expect_error):
    made = make_dashboard(name="qf-order")
    body = {"restriction_level": 99, "quick_filter_ids": ["nope"]}
    expect_error(patch(api, base, made["id"], body), 400, "invalid_choice", attr="restriction_level")


# --- button tiles ----------------------------------------------------------------------------------------

BUTTON = {"url": "https://posthog.com/docs", "text": "Read the docs"}


def button_tiles(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [tile for tile in body["tiles"] if tile["button_tile"]]


def test_a_button_tile_item_creates_a_button_tile(api, base, make_dashboard, reference):
    made = make_dashboard(name="button")
    response = patch(api, base, made["id"], {"tiles": [{"button_tile": BUTTON, "color": "blue"}]})
    assert response.status_code == 200, response.text
    (tile,) = button_tiles(response.json())
    button = tile["button_tile"]
    assert tile["insight"] is None and tile["text"] is None and tile["color"] == "blue"
    assert uuid.UUID(button["id"]) and button["url"] == BUTTON["url"] and button["text"] == BUTTON["text"]
    assert button["placement"] == "left" and button["style"] == "primary" and button["team"] == reference["project_id"]
    assert button["created_by"]["email"] and button["dashboard_tiles"] == [
        {"id": tile["id"], "dashboard_id": made["id"], "deleted": False}
    ]
    assert button_tiles(api.get(f"{base}/dashboards/{made['id']}/").json()) == [tile]


def test_a_button_tile_is_updated_by_its_id(api, base, make_dashboard):
    made = make_dashboard(name="button-update")
    tile = button_tiles(patch(api, base, made["id"], {"tiles": [{"button_tile": BUTTON}]}).json())[0]
    changed = {"id": tile["button_tile"]["id"], "url": "/project/1/insights", "text": "Insights",
               "placement": "right", "style": "secondary"}
    response = patch(api, base, made["id"], {"tiles": [{"id": tile["id"], "button_tile": changed}]})
    assert response.status_code == 200, response.text
    (updated,) = button_tiles(response.json())
    assert updated["id"] == tile["id"] and updated["button_tile"]["id"] == tile["button_tile"]["id"]
    assert {k: updated["button_tile"][k] for k in ("url", "text", "placement", "style")} == {
        k: changed[k] for k in ("url", "text", "placement", "style")
    }


@pytest.mark.parametrize(("button", "code", "detail", "attr"), [
    ({"text": "x"}, "required", "This field is required.", "button_tile__url"),
    ({"url": "https://posthog.com"}, "required", "This field is required.", "button_tile__text"),
    ({**BUTTON, "url": "ftp://posthog.com"}, "invalid_input", "Must be a valid URL or a pathname starting with /",
     "button_tile__url"),
    ({**BUTTON, "url": "not a url"}, "invalid_input", "Must be a valid URL or a pathname starting with /",
     "button_tile__url"),
    ({**BUTTON, "url": "/path with spaces"}, "invalid_input",
     "Pathname must start with / and contain valid URL path characters", "button_tile__url"),
    ({**BUTTON, "url": "https://posthog.com/" + "a" * 2000}, "max_length", "Button URL cannot exceed 2000 characters",
     "button_tile__url"),
    ({**BUTTON, "text": "t" * 201}, "max_length", "Button text cannot exceed 200 characters", "button_tile__text"),
    ({**BUTTON, "text": ""}, "blank", "This field may not be blank.", "button_tile__text"),
    ({**BUTTON, "placement": "center"}, "invalid_choice", '"center" is not a valid choice.', "button_tile__placement"),
    ({**BUTTON, "style": "loud"}, "invalid_choice", '"loud" is not a valid choice.', "button_tile__style"),
    ({**BUTTON, "id": str(uuid.UUID(int=5))}, "invalid_input", "Button tile not found in this team.", "button_tile"),
    ("https://posthog.com", "invalid_input", "Invalid data. Expected a dictionary, but got str.", "button_tile"),
])
def test_a_button_tile_serializer_refusal_is_400_keyed_by_the_item(api, base, make_dashboard, expect_error, button,
                                                                  code, detail, attr):
    made = make_dashboard(name="button-refused")
    response = patch(api, base, made["id"], {"tiles": [{"text": {"body": "first"}}, {"button_tile": button}]})
    expect_error(response, 400, code, detail, attr)
    assert api.get(f"{base}/dashboards/{made['id']}/").json()["tiles"] == [], "a refused PATCH writes nothing"


def test_another_dashboards_button_tile_is_not_found(api, base, make_dashboard, expect_error):
    first, second = make_dashboard(name="button-a"), make_dashboard(name="button-b")
    tile = button_tiles(patch(api, base, first["id"], {"tiles": [{"button_tile": BUTTON}]}).json())[0]
    response = patch(api, base, second["id"], {"tiles": [{"button_tile": {**BUTTON, "id": tile["button_tile"]["id"]}}]})
    expect_error(response, 400, "invalid_input", "Button tile not found.", "button_tile")


def test_button_tiles_are_duplicated_and_moved(api, base, make_dashboard):
    source = make_dashboard(name="button-source")
    tile = button_tiles(patch(api, base, source["id"], {"tiles": [{"button_tile": BUTTON}]}).json())[0]
    shallow = api.post(f"{base}/dashboards/", json={"name": "button-copy", "use_dashboard": source["id"]}).json()
    assert button_tiles(shallow)[0]["button_tile"]["id"] == tile["button_tile"]["id"]
    deep = api.post(f"{base}/dashboards/", json={"name": "button-deep", "use_dashboard": source["id"],
                                                 "duplicate_tiles": True}).json()
    copied = button_tiles(deep)[0]["button_tile"]
    assert copied["id"] != tile["button_tile"]["id"] and copied["url"] == BUTTON["url"]
    target = make_dashboard(name="button-target")
    moved = api.patch(f"{base}/dashboards/{source['id']}/move_tile/", json={"tile": {"id": tile["id"]},
                                                                           "to_dashboard": target["id"]})
    assert moved.status_code == 200 and moved.json()["tiles"] == []
    assert [t["id"] for t in api.get(f"{base}/dashboards/{target['id']}/").json()["tiles"]] == [tile["id"]]


# --- widget tiles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("widget", "code", "detail", "attr"), [
    ({"widget_type": "error_tracking_list", "config": {}}, "invalid_input",
     "Dashboard widgets are not enabled for this project.", "widget"),
    ({"widget_type": "pie_chart"}, "invalid_choice", '"pie_chart" is not a valid choice.', "widget__widget_type"),
    ({"widget_type": "logs_list", "config": None}, "null", "This field may not be null.", "widget__config"),
    ({"widget_type": "logs_list", "name": "n" * 401}, "max_length",
     "Ensure this field has no more than 400 characters.", "widget__name"),
    ({"id": "not-a-uuid"}, "invalid_input", "Must be a valid UUID.", "widget__id"),
    (["logs_list"], "invalid_input", "Invalid data. Expected a dictionary, but got list.", "widget"),
])
def test_a_widget_item_is_validated_then_refused(api, base, make_dashboard, expect_error, widget, code, detail, attr):
    made = make_dashboard(name="widget")
    expect_error(patch(api, base, made["id"], {"tiles": [{"widget": widget}]}), 400, code, detail, attr)


# --- display-only items -----------------------------------------------------------------------------------


def test_display_only_items_for_unknown_tiles_are_skipped(api, base, make_dashboard, add_text_tile):
    made = make_dashboard(name="display-only")
    tile = add_text_tile(made["id"], "kept")
    response = patch(api, base, made["id"], {"tiles": [{"id": 999999999, "color": "red"}, {"color": "green"},
                                                       {"id": tile["id"], "color": "blue"}, {"button_tile": None},
                                                       {"widget": {}}]})
    assert response.status_code == 200, response.text
    assert [(t["id"], t["color"]) for t in response.json()["tiles"]] == [(tile["id"], "blue")]


def test_pending_quick_filter_mutant_accepts_unknown_ids(reference_server, base):
    client = reference_server("unknown_quick_filter_accepted").client()
    made = client.post(f"{base}/dashboards/", json={"name": "qf-mutant", "quick_filter_ids": [str(uuid.UUID(int=3))]})
    assert made.status_code == 201 and made.json()["quick_filter_ids"] == [str(uuid.UUID(int=3))]
