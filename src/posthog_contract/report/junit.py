"""JUnit XML that reads well: pytest's own ``--junitxml``, named and annotated for the suite.

- the ``<testsuite>`` is named ``posthog-contract`` (unless ``junit_suite_name`` is set);
- suite-level ``<properties>``: host, run id, seed, suite version, profile, baseline; and the run's
  deprecation finding (contract §1.9): ``deprecations`` (how many operations the host announced as
  deprecated) and one ``deprecation`` property per operation, in words (sunset, successor);
- a generated (schemathesis) failure's ``message`` states the broken rule, the operation and the
  redacted reproduction in plain words instead of a Python repr such as ``JsonSchemaError(...)``.

It writes through pytest's ``LogXML`` object (``_pytest.junitxml.xml_key``), the one the
``record_testsuite_property`` fixture uses too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

__all__ = ["SUITE_NAME", "add_deprecations", "add_suite_properties", "name_the_suite", "plain_failure", "recount"]

SUITE_NAME = "posthog-contract"
_MAX_DETAIL_LINES = 12
_MAX_RESPONSE = 400
_STATUS_LINE = re.compile(r"^\s*(\[\d{3}\][^\n]*:)\s*$")


def _log_xml(config: pytest.Config) -> Any:
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without the junitxml plugin
        return None
    return config.stash.get(xml_key, None)


def name_the_suite(config: pytest.Config) -> None:
    """``posthog-contract`` instead of pytest's default ``pytest``; an explicit junit_suite_name wins."""
    xml = _log_xml(config)
    if xml is not None and config.getini("junit_suite_name") == "pytest":
        xml.suite_name = SUITE_NAME


def add_suite_properties(config: pytest.Config, properties: Mapping[str, Any]) -> None:
    """Suite-level properties (skipping unknown values), once each."""
    xml = _log_xml(config)
    if xml is None:
        return
    present = {name for name, _ in xml.global_properties}
    for name, value in properties.items():
        if value is not None and value != "" and name not in present:
            xml.add_global_property(name, str(value))


def add_deprecations(config: pytest.Config, sentences: list[str]) -> None:
    """``deprecations`` (the count) and one ``deprecation`` property per deprecated operation, once per run."""
    xml = _log_xml(config)
    if xml is None or any(name == "deprecations" for name, _ in xml.global_properties):
        return
    xml.add_global_property("deprecations", str(len(sentences)))
    for sentence in sentences:
        xml.add_global_property("deprecation", sentence)
def recount(config: pytest.Config, containers: set[str], kinds: Mapping[str, str]) -> None:
    """The JUnit file counts what pytest's line and the summary count (posthog_contract.counting):

    - the passed testcase of a generated test that ran its operations as subtests is dropped: each
      subtest is already a testcase of its own;
    - a failed testcase is a ``failure`` when the host broke a rule and an ``error`` when the tool
      failed (``kinds``: node id -> "failure" | "error"), whichever phase it failed in; pytest's own
      file says "error" for every setup failure, a host's violation in a fixture included.

    pytest has finalized each testcase into its XML element by now; an element is matched by the
    ``classname`` and ``name`` pytest gives a node id (``mangle_test_address``)."""
    xml = _log_xml(config)
    if xml is None or not (containers or kinds):
        return
    from _pytest.junitxml import mangle_test_address

    def address(nodeid: str) -> tuple[str, str]:
        names = mangle_test_address(nodeid)
        return ".".join(([xml.prefix] if xml.prefix else []) + names[:-1]), names[-1]

    dropped = {address(nodeid) for nodeid in containers}
    wanted = {address(nodeid): kind for nodeid, kind in kinds.items()}
    kept = []
    for reporter in xml.node_reporters_ordered:
        element = reporter.to_xml()
        where = (element.get("classname"), element.get("name"))
        outcomes = {child.tag for child in element}
        if where in dropped and not outcomes & {"failure", "error", "skipped"}:
            xml.stats["passed"] -= 1
            continue
        kind = wanted.get(where)
        for child in element:
            if kind is not None and child.tag in ("failure", "error") and child.tag != kind:
                xml.stats[child.tag] -= 1
                xml.stats[kind] += 1
                child.tag = kind
        kept.append(reporter)
    xml.node_reporters_ordered[:] = kept


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            yield from _leaves(member)
    else:
        yield exc


def _is_check_failure(exc: BaseException) -> bool:
    return all(hasattr(exc, name) for name in ("operation", "title", "message"))


def _response(message: str) -> str:
    """``[200] OK: {...}`` from schemathesis' failure report (status line, then the body a line later)."""
    lines = message.splitlines()
    for index, line in enumerate(lines):
        found = _STATUS_LINE.match(line)
        if found:
            body = next((b.strip().strip("`") for b in lines[index + 1:index + 4] if b.strip()), "")
            text = f"{found.group(1)} {body}".strip()
            return text if len(text) <= _MAX_RESPONSE else text[:_MAX_RESPONSE] + "…"
    return ""


def plain_failure(exc: BaseException) -> str | None:
    """The failure of a generated case in plain words (None: not a schemathesis check failure)."""
    failures = [leaf for leaf in _leaves(exc) if _is_check_failure(leaf)]
    if not failures:
        return None
    first = failures[0]
    lines = [f"Contract rule broken (generated case): {first.title}", f"Operation: {first.operation}"]
    detail = []
    for line in str(first.message or "").splitlines():
        if line.startswith("Schema at "):  # the schema dump stays in the traceback
            break
        if line.strip():
            detail.append(line)
    lines += detail[:_MAX_DETAIL_LINES]
    if len(detail) > _MAX_DETAIL_LINES:
        lines.append(f"… {len(detail) - _MAX_DETAIL_LINES} more lines in the traceback")
    if len(failures) > 1:
        others = "; ".join(f"{f.title} ({f.operation})" for f in failures[1:])
        lines.append(f"Also broken in this case: {others}")
    notes = [note for leaf in (exc, *failures) for note in getattr(leaf, "__notes__", []) or []]
    group_message = str(getattr(exc, "message", "") or "")
    for text in (*notes, group_message):
        if "curl " in text:
            curl = next(line.strip() for line in text.splitlines() if "curl " in line)
            lines.append(f"Request (redacted, reproduce with): {curl}")
            break
    response = _response(group_message)
    if response:
        lines.append(f"Response (redacted): {response}")
    seed = next((line.strip() for line in group_message.splitlines() if "seed" in line.lower()), "")
    if seed:
        lines.append(seed)
    return "\n".join(lines)
