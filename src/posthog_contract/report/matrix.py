"""``posthog-contract matrix REPORT.json...``: many hosts or releases on one page (the CI fan-in).

Teams that audit several hosts or releases fan out over a CI matrix, one job per host, each keeping
its ``report.json``; this command fans in. It writes one self-contained HTML page (inline CSS and a
few lines of JS, no network resource) and a Markdown table: one row per documented operation and
check, one column per run, each cell the outcome that run's report gives (pass, fail, tool error,
accepted, warning, unavailable, not applicable, not checked), with the deprecation finding (contract §1.9)
and the version findings each run reported. Rows whose outcomes differ between the runs are marked, and the page can
show only those.

Runs of different suite versions are refused (exit 2, one line naming the difference), as ``diff``
refuses them: a change of the suite would read as a difference between hosts. Baselines and profiles
may differ (judging one host as 2024-01 and another as current is the point), and each column says
which it had. ``--allow-mismatch`` puts them side by side anyway, the mismatch printed first.
Exit status: 0 written, 2 a file is not a readable report or the runs are not comparable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from .. import operations as ops
from ..outcomes import verdict_of_run
from . import deprecations
from .diff import mismatches
from .model import CELL_EMOJI, CELL_SYMBOL, ReportError, load
from .render_html import row_filter_script

__all__ = ["Column", "Row", "build", "markdown", "register", "render"]

#: the suite version is what ``matrix`` requires to be shared (see diff.COMPARED)
REQUIRED = ("suite version",)
_PROBLEMS = frozenset({"fail", "error", "accepted", "warning", "unavailable"})


@dataclass
class Column:
    """One run: its label and what the page says about it."""

    label: str
    path: str
    report: Mapping[str, Any]
    deprecations: list[str] = field(default_factory=list)
    version_findings: list[str] = field(default_factory=list)

    @property
    def run(self) -> Mapping[str, Any]:
        return self.report.get("run") or {}

    @property
    def baseline(self) -> str:
        return str((self.report.get("provenance") or {}).get("baseline") or "current")


@dataclass
class Row:
    """One documented operation × check kind, across the runs."""

    operation_id: str
    method: str
    path: str
    check: str
    cells: list[Mapping[str, Any]]  # one per column: {"outcome", "tests", "reasons", ...}
    deprecated: bool = False

    @property
    def outcomes(self) -> list[str]:
        return [str(cell.get("outcome", "not_checked")) for cell in self.cells]

    @property
    def differs(self) -> bool:
        return len(set(self.outcomes)) > 1

    @property
    def problem(self) -> bool:
        return bool(_PROBLEMS.intersection(self.outcomes))


@dataclass
class Matrix:
    columns: list[Column]
    kinds: list[Mapping[str, str]]
    rows: list[Row]
    mismatches: list[str]


def _label(report: Mapping[str, Any]) -> str:
    """A column's default name: the host (the reference with its arguments), release and baseline."""
    host, provenance = report.get("host") or {}, report.get("provenance") or {}
    if host.get("embedded"):
        arguments = [a for a in provenance.get("reference_args") or [] if not a.startswith("--credentials")]
        name = " ".join(["reference", *arguments])
    else:
        name = str(host.get("url") or "unknown host")
    if host.get("version"):
        name += f" (PostHog {host['version']})"
    if provenance.get("baseline"):
        name += f", baseline {provenance['baseline']}"
    return name


def _notices(report: Mapping[str, Any], *, prefix: str | None = None, word: str | None = None) -> list[str]:
    """Distinct warning texts of a run (``outcomes`` and the host's notes) that start with ``prefix`` or
    mention ``word``."""
    texts = [str(o.get("message", "")) for o in report.get("outcomes") or [] if o.get("kind") == "warning"]
    texts += [str(note) for note in (report.get("host") or {}).get("notes") or []]
    found = []
    for text in texts:
        if (prefix and text.startswith(prefix)) or (word and word in text.lower()):
            found.append(text.removeprefix(prefix or ""))
    return list(dict.fromkeys(found))


def _deprecations(report: Mapping[str, Any]) -> list[str]:
    """The run's deprecation finding (report.json ``deprecations``, contract §1.9), one sentence per deprecated
    operation: the operation and its template, its sunset (passed or not), its successor, a redirect followed,
    the waiver that accepted it."""
    found = []
    for entry in deprecations.findings_of(report):
        line = deprecations.sentence(entry)
        if entry.get("accepted"):
            line += f" [accepted: {entry['accepted']}]"
        found.append(line)
    return found


def _deprecated_operations(columns: Sequence[Column]) -> set[str]:
    """The documented operations some run found deprecated under the documented prefix."""
    return {str(e.get("operation_id")) for column in columns for e in deprecations.findings_of(column.report)
            if e.get("operation_id") and e.get("prefix") == "environments"}


def build(reports: Sequence[tuple[str, Mapping[str, Any]]], labels: Sequence[str] = ()) -> Matrix:
    """The matrix of ``(path, report)`` runs; ``labels`` name the columns (default: host, release, baseline)."""
    columns = []
    for index, (path, report) in enumerate(reports):
        label = labels[index] if index < len(labels) else _label(report)
        columns.append(Column(label, path, report, _deprecations(report),
                              _notices(report, prefix="version finding: ")))
    for suffix in (lambda i, c: c.run.get("id"), lambda i, c: i):  # two runs of one host: their run ids, else #
        counts: dict[str, int] = {}
        for column in columns:
            counts[column.label] = counts.get(column.label, 0) + 1
        for index, column in enumerate(columns, start=1):
            if counts[column.label] > 1:
                column.label += f" [{suffix(index, column)}]"
    problems = []
    for column in columns[1:]:
        problems += mismatches(columns[0].report, column.report, fields=REQUIRED,
                               labels=(columns[0].path, column.path))
    kinds = list(columns[0].report.get("check_kinds") or []) if columns else []
    deprecated = _deprecated_operations(columns)
    rows = []
    for operation in ops.documented_operations():
        per_run = []
        for column in columns:
            found = next((o for o in column.report.get("operations") or []
                          if o.get("operation_id") == operation.operation_id), None)
            per_run.append((found or {}).get("checks") or {})
        for kind in kinds:
            cells = [checks.get(kind["id"]) or {"outcome": "not_checked"} for checks in per_run]
            if all(cell.get("outcome") == "not_applicable" for cell in cells):
                continue
            rows.append(Row(operation.operation_id, operation.method, operation.full_path(), kind["id"], cells,
                            deprecated=operation.operation_id in deprecated))
    return Matrix(columns, kinds, rows, problems)


# --- HTML ---------------------------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _verdict(run: Mapping[str, Any]) -> tuple[str, str]:
    """The column's css class and verdict word (outcomes.RUN_VERDICTS): only a host that broke a rule is a fail."""
    verdict, _sentence = verdict_of_run(dict(run))
    css = {"passed": "pass", "failed": "fail"}.get(verdict, "error")
    return css, verdict.replace("_", " ") + (f" (exit {run.get('exit_status')})" if verdict == "failed" else "")


def _cell_title(cell: Mapping[str, Any]) -> str:
    outcome = str(cell.get("outcome", "not_checked")).replace("_", " ")
    lines = [outcome]
    lines += [f"{t.get('outcome')}: {t.get('id')}" for t in cell.get("tests") or []][:8]
    lines += [str(reason) for reason in cell.get("reasons") or []][:3]
    return "\n".join(lines)


def _runs_table(matrix: Matrix) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in ("Run", "Host", "Baseline", "Profile", "Run id, seed", "Verdict",
                                                "Tests", "Applicable cells checked", "Report"))
    rows = []
    for index, column in enumerate(matrix.columns, start=1):
        report = column.report
        host, summary = report.get("host") or {}, report.get("summary") or {}
        provenance = report.get("provenance") or {}
        tests, cells = summary.get("tests") or {}, summary.get("applicable_cells") or {}
        css, verdict = _verdict(column.run)
        where = "the embedded reference server" if host.get("embedded") else "external host"
        rows.append(
            f'<tr data-column="{index}"><td><b>{index}</b> {_e(column.label)}</td>'
            f"<td><code>{_e(host.get('url'))}</code> ({where}), "
            f"PostHog {_e(host.get('version') or 'version not revealed')}</td>"
            f"<td>{_e(column.baseline)}</td><td>{_e(provenance.get('profile') or column.run.get('profile'))}</td>"
            f"<td><code>{_e(column.run.get('id'))}</code>, seed {_e(_seed(column.run.get('seed')))}</td>"
            f'<td class="verdict {css}">{_e(verdict)}</td>'
            f"<td>{_e(tests.get('passed', 0))} passed, {_e(tests.get('failed', 0))} failed, "
            f"{_e(tests.get('error', 0))} tool errors, {_e(tests.get('accepted', 0))} accepted</td>"
            f"<td>{_e(cells.get('checked', 0))}/{_e(cells.get('total', 0))}</td>"
            f"<td><code>{_e(column.path)}</code></td></tr>"
        )
    return f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>\n' + "\n".join(rows) + "\n</tbody></table>"


def _seed(seed: Any) -> str:
    return "not fixed" if seed is None else str(seed)


def _matrix_table(matrix: Matrix) -> str:
    head = "".join(f'<th title="{_e(c.label)}">{i}</th>' for i, c in enumerate(matrix.columns, start=1))
    titles = {str(k["id"]): str(k.get("title", "")) for k in matrix.kinds}
    body = []
    previous = None
    for row in matrix.rows:
        first = row.operation_id != previous
        previous = row.operation_id
        name = (f'<code>{_e(row.operation_id)}</code>{" <small>(deprecated)</small>" if row.deprecated else ""}'
                f'<br><small class="muted">{_e(row.method)} {_e(row.path)}</small>') if first else ""
        cells = "".join(
            f'<td class="cell {_e(outcome)}" data-outcome="{_e(outcome)}" title="{_e(_cell_title(cell))}">'
            f"{_e(CELL_SYMBOL.get(outcome, '?'))}</td>"
            for outcome, cell in zip(row.outcomes, row.cells, strict=True)
        )
        css = ' class="first"' if first else ""
        body.append(
            f'<tr data-operation="{_e(row.operation_id)}" data-check="{_e(row.check)}" '
            f'data-differs="{str(row.differs).lower()}" data-problem="{str(row.problem).lower()}"{css}>'
            f'<td>{name}</td><td><abbr title="{_e(titles.get(row.check, ""))}">{_e(row.check)}</abbr></td>{cells}</tr>'
        )
    return (f'<table id="matrix"><thead><tr><th>Operation</th><th>Check</th>{head}</tr></thead><tbody>\n'
            + "\n".join(body) + "\n</tbody></table>")


def _listings(matrix: Matrix, attribute: str, empty: str) -> str:
    parts = []
    for index, column in enumerate(matrix.columns, start=1):
        entries = getattr(column, attribute)
        items = "".join(f"<li>{_e(entry)}</li>" for entry in entries) or f'<li class="muted">{_e(empty)}</li>'
        parts.append(f'<h3>{index}. {_e(column.label)} ({len(entries)})</h3><ul data-column="{index}">{items}</ul>')
    return "\n".join(parts)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{generator}">
<title>PostHog API contract: {count} runs</title>
<style>
:root {{ --pass: #1a7f37; --fail: #cf222e; --line: #d0d7de; --soft: #f6f8fa; --warn: #9a6700; }}
body {{ font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; }}
header, main {{ padding: 16px 24px; }} header {{ border-bottom: 1px solid var(--line); background: var(--soft); }}
h1 {{ font-size: 20px; margin: 0 0 6px; }}
h2 {{ font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); }}
h3 {{ font-size: 14px; margin: 12px 0 4px; }}
code {{ font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}
table {{ border-collapse: collapse; margin: 6px 0; }}
th, td {{ border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }}
th {{ background: var(--soft); }} tr.first td {{ border-top: 2px solid #8c959f; }}
td.cell {{ text-align: center; font-weight: 700; min-width: 3.5em; }}
td.pass {{ color: var(--pass); background: #dafbe1; }} td.fail {{ color: var(--fail); background: #ffebe9; }}
td.error {{ color: #6639ba; background: #fbefff; }} td.accepted {{ color: #0550ae; background: #ddf4ff; }}
td.warning, td.unavailable {{ color: var(--warn); background: #fff8c5; }} td.not_checked {{ color: #d0d7de; }}
td.not_applicable {{ color: #8c959f; font-weight: 400; font-size: 11px; }}
tr[data-differs="true"] td:nth-child(2) {{ box-shadow: inset 4px 0 0 #bf8700; }}
.verdict.pass {{ color: var(--pass); font-weight: 700; }} .verdict.fail {{ color: var(--fail); font-weight: 700; }}
.verdict.error {{ color: #6639ba; font-weight: 700; }} .muted {{ color: #59636e; }}
.mismatch {{ border: 1px solid var(--fail); background: #ffebe9; padding: 6px 10px; }}
.toolbar {{ display: flex; gap: 16px; align-items: center; margin: 6px 0; }}
</style>
</head>
<body>
<header>
<h1>PostHog API contract: {count} runs side by side</h1>
<p class="muted">Suite {suite}. Each column is one run's report.json; each row one documented operation and check
(rows where every run says "not applicable" are left out). {legend}</p>
{mismatch}
</header>
<main>
<section id="runs-section"><h2>Runs</h2>
{runs}
</section>
<section id="matrix-section"><h2>Documented operations × checks × runs</h2>
<div class="toolbar">
<label><input type="checkbox" id="only-differing"> rows where the runs differ</label>
<label><input type="checkbox" id="only-problems"> problems only</label>
<span id="matrix-count" class="muted"></span>
</div>
{matrix}
</section>
<section id="deprecations"><h2>Deprecations</h2>
<p class="muted">The documented paths each run's host announced as deprecated (its report's deprecation finding:
Deprecation, Sunset, a successor-version link or a redirect to the successor, contract §1.9); an operation some run
found deprecated is marked "(deprecated)" above.</p>
{deprecations}
</section>
<section id="version-findings"><h2>Version findings</h2>
<p class="muted">Fields the contract's release baseline would require but the host does not return (warnings, never
failures; see the README, "Older releases").</p>
{findings}
</section>
</main>
<script>
{row_filter}
rowFilter("differing", "data-differs", "rows");
</script>
</body>
</html>
"""


def render(matrix: Matrix, generator: str = "posthog-contract") -> str:
    """The self-contained page."""
    legend = " ".join(f"{_e(symbol)} {_e(name.replace('_', ' '))}" for name, symbol in CELL_SYMBOL.items())
    mismatch = ""
    if matrix.mismatches:
        items = "".join(f"<li>{_e(line)}</li>" for line in matrix.mismatches)
        mismatch = (f'<div class="mismatch"><b>MISMATCH:</b> these runs were made by different suite versions, so '
                    f"some differences below may be the suite's, not the hosts'.<ul>{items}</ul></div>")
    suites = {str((c.report.get("provenance") or {}).get("suite_version") or c.report.get("generator"))
              for c in matrix.columns}
    return _PAGE.format(
        generator=_e(generator), count=len(matrix.columns), suite=_e(", ".join(sorted(suites))), legend=legend,
        mismatch=mismatch, runs=_runs_table(matrix), matrix=_matrix_table(matrix), row_filter=row_filter_script(),
        deprecations=_listings(matrix, "deprecations", "no deprecation reported"),
        findings=_listings(matrix, "version_findings", "no version finding"),
    )


# --- Markdown -----------------------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(matrix: Matrix) -> str:
    """The same matrix as a Markdown job summary."""
    lines = [f"## posthog-contract: {len(matrix.columns)} runs side by side", ""]
    if matrix.mismatches:
        lines += ["**MISMATCH** (different suite versions): " + "; ".join(matrix.mismatches), ""]
    lines += ["| # | run | baseline | verdict | applicable cells checked |", "|---|---|---|---|---|"]
    for index, column in enumerate(matrix.columns, start=1):
        cells = (column.report.get("summary") or {}).get("applicable_cells") or {}
        verdict = _verdict(column.run)[1]
        lines.append(f"| {index} | {_md(column.label)} | {_md(column.baseline)} | {_md(verdict)} | "
                     f"{cells.get('checked', 0)}/{cells.get('total', 0)} |")
    numbers = " | ".join(str(i) for i in range(1, len(matrix.columns) + 1))
    lines += ["", f"| operation | check | {numbers} |", "|---|---|" + "---|" * len(matrix.columns)]
    for row in matrix.rows:
        symbols = " | ".join(CELL_EMOJI.get(o, "?") for o in row.outcomes)
        marker = " ≠" if row.differs else ""
        lines.append(f"| {_md(row.operation_id)} | {_md(row.check)}{marker} | {symbols} |")
    legend = ", ".join(f"{symbol} {name.replace('_', ' ')}" for name, symbol in CELL_EMOJI.items())
    lines += ["", f"<sub>{legend}; ≠ the runs differ</sub>"]
    for title, attribute in (("Deprecations", "deprecations"), ("Version findings", "version_findings")):
        entries = [(i, e) for i, c in enumerate(matrix.columns, start=1) for e in getattr(c, attribute)]
        lines += ["", f"### {title} ({len(entries)})", ""]
        lines += [f"- {i}: {_md(entry)}" for i, entry in entries] or ["- none"]
    return "\n".join(lines).rstrip() + "\n"


# --- the command --------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    try:
        reports = [(path, load(path)) for path in args.reports]
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    matrix = build(reports, args.label or ())
    if matrix.mismatches and not args.allow_mismatch:
        print(f"error: refusing to put runs made by different suite versions on one page "
              f"({'; '.join(matrix.mismatches)}); a change of the suite would read as a difference between the "
              "hosts. Run every host with the same suite version, or pass --allow-mismatch.", file=sys.stderr)
        return 2
    for line in matrix.mismatches:
        print(f"MISMATCH: {line}", file=sys.stderr)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(matrix, f"posthog-contract {_suite_version()}"), encoding="utf-8")
    text = markdown(matrix)
    if args.markdown == "-":
        sys.stdout.write(text)
    elif args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as handle:
            handle.write(text)
    print(f"matrix: {len(matrix.columns)} runs, {len(matrix.rows)} rows "
          f"({sum(row.differs for row in matrix.rows)} differ) -> {output}", file=sys.stderr)
    return 0


def _suite_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("posthog-contract")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def register(commands: Any) -> None:
    """Add the ``matrix`` subcommand to ``python -m posthog_contract``."""
    parser = commands.add_parser(
        "matrix",
        help="put several report.json files (hosts, releases) side by side on one HTML page and a Markdown table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("reports", metavar="REPORT.json", nargs="+", help="one report.json per host or release")
    parser.add_argument("--output", default="matrix.html", metavar="FILE",
                        help="the HTML page to write (default: matrix.html)")
    parser.add_argument("--markdown", metavar="FILE",
                        help='also append the Markdown table to FILE (e.g. "$GITHUB_STEP_SUMMARY"); - for stdout')
    parser.add_argument("--label", action="append", metavar="NAME",
                        help="name the columns in the order of the reports (repeat; default: host, release, baseline)")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="put runs of different suite versions side by side (the mismatch is printed first)")
    parser.set_defaults(handler=run)

