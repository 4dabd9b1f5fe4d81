"""``python -m posthog_contract diff OLD.json NEW.json``: what changed between two runs.

Made for upgrades: run the suite against staging before and after a PostHog upgrade (or keep the
previous CI run's report) and diff. It prints checks (operation × check kind) that newly fail or
newly pass, tests that newly fail, the status codes each operation answered, the response
fields that appeared or disappeared, and the host's deprecations (contract §1.9): operations newly
deprecated, those whose sunset passed since the last run, and those no longer announced. Exit
status: 0 nothing newly fails, 1 something newly fails (a deprecation is reported, never a failure
here: ``--deprecations fail`` decides that for a run), 2 a file is not a readable report, or the two
runs are not comparable.

Two reports are comparable only when the same suite version, profile and baseline produced them
(``provenance`` in report.json; older reports fall back to ``generator`` and ``run.profile``):
otherwise a change of the suite itself would read as a change of the host. ``--allow-mismatch``
compares anyway and prints the mismatch first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from . import deprecations as deprecations_module
from .model import ReportError, cell_key, load

__all__ = ["COMPARED", "ReportDiff", "compare", "mismatches", "register", "render"]

_FAILING = ("failed",)  # a tool error says nothing about the host: it shows as "no longer checked"


@dataclass
class CellChange:
    check: str  # "operation_id / kind"
    old: str | None  # cell outcome, None: the cell did not exist
    new: str | None
    tests: list[dict[str, str]] = field(default_factory=list)  # the tests behind the change, with reasons


@dataclass
class SetChange:
    operation_id: str
    old: list[str]
    new: list[str]

    @property
    def appeared(self) -> list[str]:
        return sorted(set(self.new) - set(self.old), key=_natural)

    @property
    def disappeared(self) -> list[str]:
        return sorted(set(self.old) - set(self.new), key=_natural)


@dataclass
class ReportDiff:
    old_label: str
    new_label: str
    mismatches: list[str] = field(default_factory=list)
    newly_failing: list[CellChange] = field(default_factory=list)
    newly_passing: list[CellChange] = field(default_factory=list)
    no_longer_checked: list[CellChange] = field(default_factory=list)
    newly_failing_tests: list[dict[str, str]] = field(default_factory=list)
    fixed_tests: list[str] = field(default_factory=list)
    statuses: list[SetChange] = field(default_factory=list)
    fields: list[SetChange] = field(default_factory=list)
    drift: dict[str, list[str]] = field(default_factory=dict)
    #: the host's deprecation findings (report.json ``deprecations``): new ones, those whose sunset passed
    #: since OLD (on NEW's clock), and the keys OLD had that NEW no longer reports
    newly_deprecated: list[dict[str, Any]] = field(default_factory=list)
    sunset_passed: list[dict[str, Any]] = field(default_factory=list)
    no_longer_deprecated: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return bool(self.newly_failing or self.newly_failing_tests)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["statuses"] = [_set_dict(change) for change in self.statuses]
        data["fields"] = [_set_dict(change) for change in self.fields]
        data["regressed"] = self.regressed
        return data


def _set_dict(change: SetChange) -> dict[str, Any]:
    return {"operation_id": change.operation_id, "appeared": change.appeared, "disappeared": change.disappeared,
            "old": change.old, "new": change.new}


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def _label(report: Mapping[str, Any], path: str) -> str:
    run, host = report.get("run") or {}, report.get("host") or {}
    version = f" {host['version']}" if host.get("version") else ""
    return f"{path} (run {run.get('id')}, {host.get('url')}{version}, {run.get('started_at')})"


def _cells(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        cell_key(op["operation_id"], kind): cell
        for op in report.get("operations", [])
        for kind, cell in (op.get("checks") or {}).items()
    }


def _tests(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in report.get("tests", []) if not t.get("container")}


def _provenance(report: Mapping[str, Any]) -> dict[str, Any]:
    """suite version, profile and release baseline of a report (any format version)."""
    provenance = report.get("provenance") or {}
    generator = str(report.get("generator") or "")
    baseline = provenance.get("baseline") or None
    return {
        "suite version": provenance.get("suite_version") or generator.removeprefix("posthog-contract ") or None,
        "profile": provenance.get("profile", (report.get("run") or {}).get("profile")),
        "baseline": baseline.get("sha256") or baseline.get("file") if isinstance(baseline, dict) else baseline,
    }


#: what two reports must share to be compared (``matrix`` puts other baselines and profiles side by side,
#: so it asks only for the suite version)
COMPARED = ("suite version", "profile", "baseline")


def mismatches(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    fields: tuple[str, ...] = COMPARED,
    labels: tuple[str, str] = ("old", "new"),
) -> list[str]:
    """Why OLD and NEW are not comparable, one readable line per difference (empty: comparable)."""
    before, after = _provenance(old), _provenance(new)
    lines = []
    for name in fields:
        if before[name] != after[name]:
            lines.append(f"{name} differs: {before[name] or 'none'} ({labels[0]}) vs {after[name] or 'none'} "
                         f"({labels[1]})")
    return lines


def compare(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_path: str = "OLD", new_path: str = "NEW"
) -> ReportDiff:
    """The differences that matter after an upgrade, from OLD to NEW."""
    result = ReportDiff(_label(old, old_path), _label(new, new_path), mismatches(old, new))
    old_cells, new_cells = _cells(old), _cells(new)
    old_tests, new_tests = _tests(old), _tests(new)

    def behind(cell: Mapping[str, Any] | None, outcomes: tuple[str, ...]) -> list[dict[str, str]]:
        found = []
        for entry in (cell or {}).get("tests", []):
            if entry["outcome"] in outcomes:
                test = new_tests.get(entry["id"]) or old_tests.get(entry["id"]) or {}
                found.append({"id": entry["id"], "outcome": entry["outcome"], "reason": test.get("reason", "")})
        return found

    for key in sorted(old_cells.keys() | new_cells.keys()):
        before = (old_cells.get(key) or {}).get("outcome")
        after = (new_cells.get(key) or {}).get("outcome")
        if after == "fail" and before != "fail":
            result.newly_failing.append(CellChange(key, before, after, behind(new_cells.get(key), _FAILING)))
        elif after == "pass" and before == "fail":
            result.newly_passing.append(CellChange(key, before, after))
        elif before in ("pass", "fail") and after not in ("pass", "fail"):
            result.no_longer_checked.append(CellChange(key, before, after, _now(old_cells.get(key), new_tests)))

    for test_id, test in new_tests.items():
        previous = (old_tests.get(test_id) or {}).get("outcome")
        if test["outcome"] in _FAILING and previous not in _FAILING:
            result.newly_failing_tests.append({
                "id": test_id,
                "outcome": test["outcome"],
                "was": previous or "absent",
                "reason": test.get("reason", ""),
            })
        elif previous in _FAILING and test["outcome"] == "passed":
            result.fixed_tests.append(test_id)

    old_ops = {op["operation_id"]: op for op in old.get("operations", [])}
    for op in new.get("operations", []):
        before = old_ops.get(op["operation_id"])
        if before is None or not before.get("requests") or not op.get("requests"):
            continue  # an operation one run never reached says nothing about the host
        old_statuses = list((before.get("statuses") or {}).get("seen", {}))
        new_statuses = list((op.get("statuses") or {}).get("seen", {}))
        change = SetChange(op["operation_id"], old_statuses, new_statuses)
        if change.appeared or change.disappeared:
            result.statuses.append(change)
        old_fields, new_fields = before.get("fields_seen") or [], op.get("fields_seen") or []
        if old_fields and new_fields:
            change = SetChange(op["operation_id"], old_fields, new_fields)
            if change.appeared or change.disappeared:
                result.fields.append(change)

    result.drift = _drift_change(old.get("drift"), new.get("drift"))
    _deprecation_changes(result, old, new)
    return result


def _deprecation_changes(result: ReportDiff, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """Newly deprecated operations, sunsets passed since OLD, deprecations NEW no longer reports."""
    before = {deprecations_module.key_of(e): e for e in deprecations_module.findings_of(old)}
    after = {deprecations_module.key_of(e): e for e in deprecations_module.findings_of(new)}
    for key, entry in after.items():
        shown = {"key": key, "sentence": deprecations_module.sentence(entry), "sunset_at": entry.get("sunset_at"),
                 "sunset_passed": entry.get("sunset_passed")}
        if key not in before:
            result.newly_deprecated.append(shown)
        elif entry.get("sunset_passed") and not before[key].get("sunset_passed"):
            result.sunset_passed.append(shown)
    result.no_longer_deprecated = sorted(set(before) - set(after))


def _now(cell: Mapping[str, Any] | None, new_tests: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """What became of the tests behind an old cell: skipped, unavailable, blocked, gone."""
    found = []
    for entry in (cell or {}).get("tests", []):
        test = new_tests.get(entry["id"])
        if test is None:
            found.append({"id": entry["id"], "outcome": "absent", "reason": "not run"})
        elif test["outcome"] != "passed":
            reason = test.get("reason", "")
            if test.get("blocked"):
                reason = f"blocked on {test.get('failed_operation')}: {reason}"
            found.append({"id": entry["id"], "outcome": test["outcome"], "reason": reason})
    return found


def _drift_change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> dict[str, list[str]]:
    if not old or not new or old.get("status") != "compared" or new.get("status") != "compared":
        return {}

    def keys(drift: Mapping[str, Any]) -> set[str]:
        return {f"{f['severity']} {f['change']} {f['component']}.{f['field']}" for f in drift.get("findings", [])}

    before, after = keys(old), keys(new)
    change = {"new": sorted(after - before), "gone": sorted(before - after)}
    return {k: v for k, v in change.items() if v}


# --- output -----------------------------------------------------------------------------------------


def render(diff: ReportDiff, *, markdown: bool = False) -> str:
    """The diff as plain text (terminal) or Markdown (a CI job summary)."""
    lines: list[str] = []
    head = "## " if markdown else ""
    item = "- " if markdown else "  "
    sub = "  - " if markdown else "      "
    lines.append(f"{'# ' if markdown else ''}posthog-contract diff")
    lines.append(f"{item}old: {diff.old_label}")
    lines.append(f"{item}new: {diff.new_label}")
    if diff.mismatches:
        lines.append("")
        lines.append(f"{head}MISMATCH: these runs differ in how they were made, so some changes below may be the "
                     "suite's, not the host's")
        lines.extend(f"{item}{line}" for line in diff.mismatches)

    def section(title: str, entries: list[str]) -> None:
        lines.append("")
        lines.append(f"{head}{title} ({len(entries)})")
        lines.extend(entries or [f"{item}none"])

    failing = []
    for change in diff.newly_failing:
        failing.append(f"{item}{change.check}: {change.old or 'not checked'} -> {change.new}")
        failing += [f"{sub}{t['id']}: {t['reason'] or t['outcome']}" for t in change.tests]
    section("NEWLY FAILING CHECKS", failing)
    section("NEWLY PASSING CHECKS", [f"{item}{c.check}: {c.old} -> {c.new}" for c in diff.newly_passing])
    in_cells = {t["id"] for change in diff.newly_failing for t in change.tests}
    others = [t for t in diff.newly_failing_tests if t["id"] not in in_cells]
    section(
        "NEWLY FAILING TESTS (outside those checks)",
        [f"{item}{t['id']} (was {t['was']}): {t['reason'] or t['outcome']}" for t in others],
    )
    if diff.no_longer_checked:
        section(
            "NO LONGER CHECKED",
            [
                f"{item}{c.check}: {c.old} -> {c.new or 'not checked'}"
                + (f" ({c.tests[0]['reason']})" if c.tests and c.tests[0]["reason"] else "")
                for c in diff.no_longer_checked
            ],
        )
    section(
        "CHANGED STATUS CODES",
        [
            f"{item}{c.operation_id}: {', '.join(c.old) or 'none'} -> {', '.join(c.new) or 'none'}"
            + (f" (new: {', '.join(c.appeared)})" if c.appeared else "")
            + (f" (gone: {', '.join(c.disappeared)})" if c.disappeared else "")
            for c in diff.statuses
        ],
    )
    fields = []
    for change in diff.fields:
        if change.disappeared:
            fields.append(f"{item}{change.operation_id}: disappeared {', '.join(_collapse(change.disappeared))}")
        if change.appeared:
            fields.append(f"{item}{change.operation_id}: appeared {', '.join(_collapse(change.appeared))}")
    section("RESPONSE FIELDS APPEARED OR DISAPPEARED", fields)
    section("NEWLY DEPRECATED (the host now announces these as deprecated, §1.9)",
            [f"{item}{d['sentence']}" for d in diff.newly_deprecated])
    section("SUNSET PASSED SINCE THE LAST RUN", [f"{item}{d['sentence']}" for d in diff.sunset_passed])
    if diff.no_longer_deprecated:
        section("NO LONGER ANNOUNCED AS DEPRECATED", [f"{item}{key}" for key in diff.no_longer_deprecated])
    if diff.drift:
        drift = [f"{item}new in the host's /api/schema/: {k}" for k in diff.drift.get("new", [])]
        drift += [f"{item}gone from the drift list: {k}" for k in diff.drift.get("gone", [])]
        section("SCHEMA DRIFT CHANGES", drift)
    lines.append("")
    if diff.regressed:
        lines.append(f"{head}verdict: REGRESSION: something newly fails")
    else:
        lines.append(f"{head}verdict: nothing newly fails")
    return "\n".join(lines)


def _collapse(paths: list[str], *, at_least: int = 4) -> list[str]:
    """``tiles[].a, tiles[].b, …`` -> ``tiles[].* (14 fields)`` when one parent has many changed children."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        groups.setdefault(parent, []).append(path)
    shown = []
    for parent, members in groups.items():
        if parent and len(members) >= at_least:
            shown.append(f"{parent}.* ({len(members)} fields)")
        else:
            shown.extend(members)
    return shown


def run(args: argparse.Namespace) -> int:
    try:
        old, new = load(args.old), load(args.new)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems = mismatches(old, new)
    if problems and not args.allow_mismatch:
        print(f"error: refusing to compare runs made differently ({'; '.join(problems)}); a change of the suite "
              "would read as a change of the host. Run both with the same suite version, profile and baseline, "
              "or pass --allow-mismatch.", file=sys.stderr)
        return 2
    diff = compare(old, new, old_path=args.old, new_path=args.new)
    if args.format == "json":
        print(json.dumps(diff.to_dict(), indent=2))
    else:
        print(render(diff, markdown=args.format == "markdown"))
    return 1 if diff.regressed else 0


def register(commands: Any) -> None:
    """Add the ``diff`` subcommand to ``python -m posthog_contract``."""
    parser = commands.add_parser(
        "diff",
        help="compare two report.json files (e.g. before and after a PostHog upgrade)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("old", metavar="OLD.json", help="the earlier run's report.json")
    parser.add_argument("new", metavar="NEW.json", help="the later run's report.json")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text", help="output format")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="compare reports of different suite versions, profiles or baselines (the mismatch "
                        "is printed first)")
    parser.set_defaults(handler=run)
