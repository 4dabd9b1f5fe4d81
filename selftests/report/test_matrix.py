"""The matrix tells the truth (issue 14, point 2; issue 21, point 3): every cell is pass, fail, error,
accepted, warning, unavailable, not applicable (declared in the operation catalogue) or not checked; a
test lands in the cells its marks declare whatever its outcome, a cell passes only when all its tests
did, and the summary counts the applicable cells of the documented operations that were checked."""

from __future__ import annotations

from pathlib import Path

from report_support import run_external

from posthog_contract import operations as ops
from posthog_contract.report import model
from posthog_contract.report.collect import applicable_line
from posthog_contract.report.match import CHECK_KINDS


def _build(*tests: model.TestRecord) -> dict:
    return model.build(model.RunInfo(), list(tests), {}, [], None)


def test_not_applicable_names_real_columns_with_a_reason() -> None:
    for operation in ops.OPERATIONS:
        for kind, reason in operation.not_applicable.items():
            assert kind in CHECK_KINDS, (operation.operation_id, kind)
            assert len(reason) > 10, (operation.operation_id, kind)
    assert "pagination" not in ops.by_id("events_list").not_applicable  # the one documented list


def test_every_cell_is_present_and_says_what_it_is() -> None:
    report = _build(
        model.TestRecord("t::a", checks=("shape",), operations=("dashboards_retrieve",)),
        model.TestRecord("t::b", outcome="error", checks=("status",), operations=("dashboards_retrieve",)),
        model.TestRecord("t::c", checks=("auth",), operations=("dashboards_retrieve",), warnings=["slow"]),
        model.TestRecord("t::d", outcome="skipped", checks=("negative",), operations=("dashboards_retrieve",)),
    )
    retrieve = next(op for op in report["operations"] if op["operation_id"] == "dashboards_retrieve")
    outcomes = {kind: cell["outcome"] for kind, cell in retrieve["checks"].items()}
    assert list(outcomes) == list(CHECK_KINDS)
    assert outcomes["shape"] == "pass" and outcomes["status"] == "error" and outcomes["auth"] == "warning"
    assert outcomes["negative"] == "not_checked" and outcomes["persistence"] == "not_checked"
    assert outcomes["pagination"] == outcomes["parameters"] == "not_applicable"
    assert not retrieve["checks"]["pagination"]["applicable"]
    cells = report["summary"]["applicable_cells"]
    documented = ops.documented_operations()
    total = sum(len(CHECK_KINDS) - len(op.not_applicable) for op in documented)
    assert cells["total"] == total and cells["checked"] == 2 and cells["error"] == 1  # shape pass, auth warning
    assert applicable_line(cells).startswith(f"applicable cells checked: 2/{total} (1 tool errors, ")


def test_a_failure_outranks_a_tool_error_and_a_pass() -> None:
    assert model.cell_outcome(["passed", "failed", "error"]) == "fail"
    assert model.cell_outcome(["passed", "accepted"]) == "accepted"
    assert model.cell_outcome([]) is None


def test_a_cell_passes_only_when_every_test_of_it_was_made() -> None:
    """One check of a cell that could not be made leaves the cell unjudged, with its reason: a passing
    neighbour does not paint it green (the auth column once read all green with nine checks unavailable)."""
    assert model.cell_outcome(["unavailable", "passed"]) == "unavailable"
    assert model.cell_outcome(["skipped", "passed"]) == "not_checked"
    assert model.cell_outcome(["unavailable", "skipped", "passed"]) == "unavailable"
    assert model.cell_outcome(["passed", "warning"]) == "warning"
    assert model.cell_outcome(["unavailable", "failed"]) == "fail"
    report = _build(
        model.TestRecord("t::anonymous", checks=("auth",), operations=("dashboards_destroy",)),
        model.TestRecord("t::readonly", outcome="unavailable", reason="no read-only key: set POSTHOG_READONLY_API_KEY",
                         checks=("auth",), operations=("dashboards_destroy",)),
    )
    destroy = next(op for op in report["operations"] if op["operation_id"] == "dashboards_destroy")
    cell = destroy["checks"]["auth"]
    assert cell["outcome"] == "unavailable" and "POSTHOG_READONLY_API_KEY" in " ".join(cell["reasons"])
    assert [t["outcome"] for t in cell["tests"]] == ["passed", "unavailable"]
    assert report["summary"]["applicable_cells"]["unavailable"] == 1


def test_without_the_readonly_key_and_the_other_project_the_auth_cells_say_unavailable(tmp_path: Path) -> None:
    """End to end, against the reference served as an external host with POSTHOG_READONLY_API_KEY and
    POSTHOG_OTHER_PROJECT_ID unset: the checks that need them land on their operations' auth cells as
    unavailable, naming the setting, next to the anonymous checks that still pass there; the summary no
    longer counts those cells as checked (it used to say 64/64 with the auth column all green)."""
    run = run_external(tmp_path, "tests/test_auth.py", "tests/test_writes.py", "-k",
                       "read_only_key or readonly or another_organisation or without_a_key",
                       unset=("POSTHOG_READONLY_API_KEY", "POSTHOG_OTHER_PROJECT_ID"))
    assert run.exit_code == 0, run.output[-4000:]
    report = run.report
    unavailable = [t for t in report["tests"] if t["outcome"] == "unavailable"]
    assert unavailable and all(t["operations"] and t["checks"] == ["auth"] for t in unavailable), unavailable
    settings = ("POSTHOG_READONLY_API_KEY", "POSTHOG_OTHER_PROJECT_ID")
    assert all(any(name in t["reason"] for name in settings) for t in unavailable), unavailable
    affected = {operation for t in unavailable for operation in t["operations"]}
    cells = {op["operation_id"]: op["checks"]["auth"] for op in report["operations"]}
    for operation_id in affected:
        cell = cells[operation_id]
        assert cell["outcome"] == "unavailable", (operation_id, cell)
        assert any(name in " ".join(cell["reasons"]) for name in settings), (operation_id, cell)
        assert "passed" in {t["outcome"] for t in cell["tests"]}, f"{operation_id}: the anonymous check still ran"
    for operation_id in ("dashboards_retrieve", "events_list", "events_retrieve"):  # no write, no other project
        assert operation_id not in affected and cells[operation_id]["outcome"] == "pass", cells[operation_id]
    for operation_id in ("dashboards_partial_update", "dashboards_destroy", "dashboards_move_tile_partial_update"):
        assert operation_id in affected, f"{operation_id}: a write the read-only key must be refused"
    applicable = report["summary"]["applicable_cells"]
    documented = {op.operation_id for op in ops.documented_operations()}
    assert applicable["unavailable"] == len(documented & affected) >= 3
    assert applicable["checked"] == applicable["total"] - applicable["unavailable"] - applicable["not_checked"]
