"""create_from_template_json: 200 with a Dashboard built from the template (contract §6)."""

from __future__ import annotations

import pytest

from posthog_contract.assertions import expect_error, expect_shape, expect_that, fail
from posthog_contract.pagination import walk_dashboards
from posthog_contract.wire import refuses_personal_keys

pytestmark = [pytest.mark.writes, pytest.mark.operations("dashboards_create_from_template_json_create")]


def template(name: str, **changes) -> dict:
    body = {
        "template_name": name,
        "dashboard_description": f"description of {name}",
        "dashboard_filters": {},
        "tags": [],
        "tiles": [{"type": "TEXT", "body": f"text of {name}", "layouts": {}}],
    }
    body.update(changes)
    return {"template": {k: v for k, v in body.items() if v is not None}}


def post_template(client, paths, resources, outcomes, body):
    response = client.post(paths.create_from_template_json(), json=body)
    if refuses_personal_keys(response.status_code, response.text):
        outcomes.unavailable("create_from_template_json refuses personal API keys on this host (§6)")
    if response.status_code in (200, 201) and response.content.strip():
        created = response.json()
        if isinstance(created, dict) and isinstance(created.get("id"), int):
            resources.track_dashboard(created["id"])
    return response


def found_by_name(client, paths, resources, name: str, response):
    """§6: after an empty 200 the suite finds the dashboard in the list by its run-tagged name."""
    walked = walk_dashboards(client, paths.dashboards(), limit=100)
    matches = [item for item in walked.items if item.get("name") == name]
    if not matches:
        raise fail(
            "a create_from_template_json 200 creates the dashboard: it is listed under its template_name (§6)",
            response,
            f"no dashboard named {name!r} among {len(walked.items)} listed",
        )
    resources.track_dashboard(matches[0]["id"])
    read = client.get(paths.dashboard(matches[0]["id"]))
    return read, expect_shape(read, 200, "dashboard", rule="the dashboard made from the template can be read (§2.4)")


@pytest.mark.check("status", "shape", "persistence")
def test_template_creates_a_dashboard_named_after_it(client, paths, resources, outcomes):
    name = resources.name("from-template")
    response = post_template(client, paths, resources, outcomes, template(name))
    if response.status_code == 200 and not response.content.strip():
        outcomes.warn("create_from_template_json answered 200 with an empty body (documented 'No response body')")
        response, body = found_by_name(client, paths, resources, name, response)
    else:
        body = expect_shape(
            response, 200, "dashboard", rule="create_from_template_json answers 200 (not 201) with a Dashboard (§6)"
        )
        reread = client.get(paths.dashboard(body["id"]))
        expect_shape(
            reread, 200, "dashboard", rule="the dashboard create_from_template_json answered with is stored (§6)"
        )
    expect_that(body["name"] == name, "the dashboard is named after `template_name` (§6)", response)
    expect_that(
        body["description"] == f"description of {name}",
        "the dashboard's description is `dashboard_description` (§6)",
        response,
    )
    texts = [(t.get("text") or {}).get("body") for t in body.get("tiles") or []]
    expect_that(
        texts == [f"text of {name}"],
        "one tile per template tile, TEXT tiles carry their body (§6)",
        response,
        f"tile texts: {texts}",
    )


@pytest.mark.check("negative")
def test_template_without_a_name_is_400_naming_the_key(client, paths, resources, outcomes):
    body = template(resources.name("no-name"), template_name=None)
    response = post_template(client, paths, resources, outcomes, body)
    expect_error(
        response,
        400,
        code="invalid_input",
        detail_contains="template_name",
        rule="a template without `template_name` is a 400 naming the key (§6)",
    )


@pytest.mark.check("negative")
def test_template_with_no_tiles_is_400(client, paths, resources, outcomes):
    response = post_template(client, paths, resources, outcomes, template(resources.name("no-tiles"), tiles=[]))
    expect_error(response, 400, code="invalid_input", rule="a template with an empty `tiles` is a 400 (§6)")
