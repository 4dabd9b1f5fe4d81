"""``report.html``: one self-contained page (inline CSS, a few lines of JS, no network resources).

The page is static HTML rendered from the report data with `string.Template` and `html.escape`,
so it reads the same in any browser, with or without JS; the script only adds the matrix filters
("documented operations only", "problems only") and marks the table ready. Everything shown was
redacted before it reached the report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from html import escape
from importlib import resources
from string import Template
from typing import Any

from ..outcomes import verdict_of_run
from . import deprecations
from .model import CELL_SYMBOL

__all__ = ["render"]

_CELL_TITLE = {
    "error": "tool error: the tool failed; the host was not judged",
    "not_applicable": "not applicable",
    "not_checked": "not checked",
}


@cache
def _template() -> Template:
    return Template(resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8"))


@cache
def row_filter_script() -> str:
    """The matrix filters' script (row_filter.js), inlined by this page and the ``matrix`` page."""
    return resources.files(__package__).joinpath("row_filter.js").read_text(encoding="utf-8")


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], *, table_id: str = "") -> str:
    """Cells are HTML already (escape before calling)."""
    attribute = f' id="{table_id}"' if table_id else ""
    body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table{attribute}><thead><tr>{header}</tr></thead><tbody>\n{body}\n</tbody></table>"


def render(report: Mapping[str, Any]) -> str:
    """The HTML page of one report (as `model.build` makes it)."""
    run, host, summary = report["run"], report["host"], report["summary"]
    verdict, sentence = verdict_of_run(run)
    kinds = [kind["id"] for kind in report["check_kinds"]]
    failures = [t for t in report["tests"] if t["outcome"] == "failed" and not t.get("container")]
    errors = [t for t in report["tests"] if t["outcome"] == "error" and not t.get("container")]
    values = {
        "title": "PostHog API contract report",
        "generator": _e(report.get("generator")),
        "verdict": _e(verdict.replace("_", " ").upper()),
        "verdict_class": _VERDICT_CLASS.get(verdict, "fail"),
        "verdict_sentence": _e(sentence),
        "coverage_badge": _coverage_badge(summary.get("coverage")),
        "facts": _facts(run, host),
        "tiles": _tiles(summary),
        "deprecations": _deprecations(report),
        "not_judged": _not_judged(summary.get("coverage")),
        "check_legend": " ".join(
            f'<abbr title="{_e(k["title"])}">{_e(k["id"])}</abbr>' for k in report["check_kinds"]
        ),
        "matrix_head": "".join(f"<th>{_e(kind)}</th>" for kind in kinds),
        "matrix_rows": "\n".join(_matrix_row(op, kinds) for op in _ordered(report["operations"])),
        "failure_count": str(len(failures)),
        "failures": _failures(failures),
        "accepted_count": str(sum(t["outcome"] == "accepted" for t in report["tests"])),
        "accepted": _accepted(report),
        "error_count": str(len(errors)),
        "errors": _errors(errors),
        "outcome_count": str(len(report["outcomes"])),
        "outcomes": _outcomes(report["outcomes"]),
        "coverage": _coverage(report["operations"]),
        "undocumented_count": str(len(report["undocumented_fields"])),
        "undocumented": _undocumented(report["undocumented_fields"]),
        "drift": _drift(report.get("drift")),
        "test_count": str(summary["tests"]["total"]),
        "tests": _tests(report["tests"]),
        "options": _options(report),
        "notes": _notes(report.get("notes") or []),
        "row_filter": row_filter_script(),
    }
    return _template().substitute(values)


#: the badge's colour: only a host that broke a rule is red; a run that stopped, was refused or judged too
#: little is amber (it says nothing against the host), a tool error purple
_VERDICT_CLASS = {
    "passed": "pass",
    "failed": "fail",
    "tool_error": "error",
    "interrupted": "warn",
    "refused": "warn",
    "misconfigured": "warn",
    "no_tests": "warn",
    "incomplete": "warn",
}


def _coverage_badge(coverage: Mapping[str, Any] | None) -> str:
    if not coverage or coverage["status"] == "complete":
        return ""
    title = f"{coverage['checked']} of {coverage['total']} applicable cells judged ({coverage['percent']:g} %)"
    shown = f"INCOMPLETE {coverage['checked']}/{coverage['total']}"
    return f' <span class="verdict warn" id="coverage-badge" title="{_e(title)}">{shown}</span>'


def _not_judged(coverage: Mapping[str, Any] | None) -> str:
    """Coverage as part of the verdict: every applicable cell not judged, and why."""
    if not coverage:
        return ""
    if coverage["status"] == "complete":
        return '<p id="coverage-verdict"><b>Coverage complete:</b> every applicable cell was judged.</p>'
    minimum = "" if coverage.get("minimum") is None else (
        f" The run asked for at least {coverage['minimum']:g} % (--min-coverage): "
        + ("met." if coverage.get("met") else "<b>not met</b> (exit 6).")
    )
    rows = [(f"<code>{_e(c['cell'])}</code>", f'<span class="outcome-{_e(c["outcome"])}">'
             f'{_e(c["outcome"].replace("_", " "))}</span>', _e("; ".join(c["reasons"])))
            for c in coverage["not_judged"]]
    return (f'<div id="coverage-verdict"><p><b>Coverage INCOMPLETE:</b> {coverage["checked"]} of {coverage["total"]} '
            f"applicable cells of the documented operations were judged ({coverage['percent']:g} %).{minimum} "
            "Not judged:</p>" + _table(("Cell", "Outcome", "Why"), rows, table_id="not-judged") + "</div>")


def _facts(run: Mapping[str, Any], host: Mapping[str, Any]) -> str:
    where = "embedded reference server" if host.get("embedded") else "external host"
    facts = [
        ("Host", f"<code>{_e(host.get('url') or 'not contacted')}</code> ({where})"),
        ("PostHog version", _e(host.get("version") or "not revealed by the host")),
        ("Project", _e(host.get("project_id"))),
        ("Run id", f"<code>{_e(run.get('id'))}</code>"),
        ("Seed", _e(run.get("seed") if run.get("seed") is not None else "random (not recorded)")),
        ("Started", _e(run.get("started_at"))),
        ("Finished", f"{_e(run.get('finished_at'))} ({run.get('duration_s', 0):.1f} s)"),
        ("Verdict", _e(verdict_of_run(run)[1])),
        ("Exit status", _e(run.get("exit_status"))),
        ("Requests", _e(_cost(run.get("cost") or {}))),
    ]
    return "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in facts)


def _cost(cost: Mapping[str, Any]) -> str:
    if not cost:
        return "none sent"
    budget = "no cap" if cost.get("budget") is None else f"budget {cost['budget']}"
    return (
        f"{cost['requests']} ({cost['events_requests']} events, {cost['write_requests']} writes; {budget}); "
        f"{cost['throttled']} answered 429, {cost['seconds_waited']:g} s waited; "
        f"{100 * cost['share_of_hourly_limit']:.0f} % of PostHog Cloud's hourly limit, "
        f"{100 * cost['share_of_events_hourly_limit']:.0f} % of its events limit"
    )


def _tiles(summary: Mapping[str, Any]) -> str:
    ops, checks, tests = summary["operations"], summary["checks"], summary["tests"]
    cells = summary["applicable_cells"]
    drift = summary.get("drift")
    tiles = [
        ("Operations covered", f"{ops['exercised']} / {ops['total']}",
         f"documented {ops['documented_exercised']} / {ops['documented_total']}"),
        ("Checks", f"{checks['pass']} ✓ {checks['fail']} ✗ {checks['error']} E",
         f"{checks['warning']} warned, {checks['unavailable']} unavailable"),
        ("Applicable cells checked", f"{cells['checked']} / {cells['total']}",
         f"documented operations; {cells['error']} tool errors, {cells['not_checked']} not checked"),
        ("Tests", f"{tests['passed']} / {tests['total']} passed",
         f"{tests['failed']} failed, {tests['error']} tool errors, {tests['skipped']} skipped, "
         f"{tests['unavailable']} unavailable"),
        ("Warnings", str(summary["warnings"]), "reported, never failing"),
        ("Undocumented fields", str(summary["undocumented_fields"]), "information"),
    ]
    if drift is not None:
        text = f"{drift['significant']} significant" if drift["status"] == "compared" else drift["status"]
        tiles.append(("Schema drift", text, f"{drift['info']} info" if drift["status"] == "compared" else ""))
    deprecated = summary.get("deprecations") or {}
    if deprecated.get("total"):
        sub = f"{deprecated.get('sunset_passed', 0)} past their sunset; --deprecations {deprecated.get('policy')}"
        tiles.append(("Deprecations", str(deprecated["total"]), sub))
    return "".join(
        f'<div class="tile"><span class="muted">{_e(label)}</span><b>{_e(value)}</b>'
        f'<span class="muted">{_e(sub)}</span></div>'
        for label, value, sub in tiles
    )


def _deprecations(report: Mapping[str, Any]) -> str:
    """The deprecation finding's panel (contract §1.9): which documented paths the host announced as deprecated,
    their sunset (passed or not, on the run's clock) and what to use instead; nothing when there is none."""
    findings = deprecations.findings_of(report)
    if not findings:
        return ""
    counts = deprecations.counts_of(report)
    passed = counts.get("sunset_passed") or 0
    sunsets = sorted({str(f["sunset_at"])[:10] for f in findings if f.get("sunset_at")})
    when = ", ".join(sunsets) or "none announced"
    state = " (passed)" if passed and passed == len(findings) else (f" ({passed} passed)" if passed else "")
    prefixes = {"/".join(str(f.get("successor_template") or "").split("/")[:3]) for f in findings} - {""}
    use = f"; use <code>{_e(prefixes.pop())}/…</code>, the same path" if len(prefixes) == 1 else ""
    policy = ("With <code>--deprecations fail</code> a deprecation no waiver accepts fails the run"
              if counts.get("policy") == "fail" else
              "This run reports them and does not fail on them (<code>--deprecations fail</code> would)")
    rows = [
        (
            f"<code>{_e(f['method'])} {_e(f.get('template') or f['path'])}</code>"
            + ("" if f.get("documented") else ' <span class="muted">(supporting)</span>')
            + f'<br><span class="muted">called as <code>{_e(f["path"])}</code></span>',
            _e(str(f.get("sunset_at") or "")[:10] or (f.get("sunset") or "none"))
            + (' <span class="significant">(passed)</span>' if f.get("sunset_passed") else ""),
            f"<code>{_e(f.get('successor_template') or f.get('successor') or '')}</code>"
            + (f'<br><span class="muted">redirected ({_e(f["redirect_status"])})</span>'
               if f.get("redirected") else ""),
            "<br>".join(f"<code>{_e(name)}: {_e(f[key])}</code>" for name, key in
                        (("Deprecation", "deprecation"), ("Sunset", "sunset"), ("Link", "link")) if f.get(key)),
            _e(f.get("accepted") or ("" if counts.get("policy") != "fail" else "not accepted: fails the run")),
        )
        for f in findings
    ]
    return (
        '<section id="deprecations" class="deprecations">'
        f"<h2>Deprecated documented paths ({len(findings)})</h2>"
        f"<p><b>These documented paths are deprecated; sunset {_e(when)}{_e(state)}{use}.</b> The host announced it "
        "on its answers (<code>Deprecation</code>, <code>Sunset</code>, a <code>successor-version</code> link or a "
        "redirect to the successor, contract §1.9): an integration calling them breaks once the sunset is enforced. "
        f"Move each call to its successor. {policy}.</p>"
        + _table(("Operation", "Sunset", "Successor", "Headers", "Waiver"), rows, table_id="deprecation-list")
        + "</section>"
    )


def _ordered(operations: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(operations, key=lambda op: not op["documented"])


def _matrix_row(op: Mapping[str, Any], kinds: list[str]) -> str:
    cells = []
    problem = False
    for kind in kinds:
        cell = op["checks"].get(kind) or {"outcome": "not_checked", "tests": [], "reasons": [], "applicable": True}
        outcome = cell["outcome"]
        problem |= outcome in ("fail", "error", "unavailable") or (outcome == "not_checked" and cell["applicable"])
        lines = [_CELL_TITLE[outcome]] if outcome in _CELL_TITLE else []
        lines += [f"{t['outcome']}: {t['id']}" for t in cell["tests"][:12]]
        if len(cell["tests"]) > 12:
            lines.append(f"… {len(cell['tests']) - 12} more")
        lines += [f"reason: {reason}" for reason in cell.get("reasons", [])]
        cells.append(
            f'<td class="cell {_e(outcome)}" data-outcome="{_e(outcome)}" title="{_e(chr(10).join(lines))}">'
            f"{CELL_SYMBOL.get(outcome, '?')}</td>"
        )
    if not op["exercised"]:
        problem = True
    seen = " ".join(f"{status}×{count}" for status, count in op["statuses"]["seen"].items()) or "none"
    name = f"<b>{_e(op['operation_id'])}</b>" + ("" if op["documented"] else ' <span class="muted">(supporting)</span>')
    request = f'<br><code class="request">{_e(op["method"])} {_e(_short_path(op["path"]))}</code>'
    why = f'<br><span class="muted">not exercised: {_e(op["why_not"])}</span>' if op.get("why_not") else ""
    return (
        f'<tr data-operation="{_e(op["operation_id"])}" data-documented="{str(op["documented"]).lower()}" '
        f'data-problem="{str(problem).lower()}"><td>{name}{request}{why}</td>{"".join(cells)}'
        f'<td class="statuses">{_e(seen)}</td></tr>'
    )


def _short_path(path: str) -> str:
    for prefix in ("/api/projects/{project_id}", "/api/environments/{project_id}"):
        if path.startswith(prefix + "/"):
            return "{prefix}" + path[len(prefix):]
    return path


def _failures(failures: list[Mapping[str, Any]]) -> str:
    """Failures grouped by the rule they broke (a broken precondition fails many tests the same way)."""
    if not failures:
        return '<p class="muted">None.</p>'
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for test in failures:
        where = test.get("failed_operation") or ", ".join(test.get("operations") or []) or "no catalogue operation"
        groups.setdefault((test.get("reason") or "(no message)", where), []).append(test)
    parts = [f'<p class="muted">{len(failures)} failing tests, {len(groups)} broken rules.</p>']
    for index, ((rule, where), tests) in enumerate(groups.items()):
        first = tests[0]
        evidence = "".join(f"<pre>{_e(text)}</pre>" for text in first.get("evidence") or [])
        blocked = sum(bool(t.get("blocked")) for t in tests)
        note = f"; {blocked} of them blocked before reaching their own subject" if blocked else ""
        names = "".join(f"<li><code>{_e(t['id'])}</code> <span class=\"outcome-{_e(t['outcome'])}\">"
                        f"{_e(t['outcome'])}</span></li>" for t in tests)
        others = "".join(
            f'<details data-test="{_e(t["id"])}"><summary><code>{_e(t["id"])}</code></summary>'
            f"<pre>{_e(t.get('message'))}</pre>"
            + "".join(f"<pre>{_e(text)}</pre>" for text in t.get("evidence") or [])
            + "</details>"
            for t in tests[1:]
        )
        parts.append(
            f'<details class="failure" data-rule="{_e(rule)}"{" open" if index < 5 else ""}>'
            f'<summary><span class="outcome-failed">✗</span> {_e(rule)} '
            f'<span class="muted">({len(tests)} test{"s" if len(tests) > 1 else ""}, on {_e(where)}{note})</span>'
            f"</summary><ul>{names}</ul>"
            f'<p><b>First failure</b> <code>{_e(first["id"])}</code> '
            f'<span class="muted">checks: {_e(", ".join(first.get("checks") or []))}</span></p>'
            f"<pre>{_e(first.get('message'))}</pre>"
            + (f"<p><b>Evidence</b> (redacted requests and responses)</p>{evidence}" if evidence else "")
            + (f"<p><b>The other failures</b></p>{others}" if others else "")
            + "</details>"
        )
    return "\n".join(parts)


def _accepted(report: Mapping[str, Any]) -> str:
    """Waived failures, and every waiver of the file with what became of it."""
    waivers = report.get("waivers")
    if not waivers:
        return '<p class="muted">No waiver file was given.</p>'
    accepted = [t for t in report["tests"] if t["outcome"] == "accepted"]
    rows = [(f"<code>{_e(t['id'])}</code>", _e(t.get("reason")), _e(t.get("waiver"))) for t in accepted]

    def status(entry: Mapping[str, Any]) -> str:
        css = "significant" if entry["status"] in ("expired", "unmatched") else "muted"
        return f'<span class="{css}">{_e(entry["status"])}</span>'

    entries = [
        (_e(w["index"]), _e(w.get("test") or ""), _e(w.get("rule") or ""), _e(w.get("operation") or ""),
         _e(w["reason"]), _e(w["expires"]), status(w))
        for w in waivers["entries"]
    ]
    none = '<p class="muted">No failure was accepted.</p>'
    return (
        f'<p>Waiver file <code>{_e(waivers["file"])}</code> (sha256 <code>{_e(waivers["sha256"][:16])}…</code>): '
        "a failure a waiver covers is a known deviation, accepted until the waiver expires.</p>"
        + (_table(("Test", "Broken rule", "Accepted by"), rows) if rows else none)
        + _table(("#", "Test", "Rule", "Operation", "Reason", "Expires", "Status"), entries)
    )


def _errors(errors: list[Mapping[str, Any]]) -> str:
    """Tool errors: the suite or a library failed, so these tests say nothing about the host."""
    if not errors:
        return '<p class="muted">None.</p>'
    head = (f'<p><b>The tool failed; the host was not judged</b> in these {len(errors)} tests '
            "(a crash of the suite or of a library it uses, not a finding about the host).</p>")
    items = "".join(
        f'<details class="tool-error"><summary><code>{_e(t["id"])}</code> {_e(t.get("reason"))}</summary>'
        f"<pre>{_e(t.get('message'))}</pre></details>"
        for t in errors
    )
    return head + items


def _outcomes(outcomes: list[Mapping[str, Any]]) -> str:
    if not outcomes:
        return '<p class="muted">None.</p>'
    rows = [
        (
            f'<span class="outcome-{"unavailable" if o["kind"] == "unavailable" else "skipped"}">'
            f"{_e(o['kind'])}</span>",
            f"<code>{_e(o['test'])}</code>",
            _e(o["message"]) + (f"<pre>{_e(o['evidence'])}</pre>" if o.get("evidence") else ""),
        )
        for o in outcomes
    ]
    return _table(("Kind", "Test", "Message"), rows)


def _coverage(operations: list[Mapping[str, Any]]) -> str:
    rows = []
    for op in _ordered(operations):
        statuses, params = op["statuses"], op["parameters"]
        status_text = (
            f"seen {_e(', '.join(statuses['seen']) or 'none')}; "
            f"not seen {_e(', '.join(map(str, statuses['not_seen'])) or 'none')}"
        )
        if statuses["undocumented_seen"]:
            status_text += f'; <span class="significant">undocumented {_e(statuses["undocumented_seen"])}</span>'
        param_text = "—"
        if params["documented"]:
            documented = set(params["documented"])  # reports before issue 24 listed every name sent as seen
            param_text = (
                f"seen {_e(', '.join(p for p in params['seen'] if p in documented) or 'none')}; "
                f"not seen {_e(', '.join(params['not_seen']) or 'none')}"
            )
        if params.get("undocumented_names_sent"):
            param_text += (f'; <span class="muted">{params["undocumented_names_sent"]} undocumented names sent '
                           "(generated cases)</span>")
        rows.append(
            (
                _e(op["operation_id"]),
                "yes" if op["exercised"] else f'<span class="significant">no</span>: {_e(op.get("why_not"))}',
                str(op["requests"]),
                status_text,
                param_text,
            )
        )
    return _table(("Operation", "Exercised", "Requests", "Status codes", "Query parameters"), rows)


def _undocumented(fields: list[Mapping[str, Any]]) -> str:
    if not fields:
        return '<p class="muted">None.</p>'
    rows = [
        (_e(f["operation_id"]), _e(f["status"]), f"<code>{_e(f['field'])}</code>", _e(f["count"]),
         f"<code>{_e(f['example_test'])}</code>")
        for f in fields
    ]
    return _table(("Operation", "Status", "Field", "Times seen", "First seen in"), rows)


def _drift(drift: Mapping[str, Any] | None) -> str:
    if drift is None:
        return '<p class="muted">Not checked in this run (it runs with --report or --drift-fail).</p>'
    if drift["status"] != "compared":
        why = _e(drift.get("detail") or drift["status"])
        return f'<p class="muted">Not compared: {why} ({_e(drift.get("source"))}).</p>'
    head = (
        f"<p>{_e(drift.get('source'))}: <b>{drift['significant']}</b> significant, {drift['info']} info, over "
        f"{len(drift['operations_compared'])} operations."
    )
    if drift.get("operations_missing"):
        head += f" The host's document lacks: {_e(', '.join(drift['operations_missing']))}."
    head += "</p>"
    if not drift["findings"]:
        return head
    rows = [
        (
            f'<span class="{_e(f["severity"])}">{_e(f["severity"])}</span>',
            _e(f["change"]),
            f"<code>{_e(f['component'])}.{_e(f['field'])}</code>",
            _e(_types(f.get("contract_types"))),
            _e(_types(f.get("host_types"))),
            _e(f.get("note")),
        )
        for f in drift["findings"]
    ]
    return head + _table(("Severity", "Change", "Field", "Contract", "Host", "Note"), rows, table_id="drift-findings")


def _types(types: list[str] | None) -> str:
    return "any" if types is None else " | ".join(types)


def _tests(tests: list[Mapping[str, Any]]) -> str:
    rows = [
        (
            f"<code>{_e(t['id'])}</code>",
            f'<span class="outcome-{_e(t["outcome"])}">{_e(t["outcome"])}</span>',
            _e(", ".join(t.get("checks") or [])),
            _e(", ".join(t.get("operations") or [])) + (" <span class=\"muted\">(inferred)</span>"
                                                         if t.get("inferred_operations") else ""),
            _e(t.get("reason")),
        )
        for t in tests
        if not t.get("container")
    ]
    return _table(("Test", "Outcome", "Checks", "Operations", "Reason"), rows, table_id="test-list")


def _options(report: Mapping[str, Any]) -> str:
    rows = [(f"<code>{_e(k)}</code>", f"<code>{_e(json.dumps(v, ensure_ascii=False))}</code>")
            for k, v in report["options"].items()]
    rows.append(("<code>arguments</code>", f"<code>{_e(' '.join(report['run'].get('arguments') or []))}</code>"))
    return _table(("Option", "Value (secrets redacted)"), rows)


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>"
