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
otherwise a change of the suite itself would read as a change of the host. A run that did not judge
the host to its end (interrupted, refused at preflight, misconfigured) is not compared either.
``--allow-mismatch`` compares anyway and prints the mismatch first.

Like with like (issue 24): the diff says when the seeds or the set of tests differ. Under different
seeds the generated (property-based) checks sent different requests, so what only they produced (a
status code, a response field, a generated cell or test) is left out of the changes and counted
apart; run both with the same ``--contract-seed`` to compare it too. Each heading counts the entries
it lists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ..outcomes import JUDGED_VERDICTS, verdict_of_run
from . import deprecations as deprecations_module
from .model import ReportError, cell_key, load

__all__ = ["COMPARED", "ReportDiff", "compare", "mismatches", "not_judged", "register", "render"]

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
    #: how the runs differ without being incomparable: the seeds, the set of tests
    differences: list[str] = field(default_factory=list)
    #: under different seeds, what only the generated checks produced, left out of the changes (one line each)
    left_out: list[str] = field(default_factory=list)
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


def not_judged(old: Mapping[str, Any], new: Mapping[str, Any], labels: tuple[str, str] = ("old", "new")) -> list[str]:
    """A run that did not judge the host to its end (interrupted, refused, misconfigured, no tests), one line each."""
    lines = []
    for label, report in zip(labels, (old, new), strict=True):
        verdict, sentence = verdict_of_run(report.get("run") or {})
        if verdict not in JUDGED_VERDICTS:
            lines.append(f"the {label} run is not a whole judgement of its host: {sentence}")
    return lines


def _seed(report: Mapping[str, Any]) -> Any:
    return (report.get("provenance") or {}).get("seed", (report.get("run") or {}).get("seed"))


def _seeded(test: Mapping[str, Any]) -> bool:
    """A generated check: its requests depend on the seed."""
    return "generated" in (test.get("checks") or [])


def compare(
    old: Mapping[str, Any], new: Mapping[str, Any], *, old_path: str = "OLD", new_path: str = "NEW"
) -> ReportDiff:
    """The differences that matter after an upgrade, from OLD to NEW (like with like: see the module)."""
    result = ReportDiff(_label(old, old_path), _label(new, new_path), [*mismatches(old, new), *not_judged(old, new)])
    old_cells, new_cells = _cells(old), _cells(new)
    old_tests, new_tests = _tests(old), _tests(new)
    same_seed = _seed(old) is not None and _seed(old) == _seed(new)
    if not same_seed:
        result.differences.append(
            f"the seeds differ ({_seed(old)} old, {_seed(new)} new): the generated checks sent other requests, so what "
            "only they produced is left out of the changes below (run both with the same --contract-seed N to "
            "compare it)")
    only_old = sorted(old_tests.keys() - new_tests.keys())
    only_new = sorted(new_tests.keys() - old_tests.keys())
    if only_old or only_new:
        result.differences.append(
            f"the sets of tests differ: {len(only_old)} only in the old run"
            + (f" ({', '.join(only_old[:3])}{', …' if len(only_old) > 3 else ''})" if only_old else "")
            + f", {len(only_new)} only in the new run"
            + (f" ({', '.join(only_new[:3])}{', …' if len(only_new) > 3 else ''})" if only_new else "")
            + " (a check that ran in one run only is no change of the host)")

    def behind(cell: Mapping[str, Any] | None, outcomes: tuple[str, ...]) -> list[dict[str, str]]:
        found = []
        for entry in (cell or {}).get("tests", []):
            if entry["outcome"] in outcomes:
                test = new_tests.get(entry["id"]) or old_tests.get(entry["id"]) or {}
                found.append({"id": entry["id"], "outcome": entry["outcome"], "reason": test.get("reason", "")})
        return found

    set_aside = 0
    for key in sorted(old_cells.keys() | new_cells.keys()):
        before = (old_cells.get(key) or {}).get("outcome")
        after = (new_cells.get(key) or {}).get("outcome")
        changed = (after == "fail" and before != "fail") or (after == "pass" and before == "fail") or (
            before in ("pass", "fail") and after not in ("pass", "fail"))
        if changed and not same_seed and key.endswith(" / generated"):
            set_aside += 1
            continue
        if after == "fail" and before != "fail":
            result.newly_failing.append(CellChange(key, before, after, behind(new_cells.get(key), _FAILING)))
        elif after == "pass" and before == "fail":
            result.newly_passing.append(CellChange(key, before, after))
        elif before in ("pass", "fail") and after not in ("pass", "fail"):
            result.no_longer_checked.append(CellChange(key, before, after, _now(old_cells.get(key), new_tests)))
    if set_aside:
        result.left_out.append(f"{set_aside} generated cell(s) that changed")

    set_aside = 0
    for test_id, test in new_tests.items():
        previous = (old_tests.get(test_id) or {}).get("outcome")
        newly = test["outcome"] in _FAILING and previous not in _FAILING
        fixed = previous in _FAILING and test["outcome"] == "passed"
        if (newly or fixed) and not same_seed and _seeded(test):
            set_aside += 1
        elif newly:
            result.newly_failing_tests.append({
                "id": test_id,
                "outcome": test["outcome"],
                "was": previous or "absent",
                "reason": test.get("reason", ""),
            })
        elif fixed:
            result.fixed_tests.append(test_id)
    if set_aside:
        result.left_out.append(f"{set_aside} generated test(s) newly failing or passing")

    old_ops = {op["operation_id"]: op for op in old.get("operations", [])}
    statuses_left = fields_left = 0
    for op in new.get("operations", []):
        before = old_ops.get(op["operation_id"])
        if before is None or not before.get("requests") or not op.get("requests"):
            continue  # an operation one run never reached says nothing about the host
        old_statuses, new_statuses = _statuses(before, same_seed), _statuses(op, same_seed)
        change = SetChange(op["operation_id"], old_statuses, new_statuses)
        if change.appeared or change.disappeared:
            result.statuses.append(change)
        if not same_seed and _changes(_statuses(before, True), _statuses(op, True)) != _changes(old_statuses,
                                                                                                  new_statuses):
            statuses_left += 1
        old_fields, new_fields = _fields(before, same_seed), _fields(op, same_seed)
        if old_fields and new_fields:
            change = SetChange(op["operation_id"], old_fields, new_fields)
            if change.appeared or change.disappeared:
                result.fields.append(change)
            if not same_seed and _changes(_fields(before, True), _fields(op, True)) != _changes(old_fields,
                                                                                                  new_fields):
                fields_left += 1
    if statuses_left:
        result.left_out.append(f"status codes of {statuses_left} operation(s) that only generated requests changed")
    if fields_left:
        result.left_out.append(f"response fields of {fields_left} operation(s) that only generated requests changed")

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
def _statuses(op: Mapping[str, Any], everything: bool) -> list[str]:
    """The status codes an operation answered; without ``everything``, those outside the generated checks only
    (a report before issue 24 does not say which were which: all of them)."""
    statuses = op.get("statuses") or {}
    seen = list(statuses.get("seen", {}))
    return seen if everything else [s for s in seen if s not in set(statuses.get("generated_only") or [])]


def _fields(op: Mapping[str, Any], everything: bool) -> list[str]:
    fields = op.get("fields_seen") or []
    return fields if everything else [f for f in fields if f not in set(op.get("fields_generated_only") or [])]


def _changes(old: list[str], new: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(new) - frozenset(old), frozenset(old) - frozenset(new)


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
        lines.append(f"{head}MISMATCH: these runs differ in how they were made, or one did not judge its host to the "
                     "end, so some changes below may be the suite's or the interruption's, not the host's")
        lines.extend(f"{item}{line}" for line in diff.mismatches)
    if diff.differences:
        lines.append("")
        lines.append(f"{head}LIKE WITH LIKE: how these runs differ")
        lines.extend(f"{item}{line}" for line in diff.differences)
        if diff.left_out:
            lines.append(f"{item}left out of the changes (generated part, different seeds): {'; '.join(diff.left_out)}")

    def section(title: str, entries: list[str], count: int | None = None) -> None:
        lines.append("")
        lines.append(f"{head}{title} ({len(entries) if count is None else count})")
        lines.extend(entries or [f"{item}none"])

    failing = []
    for change in diff.newly_failing:
        failing.append(f"{item}{change.check}: {change.old or 'not checked'} -> {change.new}")
        failing += [f"{sub}{t['id']}: {t['reason'] or t['outcome']}" for t in change.tests]
    section("NEWLY FAILING CHECKS", failing, len(diff.newly_failing))
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
    unjudged = not_judged(old, new)
    if unjudged and not args.allow_mismatch:
        print(f"error: refusing to compare a run that did not judge its host to the end ({'; '.join(unjudged)}); "
              "what it did not reach would read as a change of the host. Run it again, or pass --allow-mismatch.",
              file=sys.stderr)
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
                        help="compare reports of different suite versions, profiles or baselines, or a run that was "
                        "interrupted or refused at preflight (the mismatch is printed first)")
    parser.set_defaults(handler=run)
