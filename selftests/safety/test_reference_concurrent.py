"""Eight concurrent clients for a few seconds: PATCHes on their own dashboards and on one shared
dashboard, and captures (some batches sent twice). Every acknowledged write is there afterwards,
none lost, none doubled, and nothing answered 5xx.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

DURATION_S = 3.0
OWN_WRITERS = 4
SHARED_WRITERS = 2
CAPTURERS = 2
BATCH = 20


@dataclass
class Log:
    acked: list[str] = field(default_factory=list)  # values (or event uuids) the server acknowledged
    last: str | None = None
    bad: list[str] = field(default_factory=list)  # 5xx, wrong echoes, transport errors


def _patcher(server: Any, dashboard: int, writer: str, log: Log, stop: float) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {server.credentials['personal_api_key']}"}) as api:
        n = 0
        while time.monotonic() < stop:
            value = f"{writer}-{n}"
            n += 1
            try:
                response = api.patch(f"{server.project_path}/dashboards/{dashboard}/", json={"description": value})
            except httpx.HTTPError as exc:
                log.bad.append(f"{value}: {type(exc).__name__}")
                continue
            if response.status_code != 200:
                log.bad.append(f"{value}: {response.status_code} {response.text[:200]}")
            elif response.json()["description"] != value:
                log.bad.append(f"{value}: answered description {response.json()['description']!r}")
            else:
                log.acked.append(value)
                log.last = value


def _capturer(server: Any, name: str, log: Log, stop: float) -> None:
    now = datetime.now(UTC)
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        n = 0
        while time.monotonic() < stop:
            uuids = [str(uuid.uuid4()) for _ in range(BATCH)]
            body = {
                "api_key": server.credentials["project_api_key"],
                "batch": [
                    {"event": name, "distinct_id": f"{name}-{n % 3}", "uuid": u,
                     "timestamp": (now - timedelta(milliseconds=n * BATCH + i)).isoformat(),
                     "properties": {"n": n, "i": i}}
                    for i, u in enumerate(uuids)
                ],
            }
            for attempt in range(2 if n % 5 == 0 else 1):  # every fifth batch is sent twice: no doubles
                try:
                    response = api.post("/batch/", json=body)
                except httpx.HTTPError as exc:
                    log.bad.append(f"batch {n}/{attempt}: {type(exc).__name__}")
                    continue
                if response.status_code != 200:
                    log.bad.append(f"batch {n}/{attempt}: {response.status_code} {response.text[:200]}")
                elif attempt == 0:
                    log.acked.extend(uuids)
            n += 1


def _listed(api: httpx.Client, path: str, name: str, since: datetime) -> list[str]:
    ids: list[str] = []
    url: str | None = f"{path}/events/"
    params: dict[str, Any] | None = {"event": name, "after": since.isoformat(), "limit": 1000}
    while url:
        page = api.get(url, params=params)
        assert page.status_code == 200, page.text
        ids += [e["id"] for e in page.json()["results"]]
        url, params = page.json()["next"], None
    return ids


def test_concurrent_writes_are_all_kept_exactly_once(server):
    api = server.client()
    base = server.project_path
    own = [api.post(f"{base}/dashboards/", json={"name": f"own {i}"}).json()["id"] for i in range(OWN_WRITERS)]
    shared = api.post(f"{base}/dashboards/", json={"name": "shared"}).json()["id"]
    name = f"concurrent_{uuid.uuid4().hex[:8]}"
    since = datetime.now(UTC) - timedelta(hours=1)

    stop = time.monotonic() + DURATION_S
    logs: dict[str, Log] = {}
    threads = []
    for i, dashboard in enumerate(own):
        logs[f"own{i}"] = Log()
        threads.append(threading.Thread(target=_patcher, args=(server, dashboard, f"own{i}", logs[f"own{i}"], stop)))
    for i in range(SHARED_WRITERS):
        logs[f"shared{i}"] = Log()
        threads.append(threading.Thread(target=_patcher, args=(server, shared, f"shared{i}", logs[f"shared{i}"], stop)))
    for i in range(CAPTURERS):
        logs[f"capture{i}"] = Log()
        threads.append(threading.Thread(target=_capturer, args=(server, name, logs[f"capture{i}"], stop)))
    assert len(threads) == 8
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION_S + 60)

    problems = [f"{who}: {bad}" for who, log in logs.items() for bad in log.bad]
    assert not problems, "\n".join(problems[:20])
    assert all(log.acked for log in logs.values()), {who: len(log.acked) for who, log in logs.items()}

    for i, dashboard in enumerate(own):
        stored = api.get(f"{base}/dashboards/{dashboard}/").json()["description"]
        assert stored == logs[f"own{i}"].last, f"own{i}: stored {stored!r}, last acknowledged {logs[f'own{i}'].last!r}"
    stored = api.get(f"{base}/dashboards/{shared}/").json()["description"]
    last_values = {logs[f"shared{i}"].last for i in range(SHARED_WRITERS)}
    assert stored in last_values, f"shared dashboard holds {stored!r}, not a writer's last acknowledged {last_values}"

    acked = [u for i in range(CAPTURERS) for u in logs[f"capture{i}"].acked]
    listed = Counter(_listed(api, base, name, since))
    doubled = {u: c for u, c in listed.items() if c > 1}
    missing = set(acked) - set(listed)
    unexpected = set(listed) - set(acked)
    assert not doubled, f"{len(doubled)} events listed more than once"
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events are missing"
    assert not unexpected, f"{len(unexpected)} events were stored without being acknowledged"
    assert "unhandled error" not in server.stderr_text()
