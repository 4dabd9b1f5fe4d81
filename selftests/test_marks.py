"""Tests declare what they judge (posthog_contract.marks): validated at collection, read by the report.

A contract test (one that uses the ``contract`` session) without its ``operations`` and ``check``
marks, or naming an operation id or check kind that does not exist, is a collection error naming the
test and the value, as pytest-django refuses a wrong ``django_db`` argument.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posthog_contract import marks
from posthog_contract.mutation import ROOT, suite_environment


@dataclass
class _Mark:
    args: tuple[Any, ...]


@dataclass
class _Node:
    """The one thing marks.py reads of a pytest item: its closest mark of a name."""

    marks: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def get_closest_marker(self, name: str) -> _Mark | None:
        return _Mark(self.marks[name]) if name in self.marks else None


def test_declarations_come_in_catalogue_and_column_order() -> None:
    node = _Node({"operations": ("events_list", "dashboards_retrieve"), "check": ("persistence", "status")})
    assert marks.declared(node) == marks.Declared(("dashboards_retrieve", "events_list"), ("status", "persistence"))
    assert marks.declared(_Node()) == marks.Declared()


def test_problems_name_the_unknown_value_and_the_missing_mark() -> None:
    assert marks.problems(_Node({"operations": ("dashboards_list",), "check": ("shape",)}), required=True) == []
    found = marks.problems(_Node({"operations": ("dashboards_lisst",), "check": ("shapes",)}), required=False)
    assert len(found) == 2 and "'dashboards_lisst'" in found[0] and "'shapes'" in found[1]
    assert marks.problems(_Node(), required=False) == []
    missing = marks.problems(_Node({"check": ()}), required=True)
    assert any("no @pytest.mark.operations" in p for p in missing) and any("check() is empty" in p for p in missing)


def test_events_operations_make_a_run_need_events() -> None:
    assert marks.judges_events([_Node({"operations": ("events_retrieve",)})])
    assert not marks.judges_events([_Node({"operations": ("dashboards_list",)}), _Node()])


STAND_IN = '''
import pytest


@pytest.mark.operations("dashboards_nope")
@pytest.mark.check("shape")
def test_unknown_operation(client):
    pass


@pytest.mark.operations("dashboards_list")
@pytest.mark.check("vibes")
def test_unknown_check(client):
    pass


def test_undeclared(client):
    pass


def test_not_a_contract_test():
    pass
'''


def _collect(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=suite_environment(), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
    )


def test_a_wrong_or_missing_declaration_is_a_collection_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "test_stand_in.py").write_text(STAND_IN, encoding="utf-8")
    done = _collect(tmp_path, "-p", "posthog_contract.plugin", "test_stand_in.py")
    output = done.stdout + done.stderr
    assert done.returncode == 2 and "error during collection" in output, output
    assert "test_unknown_operation: unknown operation id 'dashboards_nope'" in output
    assert "test_unknown_check: unknown check kind 'vibes'" in output
    assert "test_undeclared: it declares no @pytest.mark.operations" in output
    assert "test_not_a_contract_test" not in output.split("ERROR collecting", 1)[1].split("short test summary")[0]


def test_every_contract_test_of_the_suite_declares_what_it_judges() -> None:
    done = _collect(ROOT, "tests")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("tests/") > 100
