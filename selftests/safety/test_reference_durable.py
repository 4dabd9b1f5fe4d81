"""``--db PATH`` is durable: what the server acknowledged survives a restart (SIGTERM) and a crash
(SIGKILL straight after the 2xx): dashboards, tiles, soft deletes, sharing, collaborators, events.
"""

from __future__ import annotations

import os
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from safety_support import Server


def write_everything(server: Server) -> dict[str, Any]:
    """One of each kind of write; returns what a later read must show."""
    api = server.client()
    base = server.project_path
    created = api.post(f"{base}/dashboards/", json={"name": "durable", "tags": ["kept"], "pinned": True})
    assert created.status_code == 201, created.text
    dashboard = created.json()["id"]
    patched = api.patch(
        f"{base}/dashboards/{dashboard}/",
        json={"description": "patched", "restriction_level": 37, "tiles": [{"text": {"body": "durable tile"}}]},
    )
    assert patched.status_code == 200, patched.text
    shared = api.patch(f"{base}/dashboards/{dashboard}/sharing/", json={"enabled": True})
    assert shared.status_code == 200, shared.text
    member = server.credentials["collaborator_uuid"]
    added = api.post(f"{base}/dashboards/{dashboard}/collaborators/", json={"user_uuid": member, "level": 37})
    assert added.status_code == 201, added.text
    gone = api.post(f"{base}/dashboards/", json={"name": "soft-deleted"}).json()["id"]
    assert api.patch(f"{base}/dashboards/{gone}/", json={"deleted": True}).status_code == 200
    now = datetime.now(UTC)
    uuids = [str(uuid.uuid4()) for _ in range(5)]
    batch = {
        "api_key": server.credentials["project_api_key"],
        "batch": [
            {"event": "durable", "distinct_id": "durable-user", "uuid": u,
             "timestamp": (now - timedelta(seconds=i)).isoformat()}
            for i, u in enumerate(uuids)
        ],
    }
    captured = api.post("/batch/", json=batch)
    assert captured.status_code == 200, captured.text
    return {
        "dashboard": dashboard,
        "soft_deleted": gone,
        "token": shared.json()["access_token"],
        "member": member,
        "events": set(uuids),
        "since": (now - timedelta(minutes=5)).isoformat(),
    }


def read_back(server: Server, written: dict[str, Any]) -> None:
    api = server.client()
    base = server.project_path
    detail = api.get(f"{base}/dashboards/{written['dashboard']}/")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["name"], body["description"], body["pinned"], body["tags"], body["restriction_level"]) == (
        "durable", "patched", True, ["kept"], 37,
    )
    assert [(t.get("text") or {}).get("body") for t in body["tiles"]] == ["durable tile"]
    sharing = api.get(f"{base}/dashboards/{written['dashboard']}/sharing/").json()
    assert sharing["enabled"] is True and sharing["access_token"] == written["token"]
    collaborators = api.get(f"{base}/dashboards/{written['dashboard']}/collaborators/").json()
    assert [c["user"]["uuid"] for c in collaborators] == [written["member"]]
    assert api.get(f"{base}/dashboards/{written['soft_deleted']}/").status_code == 404
    events = api.get(f"{base}/events/", params={"event": "durable", "after": written["since"], "limit": 100}).json()
    assert {e["id"] for e in events["results"]} == written["events"]


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_acknowledged_writes_survive_a_restart(servers, tmp_path: Path, stop: str):
    db = tmp_path / "durable.sqlite3"
    first = servers("--db", str(db))
    written = write_everything(first)
    first.close_clients()
    first.signal(getattr(signal, stop))  # SIGKILL: straight after the last 2xx, no shutdown path at all
    code = first.wait(timeout=15)
    # uvicorn ends a graceful shutdown by re-raising the signal, so both end "killed by" it
    assert code == -getattr(signal, stop), f"exit code {code}: {first.stderr_text()[-2000:]}"
    second = servers("--db", str(db))
    assert second.credentials["personal_api_key"] == first.credentials["personal_api_key"]
    read_back(second, written)
    # and a second generation of writes lands on top of the first, ids never reused
    newer = second.client().post(f"{second.project_path}/dashboards/", json={"name": "after restart"}).json()
    assert newer["id"] > written["soft_deleted"]


def _database_files(pid: int) -> list[Path]:
    fds = Path(f"/proc/{pid}/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(Path(os.readlink(fd)))
        except OSError:
            continue
    return [t for t in targets if t.name.startswith("reference.sqlite3")]


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT", "stdin closed"])
def test_a_stopped_server_leaves_no_temporary_database_behind(servers, stop: str):
    server = servers()
    assert server.client().get(f"{server.project_path}/dashboards/").status_code == 200
    files = _database_files(server.pid)
    assert files, "the server should hold its temporary SQLite file open"
    folder = files[0].parent
    assert folder.name.startswith("posthog-reference-") and folder.exists()
    if stop == "stdin closed":
        server.process.stdin.close()  # type: ignore[union-attr]
    else:
        server.signal(getattr(signal, stop))
    server.wait(timeout=15)
    assert "Traceback" not in server.stderr_text() or stop == "SIGINT", server.stderr_text()[-2000:]
    assert not folder.exists(), f"{stop}: the temporary database folder {folder} was left behind"
