"""Secrets never reach an artifact: the net under the run's own redaction.

Failure messages are redacted where they are made (assertions.py, client.describe); these hooks are
the net under them: pytest's own renderings (assertion introspection, ``--showlocals``, fixture
arguments, captured output and logs, skip reasons, the Ctrl-C traceback) pass through the run's
redactor before any reporter, JUnit XML or report writer sees them, and every log record is
rewritten on its way to the live log, ``--log-file`` and the captured logs.

A pytest plugin *object* (:class:`Scrubber`), one per run, registered by the plugin with the run's
session: it scrubs with that run's redactor and nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from .redaction import Redactor

__all__ = ["Scrubber", "redact_in_place"]


class Scrubber:
    """The scrubbing hooks of one run, with that run's redactor."""

    def __init__(self, config: pytest.Config, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
        report = yield
        self.redact_report(report)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Iterator[Any]:
        report = yield
        self.redact_report(report)
        return report

    @pytest.hookimpl(trylast=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        memo = getattr(reporter, "_keyboardinterrupt_memo", None)
        if memo is not None:
            redact_in_place(memo, self.redactor)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """The logging plugin's handlers exist from now on: each gets the redacting filter."""
        logging_plugin = self.config.pluginmanager.get_plugin("logging-plugin")
        handlers = [
            getattr(logging_plugin, name, None)
            for name in ("caplog_handler", "report_handler", "log_file_handler", "log_cli_handler")
        ]
        for handler in handlers:
            if not isinstance(handler, logging.Handler):
                continue
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter(self.redactor))

    def redact_report(self, report: Any) -> None:
        redactor = self.redactor
        if not redactor.secrets:
            return
        longrepr = report.longrepr
        if isinstance(longrepr, str):
            report.longrepr = redactor.text(longrepr)
        elif isinstance(longrepr, tuple):
            report.longrepr = tuple(redactor.text(x) if isinstance(x, str) else x for x in longrepr)
        elif longrepr is not None:
            redact_in_place(longrepr, redactor)
        report.sections = [(title, redactor.text(content)) for title, content in report.sections]


def redact_in_place(obj: Any, redactor: Redactor, _seen: set[int] | None = None) -> Any:
    """Scrub every string inside pytest's failure representation (dataclasses, lists, tuples, dicts)."""
    seen = set() if _seen is None else _seen
    if isinstance(obj, str):
        return redactor.text(obj)
    if id(obj) in seen or obj is None or isinstance(obj, int | float | bool | bytes):
        return obj
    seen.add(id(obj))
    if isinstance(obj, list):
        obj[:] = [redact_in_place(x, redactor, seen) for x in obj]
        return obj
    if isinstance(obj, tuple):
        return tuple(redact_in_place(x, redactor, seen) for x in obj)
    if isinstance(obj, dict):
        for key in list(obj):
            obj[key] = redact_in_place(obj[key], redactor, seen)
        return obj
    if dataclasses.is_dataclass(obj):
        attributes = [f.name for f in dataclasses.fields(obj)]
    else:
        attributes = list(getattr(obj, "__dict__", {}))
    for name in attributes:
        value = getattr(obj, name, None)
        new = redact_in_place(value, redactor, seen)
        if new is not value:
            with contextlib.suppress(AttributeError, dataclasses.FrozenInstanceError, TypeError):
                object.__setattr__(obj, name, new)
    return obj


class RedactingFilter(logging.Filter):
    """Rewrites each log record's message through the run's redactor (live logs, --log-file, captured logs)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor.secrets:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken record is logging's business, not ours
                return True
            cleaned = self.redactor.text(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_text:
                record.exc_text = self.redactor.text(record.exc_text)
        return True
