"""The deprecation finding of a run (issue 22): what the host announced as deprecated, as every output says it.

A host that answers a documented operation with ``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594) or a
``successor-version`` link, or redirects it to its successor (contract §1.9), has told the user that the
paths their integration calls will stop working. The transports record each notice once per operation
and prefix (`posthog_contract.deprecations.DeprecationLog`); this module turns those records into the
*finding* every output carries, from one shape:

- ``report.json``: ``deprecations`` (one entry per operation and prefix: the operation, the path called
  and its template, the headers' values, the successor, whether the sunset has passed on the run's own
  clock, whether a redirect was followed, the waiver that accepted it) and ``summary.deprecations``
  (the counts and the ``--deprecations`` policy);
- the terminal summary, ``report.html``, JUnit, the job summary and its annotations, ``diff`` and
  ``matrix`` read that shape back (:func:`findings_of`, :func:`counts_of`, :func:`sentence`).

A finding never fails a run unless ``--deprecations fail`` says so and no waiver accepts it (decided in
`posthog_contract.verdicts`, read here). Everything leaving this module is redacted: a hostile host could
echo a key into a header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["POLICIES", "build", "counts_of", "findings_of", "headline", "key_of", "sentence"]

#: ``--deprecations``: ``warn`` (default) reports the finding and never fails the run; ``fail`` makes CI red
POLICIES = ("warn", "fail")
_TEXT_FIELDS = ("deprecation", "sunset", "link", "successor")
_PATH_FIELDS = ("path", "template", "successor_template")


def key_of(entry: Mapping[str, Any]) -> str:
    """What a finding is known by across runs (``diff``): the operation (or ``METHOD path``) and the prefix."""
    what = entry.get("operation_id") or f"{entry.get('method')} {entry.get('path')}"
    return f"{what} @ /api/{entry.get('prefix') or ''}/"


def build(
    records: Iterable[Any],
    *,
    scrub: Callable[[str], str],
    scrub_url: Callable[[str], str | None],
    accepted: Mapping[tuple[str, str], str],
    policy: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The report's ``deprecations`` list and ``summary.deprecations`` from the run's records.

    ``accepted`` maps a record's key to the waiver that accepted it (the verdicts'); ``policy`` is the
    ``--deprecations`` setting.
    """
    entries = []
    for record in records:
        entry = dict(record.as_dict())
        for name in _TEXT_FIELDS:
            if entry.get(name) is not None:
                entry[name] = scrub(str(entry[name]))
        for name in _PATH_FIELDS:
            if entry.get(name) is not None:
                entry[name] = scrub_url(str(entry[name]))
        entry["sentence"] = scrub(record.sentence())
        entry["accepted"] = accepted.get(record.key)
        entries.append(entry)
    entries.sort(key=lambda e: (not e["documented"], str(e.get("template") or e["path"]), e["method"]))
    unaccepted = [e for e in entries if not e["accepted"]]
    counts = {
        "total": len(entries),
        "documented": sum(bool(e["documented"]) for e in entries),
        "sunset_passed": sum(bool(e["sunset_passed"]) for e in entries),
        "redirected": sum(bool(e["redirected"]) for e in entries),
        "accepted": len(entries) - len(unaccepted),
        "policy": policy,
        "fails_run": policy == "fail" and bool(unaccepted),
    }
    return entries, counts


def findings_of(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A report's findings (an older report has none: an empty list)."""
    found = report.get("deprecations")
    return [dict(entry) for entry in found if isinstance(entry, Mapping)] if isinstance(found, list) else []


def counts_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """``summary.deprecations``, or the counts recomputed from the list (a report without the summary)."""
    counts = ((report.get("summary") or {}).get("deprecations")) or None
    if isinstance(counts, Mapping):
        return dict(counts)
    entries = findings_of(report)
    return {"total": len(entries), "documented": sum(bool(e.get("documented")) for e in entries),
            "sunset_passed": sum(bool(e.get("sunset_passed")) for e in entries),
            "redirected": sum(bool(e.get("redirected")) for e in entries),
            "accepted": sum(bool(e.get("accepted")) for e in entries), "policy": "warn", "fails_run": False}


def sentence(entry: Mapping[str, Any]) -> str:
    """One finding in words (the report's own sentence, else made from its fields)."""
    if entry.get("sentence"):
        return str(entry["sentence"])
    what = f"{entry.get('method')} {entry.get('template') or entry.get('path')}"
    sunset = entry.get("sunset_at")
    when = f"sunset {str(sunset)[:10]}" + (" (passed)" if entry.get("sunset_passed") else "") if sunset else ""
    use = entry.get("successor_template") or entry.get("successor")
    return "; ".join(p for p in (f"{what} is deprecated", when, f"use {use}" if use else "") if p)


def headline(report: Mapping[str, Any]) -> str | None:
    """One line for summaries: how many deprecated operations, how many past their sunset, and the policy;
    None when the host announced nothing."""
    counts = counts_of(report)
    if not counts.get("total"):
        return None
    passed = f", {counts['sunset_passed']} past their sunset" if counts.get("sunset_passed") else ""
    accepted = f", {counts['accepted']} accepted by a waiver" if counts.get("accepted") else ""
    if counts.get("policy") == "fail":
        effect = "--deprecations fail: this fails the run" if counts.get("fails_run") else \
            "--deprecations fail: every one is accepted by a waiver"
    else:
        effect = "reported, never failing the run (--deprecations fail makes it fail)"
    return (f"{counts['total']} deprecated operation(s) ({counts.get('documented', 0)} documented){passed}{accepted};"
            f" {effect} (contract §1.9)")
