"""``python -m posthog_contract summary report.json``: the run as a Markdown job summary.

Made for CI (``>> "$GITHUB_STEP_SUMMARY"``): the verdict, the host and how the run was made, the
counts (violations, tool errors, accepted deviations, unavailable checks), ``applicable cells
checked: N/M``, the deprecated documented paths the host announced (contract §1.9), the matrix of the
documented operations and the broken rules. ``--annotations`` also prints GitHub workflow commands
(``::error file=…,line=…::…``), one per failed test, tool error and waiver problem, so failures show on
the workflow run's page and beside the test's line in a pull request's diff, and one ``::warning`` per
deprecated operation (``::error`` when ``--deprecations fail`` makes it fail the run). Everything comes
from report.json, which is redacted already. The verdict is the run's own (report.json ``run.verdict``):
an interrupted run, a refused host and a run that judged fewer cells than its ``--min-coverage`` are
verdicts of their own, never "failed"; coverage is part of it (INCOMPLETE, with the cells not judged
and why). Exit status: 0 written, 6 ``--min-coverage`` not reached (the summary says so; the run's own
exit code for it), 2 the file is not a readable report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..outcomes import EXIT_COVERAGE, verdict_of_run
from . import deprecations
from .model import CELL_EMOJI, ReportError, coverage, load
from .model import coverage_shortfall as _shortfall

__all__ = ["annotations", "coverage_shortfall", "markdown", "register"]

_MAX_LISTED = 20


_VERDICT_SYMBOL = {
    "passed": "✅",
    "failed": "❌",
    "tool_error": "💥",
    "interrupted": "⏸️",
    "refused": "🚫",
    "misconfigured": "⚙️",
    "no_tests": "∅",
    "incomplete": "🟨",
}


def _verdict(report: Mapping[str, Any]) -> str:
    verdict, sentence = verdict_of_run(report["run"])
    return f"{_VERDICT_SYMBOL.get(verdict, '❌')} {sentence}"


def _coverage(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """summary.coverage, or (a report before issue 24) counted again from its matrix."""
    summary = report.get("summary") or {}
    if summary.get("coverage"):
        return summary["coverage"]
    return coverage(report["operations"]) if report.get("operations") else None


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: Mapping[str, Any]) -> str:
    """The job summary of one report."""
    run, host, summary = report["run"], report["host"], report["summary"]
    provenance = report.get("provenance") or {}
    tests, cells = summary["tests"], summary.get("applicable_cells") or {}
    lines = [f"## posthog-contract: {_verdict(report)}", ""]
    where = "embedded reference server" if host.get("embedded") else "external host"
    lines += [
        f"- host: `{host.get('url')}` ({where}), PostHog {host.get('version') or 'version not revealed'}, "
        f"project {host.get('project_id')}",
        f"- run `{run.get('id')}`, seed {run.get('seed')}, profile {run.get('profile')}, "
        f"suite {provenance.get('suite_version') or report.get('generator')}",
        f"- tests: {tests['passed']} passed, **{tests['failed']} failed** (violations), "
        f"{tests['error']} tool errors, {tests.get('accepted', 0)} accepted, {tests['skipped']} skipped, "
        f"{tests['unavailable']} unavailable, {summary['warnings']} warnings",
    ]
    if cells:
        lines.append(f"- applicable cells checked: {cells['checked']}/{cells['total']} (documented operations)")
    covered = _coverage(report)
    if covered is not None and covered["status"] == "incomplete":
        minimum = "" if covered.get("minimum") is None else (
            f"; --min-coverage {covered['minimum']:g} % {'met' if covered.get('met') else '**not met**'}")
        lines.append(f"- coverage **INCOMPLETE**: {covered['checked']} of {covered['total']} applicable cells judged "
                     f"({covered['percent']:g} %){minimum}")
    if summary.get("counting"):
        lines.append(f"- counted as: {summary['counting']}")
    lines += _deprecations(report)
    lines += ["", *_matrix(report)]
    failed = [t for t in report["tests"] if t["outcome"] == "failed" and not t.get("container")]
    lines += _listing("Broken rules", failed, lambda t: f"`{t['id']}`: {t.get('reason') or 'failed'}")
    errors = [t for t in report["tests"] if t["outcome"] == "error" and not t.get("container")]
    lines += _listing("Tool errors (the host was not judged)", errors,
                      lambda t: f"`{t['id']}`: {t.get('reason') or 'error'}")
    accepted = [t for t in report["tests"] if t["outcome"] == "accepted"]
    lines += _listing("Accepted deviations", accepted, lambda t: f"`{t['id']}`: {t.get('waiver', '')}")
    problems = [n for n in report.get("notes", []) if n.startswith("waivers:")]
    lines += _listing("Waiver problems", problems, lambda n: n.removeprefix("waivers: "))
    if covered is not None:
        lines += _listing("Cells not judged", covered["not_judged"],
                          lambda c: f"`{c['cell']}`: {c['outcome'].replace('_', ' ')}: {'; '.join(c['reasons'])}")
    unavailable = [o for o in report.get("outcomes", []) if o["kind"] == "unavailable"]
    lines += _listing("Unavailable checks", unavailable, lambda o: f"`{o['test']}`: {o['message']}")
    return "\n".join(lines).rstrip() + "\n"


def _deprecations(report: Mapping[str, Any]) -> list[str]:
    """The deprecation finding (contract §1.9), above the matrix: what to move off, by when, to what."""
    findings = deprecations.findings_of(report)
    if not findings:
        return []
    lines = ["", f"### ⚠️ Deprecated documented paths ({len(findings)})", "",
             f"{deprecations.headline(report)}. The host announced these documented paths as deprecated; an "
             "integration calling them breaks once the sunset is enforced: move each call to its successor.", "",
             "| operation | sunset | successor | waiver |", "|---|---|---|---|"]
    for entry in findings[:_MAX_LISTED]:
        sunset = str(entry.get("sunset_at") or entry.get("sunset") or "none")[:10]
        sunset += " (passed)" if entry.get("sunset_passed") else ""
        successor = entry.get("successor_template") or entry.get("successor") or ""
        if entry.get("redirected"):
            successor += f" (redirected {entry.get('redirect_status')})"
        lines.append(f"| `{_cell(entry['method'])} {_cell(entry.get('template') or entry['path'])}` | {_cell(sunset)} "
                     f"| `{_cell(successor)}` | {_cell(entry.get('accepted') or '')} |")
    if len(findings) > _MAX_LISTED:
        lines.append(f"\n… {len(findings) - _MAX_LISTED} more in report.html")
    return lines


def _matrix(report: Mapping[str, Any]) -> list[str]:
    kinds = [k["id"] for k in report["check_kinds"]]
    rows = ["| operation | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for op in report["operations"]:
        if not op["documented"]:
            continue
        cells = [CELL_EMOJI.get((op["checks"].get(kind) or {}).get("outcome", "not_checked"), "?") for kind in kinds]
        rows.append(f"| {_cell(op['operation_id'])} | " + " | ".join(cells) + " |")
    legend = ", ".join(f"{symbol} {name.replace('_', ' ')}" for name, symbol in CELL_EMOJI.items())
    return rows + ["", f"<sub>{legend}</sub>"]


def _listing(title: str, entries: list[Any], line: Any) -> list[str]:
    if not entries:
        return []
    lines = ["", f"### {title} ({len(entries)})", ""]
    lines += [f"- {_cell(line(entry))}" for entry in entries[:_MAX_LISTED]]
    if len(entries) > _MAX_LISTED:
        lines.append(f"- … {len(entries) - _MAX_LISTED} more in report.html")
    return lines


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (``%``, CR, LF; plus ``:`` and ``,`` in properties)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def annotations(report: Mapping[str, Any]) -> Iterable[str]:
    """``::error`` / ``::warning`` workflow commands: the run's verdict when it is not a plain judgement
    (interrupted, refused, incomplete), then failures, tool errors, waiver problems and deprecations."""
    verdict, sentence = verdict_of_run(report["run"])
    if verdict in ("interrupted", "refused", "misconfigured", "no_tests", "incomplete"):
        level = "warning" if verdict == "interrupted" else "error"
        yield f"::{level} title=posthog-contract {verdict.replace('_', ' ')}::{_escape(sentence)}"
    covered = _coverage(report)
    if covered is not None and covered["status"] == "incomplete" and verdict not in ("incomplete", "refused"):
        yield (f"::warning title=posthog-contract coverage::INCOMPLETE: {covered['checked']} of {covered['total']} "
               f"applicable cells judged ({covered['percent']:g} %); {len(covered['not_judged'])} not judged")
    for test in report["tests"]:
        if test.get("container") or test["outcome"] not in ("failed", "error"):
            continue
        path = test.get("file") or test["id"].split("::", 1)[0]
        line = f",line={int(test['line'])}" if test.get("line") else ""
        place = f"file={_escape(path, property_value=True)}{line}"
        if test["outcome"] == "failed":
            level, title = "error", f"posthog-contract: {test.get('reason') or 'a contract rule broke'}"
        else:
            level, title = "warning", "posthog-contract tool error (the host was not judged)"
        body = f"{test['id']}\n{test.get('message') or test.get('reason') or ''}"[:4000]
        yield f"::{level} {place},title={_escape(title[:200], property_value=True)}::{_escape(body)}"
    for note in report.get("notes", []):
        if note.startswith("waivers:"):
            yield f"::error title=posthog-contract waiver::{_escape(note.removeprefix('waivers: '))}"
    fails = deprecations.counts_of(report).get("policy") == "fail"
    for entry in deprecations.findings_of(report):
        level = "error" if fails and not entry.get("accepted") else "warning"
        yield f"::{level} title=posthog-contract deprecation::{_escape(deprecations.sentence(entry))}"


def coverage_shortfall(report: Mapping[str, Any], minimum: float) -> str | None:
    """One sentence when ``applicable cells checked`` is below ``minimum`` percent, else None."""
    return _shortfall(_coverage(report), minimum)


def run(args: argparse.Namespace) -> int:
    try:
        report = load(args.report)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shortfall = None if args.min_coverage is None else coverage_shortfall(report, args.min_coverage)
    if args.annotations:
        for line in annotations(report):
            print(line)
        if shortfall:
            print(f"::error title=posthog-contract coverage::{_escape(shortfall)}")
    text = markdown(report)
    if shortfall:
        text += f"\n**Coverage below the minimum:** {shortfall}\n"
    if args.output:
        with open(args.output, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    if shortfall:
        print(f"posthog-contract: {shortfall}", file=sys.stderr)
        return EXIT_COVERAGE
    return 0


def register(commands: Any) -> None:
    """Add the ``summary`` subcommand to ``python -m posthog_contract``."""
    parser = commands.add_parser(
        "summary",
        help="write a Markdown job summary (and GitHub annotations) from a report.json",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("report", metavar="REPORT.json", help="the run's report.json (pytest --report DIR)")
    parser.add_argument("--output", metavar="FILE",
                        help="append the Markdown to FILE (e.g. \"$GITHUB_STEP_SUMMARY\") instead of stdout")
    parser.add_argument("--annotations", action="store_true",
                        help="also print GitHub ::error/::warning commands for failures, tool errors, waivers")
    parser.add_argument("--min-coverage", type=float, metavar="PERCENT",
                        help="exit 6 when fewer than PERCENT of the documented operations' applicable cells were "
                        "checked (the host judged there), as the run's own --min-coverage does")
    parser.set_defaults(handler=run)
