"""The reference server under fuzzing: schemathesis' negative mode on every operation of the contract
never gets a 5xx, and nothing half-written is left behind (every stored dashboard, tile, sharing
configuration and collaborator still validates; a refused write leaves no row).

Depth: ``POSTHOG_CONTRACT_PROFILE=thorough`` raises the examples per operation from a few dozen to a
few hundred, adds schemathesis' coverage phase (systematic boundary and wrong-type cases) and the
``/api/environments/`` twins of every project operation.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from safety_support import Server, all_dashboards, start_server

from posthog_contract import contract

THOROUGH = os.environ.get("POSTHOG_CONTRACT_PROFILE", "").strip().lower() == "thorough"
MAX_EXAMPLES = 300 if THOROUGH else 25


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "reference.sqlite3"


@pytest.fixture(scope="module")
def fuzzed(fuzz_db: Path) -> Iterator[Server]:
    server = start_server("--db", str(fuzz_db))
    yield server
    server.stop()
    assert "unhandled error" not in server.stderr_text(), server.stderr_text()[-5000:]


@pytest.fixture(scope="module")
def targets(fuzzed: Server) -> dict[str, Any]:
    """Existing objects the path parameters point at, so that bodies and queries reach the handlers."""
    api = fuzzed.client()
    base = fuzzed.project_path
    ids = []
    for i in range(3):
        response = api.post(f"{base}/dashboards/", json={"name": f"fuzz target {i}", "restriction_level": 21})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    tile = api.patch(f"{base}/dashboards/{ids[0]}/", json={"tiles": [{"text": {"body": "fuzz tile"}}]})
    assert tile.status_code == 200, tile.text
    return {"dashboards": ids, "collaborator": fuzzed.credentials["collaborator_uuid"]}


@pytest.fixture(scope="module")
def fuzz_schema(fuzzed: Server, targets: dict[str, Any]) -> Any:
    dashboard = targets["dashboards"][0]
    config = schemathesis.Config.from_dict(
        {
            "base-url": fuzzed.base_url,
            "headers": {"Authorization": f"Bearer {fuzzed.credentials['personal_api_key']}"},
            "request-timeout": 30,
            "max-redirects": 0,
            "seed": 20240601,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
            "parameters": {
                "path.project_id": str(fuzzed.credentials["project_id"]),
                "path.id": dashboard,
                "path.dashboard_id": dashboard,
                "path.user_uuid": targets["collaborator"],
            },
            # "all": negative cases everywhere they can be made, positive ones where every input is pinned
            # above (schemathesis refuses a negative-only run of an operation with nothing to negate)
            "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": THOROUGH},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    # the /api/environments/ twins share every handler with /api/projects/: fuzzed in the thorough profile
    prefixes = ("projects", "environments") if THOROUGH else ("projects",)
    return schemathesis.openapi.from_dict(contract.openapi_document(prefixes=prefixes), config=config)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    yield session
    session.close()


fuzz = schemathesis.pytest.from_fixture("fuzz_schema")


@fuzz.parametrize()
def test_invalid_input_never_gets_a_5xx(case: schemathesis.Case, http: requests.Session) -> None:
    response = case.call(session=http)
    assert response.status_code < 500, (
        f"{case.operation.label} answered {response.status_code} to invalid input (contract §1.7): "
        f"{response.text[:500]}\n{case.as_curl_command()}"
    )


# --- nothing half-written ------------------------------------------------------------------------------------


def test_after_fuzzing_every_stored_object_validates(fuzzed: Server) -> None:
    api = fuzzed.client()
    base = fuzzed.project_path
    problems = []
    url, params = f"{base}/dashboards/", {"limit": 100}
    while url:
        page = api.get(url, params=params)
        problems += [f"list page: {e}" for e in contract.errors(page.json(), "dashboard-list-page")]
        url, params = page.json()["next"], None
    for item in all_dashboards(api, base):
        detail = api.get(f"{base}/dashboards/{item['id']}/")
        problems += [f"dashboard {item['id']}: {e}" for e in contract.errors(detail.json(), "dashboard")]
        sharing = api.get(f"{base}/dashboards/{item['id']}/sharing/")
        problems += [f"sharing {item['id']}: {e}" for e in contract.errors(sharing.json(), "sharing-configuration")]
        collaborators = api.get(f"{base}/dashboards/{item['id']}/collaborators/")
        problems += [
            f"collaborators {item['id']}: {e}" for e in contract.errors(collaborators.json(), "collaborator-list")
        ]
    assert not problems, "\n".join(problems[:30])


def _counts(db: Path) -> dict[str, int]:
    tables = (
        "dashboards", "tiles", "texts", "insights", "sharing_configurations", "collaborators", "events", "persons"
    )
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}  # noqa: S608


REFUSED_CREATES: list[tuple[str, dict[str, Any]]] = [
    ("name too long", {"json": {"name": "x" * 401}}),
    ("restriction level out of range", {"json": {"name": "ok", "restriction_level": 99}}),
    ("tags not a list", {"json": {"name": "ok", "tags": "a,b"}}),
    ("name not a string", {"json": {"name": {"nested": True}}}),
    ("pinned not a boolean", {"json": {"name": "ok", "pinned": "sometimes"}}),
    ("filters not an object", {"json": {"name": "ok", "filters": [1, 2]}}),
    ("malformed JSON", {"content": b'{"name": "ok", ', "headers": {"Content-Type": "application/json"}}),
    ("a JSON array", {"json": [{"name": "ok"}]}),
    ("unsupported media type", {"content": b"name=ok", "headers": {"Content-Type": "text/csv"}}),
    ("NaN", {"content": b'{"name": "ok", "pinned": NaN}', "headers": {"Content-Type": "application/json"}}),
]


def test_refused_creates_and_patches_leave_no_row_and_no_change(fuzzed: Server, fuzz_db: Path) -> None:
    api = fuzzed.client()
    base = fuzzed.project_path
    target = api.post(f"{base}/dashboards/", json={"name": "atomicity target"}).json()
    before = _counts(fuzz_db)
    statuses = {}
    for label, kwargs in REFUSED_CREATES:
        statuses[f"POST {label}"] = api.post(f"{base}/dashboards/", **kwargs).status_code
        statuses[f"PATCH {label}"] = api.patch(f"{base}/dashboards/{target['id']}/", **kwargs).status_code
    # a create ignores `tiles` (§2.3); a PATCH applies them (§2.6): one bad tile must undo the good one
    half_good = {"name": "renamed", "tiles": [{"text": {"body": "fine"}}, {"text": 7}]}
    statuses["PATCH tiles with one bad tile"] = api.patch(
        f"{base}/dashboards/{target['id']}/", json=half_good
    ).status_code
    template = {"template": {"template_name": "ok", "tiles": [{"type": "TEXT", "body": "fine"}, {"type": "NOPE"}]}}
    statuses["template with a bad tile"] = api.post(
        f"{base}/dashboards/create_from_template_json/", json=template
    ).status_code
    statuses["sharing not a boolean"] = api.patch(
        f"{base}/dashboards/{target['id']}/sharing/", json={"enabled": "sometimes"}
    ).status_code
    statuses["collaborator with a bad level"] = api.post(
        f"{base}/dashboards/{target['id']}/collaborators/",
        json={"user_uuid": fuzzed.credentials["collaborator_uuid"], "level": 99},
    ).status_code
    refused_capture = {"api_key": fuzzed.credentials["project_api_key"],
                       "batch": [{"event": "fine", "distinct_id": "a"}, {"event": "", "distinct_id": "b"}]}
    statuses["capture batch with one bad event"] = api.post("/batch/", json=refused_capture).status_code
    wrong = {k: v for k, v in statuses.items() if not 400 <= v < 500}
    assert not wrong, f"these were not refused with a 4xx: {wrong}"
    assert _counts(fuzz_db) == before, "a refused request left rows behind"
    after = api.get(f"{base}/dashboards/{target['id']}/").json()
    unchanged = {k: (target[k], after[k]) for k in ("name", "pinned", "tags", "restriction_level", "filters")}
    assert all(a == b for a, b in unchanged.values()), f"a refused PATCH changed the dashboard: {unchanged}"
    assert json.dumps(after["tiles"]) == json.dumps(target["tiles"])
