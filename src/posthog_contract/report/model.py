"""The report's data: what one run found, as the plain JSON written to ``report.json``.

The layout is described (and versioned) by ``schemas/report/report.json``; `FORMAT_VERSION` changes
only when a field changes meaning or disappears, so ``diff`` can compare reports of different
suite versions. Everything in it has been redacted before it gets here: evidence is the client's
already-redacted `Exchange` text and every free text passes the session's `Redactor` again.

Vocabulary: a *test* outcome is one of `TEST_OUTCOMES`: ``failed`` is a violation (the host broke a
rule), ``error`` a tool error (the suite or a library crashed: the host was not judged), ``accepted``
a failure a waiver covers. A *check* is one cell of the matrix (operation × check kind); every cell
is present, and holds every test that declares it (its ``operations`` × ``check`` marks), whatever
the test's outcome. Its outcome is the worst of its tests' (`CELL_RANK`): a cell passes only when
every test of it passed, so one unavailable or skipped test makes it ``unavailable`` / ``not_checked``
unless a test found something worse. It is ``not_applicable`` when the operation catalogue declares
the kind does not apply (`Operation.not_applicable`), and ``not_checked`` when no test declares it.
A cell is *checked* when its tests judged the host there (pass, fail, accepted, warning); error,
unavailable and not checked cells were not.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import operations as ops
from ..marks import CHECK_KINDS, CHECK_TITLES
from ..outcomes import COUNTING, RUN_VERDICTS, run_verdict

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "OperationStats",
    "ReportError",
    "RunInfo",
    "TestRecord",
    "build",
    "cell_key",
    "coverage",
    "coverage_shortfall",
    "load",
    "matrix",
]

FORMAT = "posthog-contract-report"
FORMAT_VERSION = 3  # 2: tool errors apart, every cell present; 3: run verdict, coverage, documented parameters only
TEST_OUTCOMES = ("passed", "failed", "error", "accepted", "skipped", "unavailable", "xfailed", "interrupted")
CELL_OUTCOMES = ("pass", "fail", "error", "accepted", "warning", "unavailable", "not_applicable", "not_checked")
#: each cell outcome as a page shows it (report.html, matrix.html) and as Markdown shows it (job summary, matrix.md)
CELL_SYMBOL = {"pass": "✓", "fail": "✗", "error": "E", "accepted": "A", "warning": "!", "unavailable": "?",
               "not_applicable": "n/a", "not_checked": "·"}
CELL_EMOJI = {"pass": "✅", "fail": "❌", "error": "💥", "accepted": "🆗", "warning": "⚠️", "unavailable": "❔",
              "not_applicable": "n/a", "not_checked": "·"}
#: the outcomes where the host was judged (what ``applicable cells checked`` counts)
CHECKED_OUTCOMES = ("pass", "fail", "accepted", "warning")
_CELL_OF = {
    "passed": "pass",
    "failed": "fail",
    "error": "error",
    "accepted": "accepted",
    "skipped": "not_checked",
    "xfailed": "not_checked",
    "unavailable": "unavailable",
    "interrupted": "not_checked",
}
#: a cell shows its worst test: a violation, then a tool error, then an accepted deviation, then a check that
#: could not be made (unavailable, with its reason; skipped), then a warning; it passes only when all its tests did
CELL_RANK = {"fail": 7, "error": 6, "accepted": 5, "unavailable": 4, "not_checked": 3, "warning": 2, "pass": 1}
_MAX_REASONS = 5


class ReportError(ValueError):
    """A file that is not a report this version can read; the message says why."""


@dataclass
class TestRecord:
    """One test item (or one schemathesis operation of a generated test)."""

    id: str
    outcome: str = "passed"
    reason: str = ""
    message: str = ""
    duration_s: float = 0.0
    checks: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()
    #: the operations the test declares; they differ from ``operations`` only for a blocked test
    declared_operations: tuple[str, ...] = ()
    inferred_operations: bool = False  # kept in the format; operations come from the test's marks, never guessed
    container: bool = False  # a generated test whose operations were reported as subtests
    blocked: bool = False  # failed on a request outside its subject (a precondition)
    failed_operation: str | None = None  # the operation of the request the failure names
    waiver: str = ""  # the waiver that accepted the failure (outcome "accepted")
    warnings: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    file: str | None = None  # a failure's test file, as its id names it (tests/test_x.py)
    line: int | None = None  # 1-based line in that file where the failure surfaced (else the test's def)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "outcome": self.outcome,
            "checks": list(self.checks),
            "operations": list(self.operations),
            "inferred_operations": self.inferred_operations,
            "duration_s": round(self.duration_s, 3),
        }
        if self.container:
            data["container"] = True
        if self.blocked:
            data["blocked"] = True
            data["declared_operations"] = list(self.declared_operations)
        if self.failed_operation:
            data["failed_operation"] = self.failed_operation
        if self.waiver:
            data["waiver"] = self.waiver
        if self.reason:
            data["reason"] = self.reason
        if self.message:
            data["message"] = self.message
        if self.warnings:
            data["warnings"] = list(self.warnings)
        if self.evidence:
            data["evidence"] = list(self.evidence)
        if self.file:
            data["file"] = self.file
        if self.line:
            data["line"] = self.line
        return data


@dataclass
class OperationStats:
    """What the run's requests showed about one operation (all requests, not only one test's)."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    parameters: set[str] = field(default_factory=set)
    fields_seen: set[str] = field(default_factory=set)
    #: what requests outside the generated (seeded) checks showed: the part two runs of other seeds share
    fixed_statuses: set[int] = field(default_factory=set)
    fixed_fields: set[str] = field(default_factory=set)
    #: (status, field path) -> [count, example test id]
    undocumented: dict[tuple[int, str], list[Any]] = field(default_factory=dict)


@dataclass
class RunInfo:
    run_id: str | None = None
    seed: int | None = None
    profile: str | None = None
    read_only: bool = False
    started_at: str = ""
    finished_at: str = ""
    duration_s: float = 0.0
    exit_status: int = 0
    verdict: str = ""  # outcomes.RUN_VERDICTS key (verdicts.Verdicts.verdict)
    verdict_text: str = ""  # the verdict's sentence, with the run's own reasons
    min_coverage: float | None = None  # --min-coverage
    arguments: list[str] = field(default_factory=list)
    host_url: str | None = None
    embedded: bool = False
    version: str | None = None
    project_id: str | None = None
    host_notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    generator: str = ""
    notes: list[str] = field(default_factory=list)
    waivers: dict[str, Any] | None = None  # waivers.WaiverFile.to_dict(): file, digest, entries and their status
    provenance: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)  # policy.RequestLedger.as_dict(): what the run sent


def cell_key(operation_id: str, check: str) -> str:
    """The stable name of one matrix cell, as ``diff`` prints it."""
    return f"{operation_id} / {check}"


def test_cell(test: TestRecord) -> str:
    """The cell outcome one test gives: a passed test that warned gives ``warning``."""
    if test.outcome == "passed" and test.warnings:
        return "warning"
    return _CELL_OF.get(test.outcome, "not_checked")


def cell_outcome(outcomes: Iterable[str]) -> str | None:
    """The worst of some cell outcomes (None: no test)."""
    cells = [outcome if outcome in CELL_RANK else _CELL_OF.get(outcome, "not_checked") for outcome in outcomes]
    return max(cells, key=CELL_RANK.__getitem__) if cells else None


def applicable_cells(operations: list[dict[str, Any]]) -> dict[str, int]:
    """Over the documented operations' applicable cells: how many, how many the host was judged in."""
    cells = [c for op in operations if op["documented"] for c in op["checks"].values() if c["applicable"]]
    counts = Counter(c["outcome"] for c in cells)
    return {
        "total": len(cells),
        "checked": sum(counts[o] for o in CHECKED_OUTCOMES),
        **{o: counts[o] for o in ("error", "unavailable", "not_checked")},
    }


def coverage(operations: list[dict[str, Any]], minimum: float | None = None) -> dict[str, Any]:
    """Coverage as part of the verdict (issue 24): *complete* only when every applicable cell of the documented
    operations was judged; otherwise *incomplete*, with each cell not judged and why. ``minimum``
    (--min-coverage) is recorded with whether the run met it."""
    cells = [(op["operation_id"], kind, cell) for op in operations if op["documented"]
             for kind, cell in op["checks"].items() if cell["applicable"]]
    checked = sum(cell["outcome"] in CHECKED_OUTCOMES for _, _, cell in cells)
    total = len(cells)
    share = 100.0 * checked / total if total else 100.0
    not_judged = [
        {"cell": cell_key(operation_id, kind), "outcome": cell["outcome"],
         "reasons": [r for r in cell["reasons"] if not r.startswith("not applicable:")][:3] or [_unjudged(cell)]}
        for operation_id, kind, cell in cells if cell["outcome"] not in CHECKED_OUTCOMES
    ]
    return {
        "status": "complete" if checked == total else "incomplete",
        "checked": checked,
        "total": total,
        "percent": round(share, 1),
        "minimum": minimum,
        "met": None if minimum is None else share + 1e-9 >= minimum,
        "not_judged": not_judged,
    }


def coverage_shortfall(coverage: dict[str, Any] | None, minimum: float) -> str | None:
    """One sentence when fewer than ``minimum`` percent of the applicable cells were judged, else None."""
    if coverage is None:
        return None
    total, checked = coverage.get("total") or 0, coverage.get("checked") or 0
    share = 100.0 * checked / total if total else 100.0
    if share + 1e-9 >= minimum:
        return None
    return (f"applicable cells checked: {checked}/{total} ({share:.0f} %) is below the minimum of {minimum:g} % "
            "(--min-coverage): the host was judged on too little")


def _unjudged(cell: Mapping[str, Any]) -> str:
    """Why a cell without a stated reason was not judged."""
    if not cell["tests"]:
        return "no test of this run judges it (not selected: a file, -k or --contract-operation selection)"
    outcomes = sorted({t["outcome"] for t in cell["tests"] if t["outcome"] != "passed"})
    return f"its tests did not judge the host: {', '.join(outcomes) or 'not run'}"


def matrix(run: RunInfo, tests: list[TestRecord], stats: Mapping[str, OperationStats]) -> list[dict[str, Any]]:
    """Every operation of the catalogue with its cells (operation × check kind), from the run's leaf tests
    (a generated test counts as its operations: posthog_contract.counting)."""
    leaf_tests = [t for t in tests if not t.container]
    return [_operation(op, leaf_tests, stats.get(op.operation_id) or OperationStats(), run) for op in ops.OPERATIONS]


def build(
    run: RunInfo,
    tests: list[TestRecord],
    stats: Mapping[str, OperationStats],
    outcomes: list[dict[str, str]],
    drift: dict[str, Any] | None,
) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    leaf_tests = [t for t in tests if not t.container]
    operations = matrix(run, tests, stats)
    cells = [cell for op in operations for cell in op["checks"].values()]
    test_counts = Counter(t.outcome for t in leaf_tests)
    undocumented = [
        {"operation_id": op_id, "status": status, "field": path, "count": count, "example_test": example}
        for op_id, op_stats in sorted(stats.items())
        for (status, path), (count, example) in sorted(op_stats.undocumented.items())
    ]
    documented = [op for op in operations if op["documented"]]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": run.generator,
        "run": {
            "id": run.run_id,
            "seed": run.seed,
            "profile": run.profile,
            "read_only": run.read_only,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "duration_s": round(run.duration_s, 3),
            "exit_status": run.exit_status,
            "verdict": run.verdict or run_verdict(run.exit_status),
            "verdict_text": run.verdict_text or RUN_VERDICTS[run.verdict or run_verdict(run.exit_status)],
            "arguments": list(run.arguments),
            "cost": dict(run.cost),
        },
        "host": {
            "url": run.host_url,
            "embedded": run.embedded,
            "version": run.version,
            "project_id": run.project_id,
            "notes": list(run.host_notes),
        },
        "options": run.options,
        "provenance": dict(run.provenance),
        "waivers": run.waivers,
        "summary": {
            "tests": {**{outcome: test_counts.get(outcome, 0) for outcome in TEST_OUTCOMES}, "total": len(leaf_tests)},
            "checks": {
                **{outcome: sum(c["outcome"] == outcome for c in cells) for outcome in CELL_OUTCOMES},
                "total": len(cells),
            },
            "applicable_cells": applicable_cells(operations),
            "coverage": coverage(operations, run.min_coverage),
            "counting": COUNTING,
            "operations": {
                "total": len(operations),
                "exercised": sum(op["exercised"] for op in operations),
                "documented_total": len(documented),
                "documented_exercised": sum(op["exercised"] for op in documented),
            },
            "warnings": sum(o["kind"] == "warning" for o in outcomes),
            "undocumented_fields": len(undocumented),
            "drift": None if drift is None else {
                "status": drift.get("status"),
                "significant": drift.get("significant", 0),
                "info": drift.get("info", 0),
            },
        },
        "check_kinds": [{"id": kind, "title": CHECK_TITLES[kind]} for kind in CHECK_KINDS],
        "operations": operations,
        "tests": [t.to_dict() for t in tests],
        "undocumented_fields": undocumented,
        "outcomes": outcomes,
        "drift": drift,
        "notes": list(run.notes),
    }


def _operation(op: ops.Operation, tests: list[TestRecord], stats: OperationStats, run: RunInfo) -> dict[str, Any]:
    mine = [t for t in tests if op.operation_id in t.operations]
    checks: dict[str, Any] = {}
    for kind in CHECK_KINDS:
        members = [t for t in mine if kind in t.checks]
        not_applicable = op.not_applicable.get(kind)
        outcome = cell_outcome(test_cell(t) for t in members)
        reasons = list(dict.fromkeys(t.reason for t in members if t.reason and t.outcome != "passed"))
        if outcome is None:
            outcome = "not_applicable" if not_applicable else "not_checked"
        if not_applicable:
            reasons.insert(0, f"not applicable: {not_applicable}")
        checks[kind] = {
            "outcome": outcome,
            "applicable": not not_applicable,
            "tests": [{"id": t.id, "outcome": t.outcome} for t in members],
            "reasons": reasons[:_MAX_REASONS],
        }
    documented_statuses = sorted({op.success_status, *op.error_statuses})
    seen = {str(status): count for status, count in sorted(stats.statuses.items())}
    documented_params = [p.name for p in op.query_params]
    exercised = stats.requests > 0 or any(
        t.outcome in ("passed", "failed", "accepted", "error") and set(t.checks) - {"drift"} for t in mine
    )  # the drift test reads the host's document, not the operation
    entry: dict[str, Any] = {
        "operation_id": op.operation_id,
        "method": op.method,
        "path": op.full_path("projects") if op.prefixed else op.path,
        "summary": op.summary,
        "documented": op.documented,
        "exercised": exercised,
        "requests": stats.requests,
        "checks": checks,
        "statuses": {
            "documented": documented_statuses,
            "seen": seen,
            "not_seen": [s for s in documented_statuses if s not in stats.statuses],
            "undocumented_seen": sorted(s for s in stats.statuses if s not in documented_statuses),
            # seen only in the generated checks' requests: what another seed may not produce (``diff``)
            "generated_only": sorted(str(s) for s in stats.statuses if s not in stats.fixed_statuses),
        },
        "parameters": {  # documented names only; the names generated cases invent are a count (issue 24)
            "documented": documented_params,
            "seen": [p for p in documented_params if p in stats.parameters],
            "not_seen": [p for p in documented_params if p not in stats.parameters],
            "undocumented_names_sent": len(stats.parameters - set(documented_params)),
        },
        "fields_seen": sorted(stats.fields_seen),
        "fields_generated_only": sorted(stats.fields_seen - stats.fixed_fields),
    }
    if not exercised:
        entry["why_not"] = _why_not(op, mine, run, tests)
    return entry


def _why_not(op: ops.Operation, mine: list[TestRecord], run: RunInfo, tests: list[TestRecord]) -> str:
    reasons = list(dict.fromkeys(t.reason for t in mine if t.reason))
    if reasons:
        return "; ".join(reasons[:3])
    blocked = [t for t in tests if t.blocked and op.operation_id in t.declared_operations]
    if blocked:
        first = blocked[0]
        return (f"{len(blocked)} of its tests failed first on {first.failed_operation} "
                f"({first.reason or 'a precondition'})")
    if "capture" in op.tags:
        return "capture is exercised through /batch/ and the other capture paths only as the scenario tests need"
    if run.read_only and op.method != "GET":
        return "read-only run: requests that write were not sent"
    return "no test of this run sent a request to it"


# --- reading ------------------------------------------------------------------------------------------


def load(path: str | Path) -> dict[str, Any]:
    """A report written by this or an earlier format version; ReportError when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ReportError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ReportError(f"{path} is not a posthog-contract report (no \"format\": \"{FORMAT}\")")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ReportError(f"{path} has report format {version!r}; this version reads up to {FORMAT_VERSION}")
    return data


def write_json(report: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
