"""Request -> operation, and a test's declarations -> matrix cells (posthog_contract.report.match)."""

from __future__ import annotations

import re

import pytest

from posthog_contract import operations as ops
from posthog_contract.marks import Declared
from posthog_contract.report import match
from posthog_contract.report.match import attribute, failure_kind, operation_for


def concrete(template: str) -> str:
    values = {"project_id": "12", "id": "34", "dashboard_id": "34", "user_uuid": "0190b7a1-0000-7000-8000-0000000000a2"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), template)


@pytest.mark.parametrize("operation", ops.OPERATIONS, ids=lambda op: op.operation_id)
@pytest.mark.parametrize("prefix", ["projects", "environments"])
def test_every_operation_is_found_from_its_url_under_either_prefix(operation: ops.Operation, prefix: str) -> None:
    path = concrete(operation.full_path(prefix) if operation.prefixed else operation.path)
    for url in (f"https://eu.posthog.com{path}?limit=5", path.rstrip("/"), f"http://127.0.0.1:8010{path}"):
        found = operation_for(operation.method, url)
        assert found is not None and found.operation_id == operation.operation_id, url


def test_literal_segments_win_over_parameters() -> None:
    found = operation_for("POST", "/api/projects/1/dashboards/create_from_template_json/")
    assert found is not None and found.operation_id == "dashboards_create_from_template_json_create"
    assert operation_for("GET", "/api/projects/@current/dashboards/").operation_id == "dashboards_list"


def test_a_method_the_catalogue_lacks_matches_only_by_path() -> None:
    url = "/api/projects/1/dashboards/2/collaborators/0190b7a1-0000-7000-8000-0000000000a2/"
    assert operation_for("PATCH", url) is None
    assert operation_for("PATCH", url, any_method=True).operation_id == "dashboards_collaborators_destroy"
    assert operation_for("GET", "/api/schema/") is None


def test_generated_items_name_their_operation_by_template() -> None:
    nodeid = (
        "tests/test_property_based.py::test_read_operations_conform[GET /api/environments/{project_id}/events/{id}/]"
    )
    assert match.generated_operation(nodeid).operation_id == "events_retrieve"
    assert match.generated_operation("tests/test_x.py::test_y[5]") is None


def test_a_test_lands_on_what_it_declares_whatever_its_outcome() -> None:
    declared = Declared(("dashboards_sharing_partial_update", "dashboards_sharing_list"), ("persistence",))
    for outcome in ("passed", "skipped", "unavailable", "xfailed"):
        where = attribute(declared, outcome=outcome)
        assert (where.operations, where.checks, where.blocked) == (declared.operations, declared.checks, False)


def test_a_failure_on_a_precondition_blocks_the_test() -> None:
    text = "AssertionError: Contract rule broken: POST dashboards creates a dashboard (201)\n$: 'team_id' is a required"
    declared = Declared(("dashboards_sharing_list",), ("persistence",))
    where = attribute(declared, outcome="error", failed_operation="dashboards_create", failure_text=text)
    assert where.blocked and where.operations == ("dashboards_create",) and where.checks == ("shape",)
    declared = Declared(("dashboards_retrieve",), ("shape",))
    where = attribute(
        declared, outcome="failed", failed_operation="dashboards_retrieve", failure_text="expected 200, got 500"
    )
    assert not where.blocked and where.operations == ("dashboards_retrieve",) and where.checks == ("shape",)
    where = attribute(declared, outcome="failed", failed_operation=None, failure_text="expected 200, got 500")
    assert not where.blocked and where.operations == ("dashboards_retrieve",)


def test_failure_kind_reads_the_assertion_helpers_messages() -> None:
    assert failure_kind("status 201\nexpected 201, got 500\nPOST ...") == "status"
    assert failure_kind("rule\n$.team_id: 'team_id' is a required property") == "shape"
    assert failure_kind("Content-Type was 'text/html'") == "shape"
    assert failure_kind("the dashboard is named after template_name") is None
