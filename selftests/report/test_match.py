"""Request -> operation, test -> check kinds, test -> matrix cells (posthog_contract.report.match)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from posthog_contract import operations as ops
from posthog_contract.report import match
from posthog_contract.report.match import CHECK_KINDS, attribute, check_kinds, failure_kind, operation_for

ROOT = Path(__file__).resolve().parents[2]


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
    assert check_kinds(nodeid) == ("generated",)
    assert match.generated_operation("tests/test_x.py::test_y[5]") is None


def _suite_test_names() -> list[str]:
    names = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.append(f"tests/{path.name}::{node.name}")
    return names


def test_every_suite_test_gets_known_check_kinds() -> None:
    names = _suite_test_names()
    assert len(names) > 50
    for name in names:
        kinds = check_kinds(name)
        assert kinds and set(kinds) <= set(CHECK_KINDS), name


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("tests/test_auth.py::test_no_credentials_is_401_not_authenticated", ("auth",)),
        (
            "tests/test_dashboards.py::test_delete_is_405_with_empty_body_and_keeps_the_dashboard",
            ("status", "persistence"),
        ),
        ("tests/test_dashboards.py::test_unknown_dashboard_is_404_envelope", ("negative",)),
        ("tests/test_pagination.py::test_dashboards_walk_covers_the_whole_list", ("pagination",)),
        ("tests/test_events.py::test_event_filter_selects_by_exact_name", ("parameters",)),
        ("tests/test_sharing.py::test_enable_is_stored", ("persistence",)),
        ("tests/test_move_tile.py::test_move_tile_without_a_required_key_is_400[tile-tile]", ("negative",)),
        ("tests/test_capture.py::test_capture_with_an_unknown_token_is_refused", ("auth",)),
        ("tests/test_x.py::test_something_else_entirely", ("shape",)),
    ],
)
def test_check_kinds_from_names(nodeid: str, expected: tuple[str, ...]) -> None:
    assert check_kinds(nodeid) == expected


def test_a_check_marker_wins_over_the_name() -> None:
    assert check_kinds("tests/test_auth.py::test_no_credentials", ["persistence", "shape"]) == ("shape", "persistence")


def test_fixture_creation_is_incidental_and_setup_counts_when_the_call_reached_nothing_of_the_family() -> None:
    where = attribute("tests/test_dashboards.py::test_retrieve_returns_a_dashboard", ("shape",),
                      ["dashboards_create", "dashboards_retrieve"], [])
    assert where.operations == ("dashboards_retrieve",) and not where.blocked
    where = attribute("tests/test_sharing.py::test_enable_marks_the_dashboard_shared", ("persistence",),
                      ["dashboards_retrieve"], ["dashboards_create", "dashboards_sharing_partial_update"])
    assert where.operations == ("dashboards_sharing_partial_update",)
    where = attribute("tests/test_auth.py::test_readonly_key_cannot_write[create dashboard]", ("auth",),
                      ["dashboards_create", "dashboards_create"], [])
    assert where.operations == ("dashboards_create",)


def test_a_skipped_test_is_placed_on_its_file_family() -> None:
    nodeid = "tests/test_collaborators.py::test_add_twice_is_400"
    where = attribute(nodeid, ("negative",), [], [], outcome="unavailable")
    assert where.inferred and set(where.operations) == {
        "dashboards_collaborators_list", "dashboards_collaborators_create", "dashboards_collaborators_destroy"}


def test_a_failure_on_a_precondition_blocks_the_test() -> None:
    text = "AssertionError: Contract rule broken: POST dashboards creates a dashboard (201)\n$: 'team_id' is a required"
    where = attribute("tests/test_sharing.py::test_enable_is_stored", ("persistence",), [], ["dashboards_create"],
                      outcome="error", failed_operation="dashboards_create", failure_text=text)
    assert where.blocked and where.operations == ("dashboards_create",) and where.checks == ("shape",)
    where = attribute("tests/test_dashboards.py::test_retrieve_returns_a_dashboard", ("shape",),
                      ["dashboards_create", "dashboards_retrieve"], [], outcome="failed",
                      failed_operation="dashboards_retrieve", failure_text="expected 200, got 500")
    assert not where.blocked and where.operations == ("dashboards_retrieve",) and where.checks == ("shape",)


def test_failure_kind_reads_the_assertion_helpers_messages() -> None:
    assert failure_kind("status 201\nexpected 201, got 500\nPOST ...") == "status"
    assert failure_kind("rule\n$.team_id: 'team_id' is a required property") == "shape"
    assert failure_kind("Content-Type was 'text/html'") == "shape"
    assert failure_kind("the dashboard is named after template_name") is None
