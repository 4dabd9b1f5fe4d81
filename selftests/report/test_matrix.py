"""The matrix tells the truth (issue 14, point 2): every cell is pass, fail, error, accepted, warning,
unavailable, not applicable (declared in the operation catalogue) or not checked, and the summary
counts the applicable cells of the documented operations that were checked."""

from __future__ import annotations

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
    assert model.cell_outcome(["unavailable", "passed"]) == "pass"
    assert model.cell_outcome([]) is None
