"""What the run created on the host, tagged with the run id, and how it is cleaned up.

Every resource is registered the moment the host acknowledges it; cleanup undoes them in reverse
(collaborators removed, sharing disabled, dashboards soft-deleted) and is safe to call twice.
The run tag in a dashboard's name lets ``python -m posthog_contract cleanup`` find leftovers of
crashed runs without touching anything else.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from .client import ContractClient
from .paths import ApiPaths
from .policy import HostViolation, RateLimitExhausted

NAME_PREFIX = "posthog-contract"
RUN_TAG = re.compile(rf"^{NAME_PREFIX} (pcr[a-z0-9]{{10}}) ")


#: list pages the final sweep is expected to read (200 dashboards a page), kept back from the budget
_SWEEP_PAGES = 3


def dashboard_name(run_id: str, label: str) -> str:
    """Every dashboard the suite creates is named ``posthog-contract <run id> <label>``."""
    return f"{NAME_PREFIX} {run_id} {label}"


def run_id_of(name: Any) -> str | None:
    match = RUN_TAG.match(name) if isinstance(name, str) else None
    return match.group(1) if match else None


@dataclass
class RunResources:
    client: ContractClient
    paths: ApiPaths
    run_id: str
    dashboards: list[int] = field(default_factory=list)
    shared: list[int] = field(default_factory=list)
    collaborators: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    untracked: list[int] = field(default_factory=list)  # found by the final sweep: a tracking gap
    rate_limited: bool = False  # cleanup stopped: the host refused past the 429 wait budget
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cleaned: bool = False

    def name(self, label: str) -> str:
        return dashboard_name(self.run_id, label)

    def description(self) -> str:
        return f"Created by posthog-contract run {self.run_id} at {datetime.now(UTC).isoformat()}; safe to delete."

    def create_dashboard(
        self,
        label: str = "dashboard",
        *,
        client: ContractClient | None = None,
        paths: ApiPaths | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """POST a run-tagged dashboard (``fields`` add to or replace the name and description; None leaves
        one out) and register it for cleanup the moment the host answers with its id, before anyone
        judges the answer: a failing check leaves nothing behind. Judging the answer is the caller's."""
        body = {"name": self.name(label), "description": self.description(), **fields}
        body = {key: value for key, value in body.items() if value is not None}
        response = (client or self.client).post((paths or self.paths).dashboards(), json=body)
        try:
            created = response.json() if 200 <= response.status_code < 300 else None
        except ValueError:
            created = None
        if isinstance(created, dict) and type(created.get("id")) is int:
            self.track_dashboard(created["id"])
        return response

    def track_dashboard(self, dashboard_id: int) -> None:
        with self._lock:
            if dashboard_id not in self.dashboards:
                self.dashboards.append(dashboard_id)

    def track_sharing(self, dashboard_id: int) -> None:
        with self._lock:
            if dashboard_id not in self.shared:
                self.shared.append(dashboard_id)

    def track_collaborator(self, dashboard_id: int, user_uuid: str) -> None:
        with self._lock:
            self.collaborators.append((dashboard_id, user_uuid))

    def forget_collaborator(self, dashboard_id: int, user_uuid: str) -> None:
        with self._lock:
            if (dashboard_id, user_uuid) in self.collaborators:
                self.collaborators.remove((dashboard_id, user_uuid))

    def cleanup_cost(self) -> int:
        """Requests :meth:`cleanup` will send (the sweep's list walk counted as a few pages)."""
        if self._cleaned:
            return 0
        with self._lock:
            return len(self.collaborators) + len(self.shared) + len(self.dashboards) + _SWEEP_PAGES

    def cleanup(self, *, sweep: bool = False) -> list[str]:
        """Undo everything registered; returns problems (never raises: it runs during teardown).

        ``sweep=True`` then lists the dashboards and soft-deletes any still live under this run's
        tag: a create whose answer never got registered (a signal between the answer and
        ``track_dashboard``, a check that forgot to track) is undone too.
        """
        with self._lock:
            if self._cleaned:
                return self.problems
            self._cleaned = True
            steps: list[tuple[str, str, str, dict[str, Any] | None]] = []
            steps += [
                ("DELETE", self.paths.collaborator(d, u), "remove collaborator", None) for d, u in self.collaborators
            ]
            steps += [("PATCH", self.paths.sharing(d), "disable sharing", {"enabled": False}) for d in self.shared]
            steps += [
                ("PATCH", self.paths.dashboard(d), "soft-delete dashboard", {"deleted": True}) for d in self.dashboards
            ]
        for method, path, what, body in steps:
            try:
                response = (
                    self.client.request(method, path, json=body)
                    if body is not None
                    else self.client.request(method, path)
                )
            except RateLimitExhausted as exc:
                # every further request would be refused too: leave the rest to the cleanup command
                self.problems.append(f"{what} {path}: the host's rate limit is spent ({exc})")
                self.rate_limited = True
                break
            except HostViolation as exc:
                self.problems.append(f"{what} {path}: {exc}")
                continue
            except (httpx.HTTPError, Exception) as exc:  # noqa: BLE001 - cleanup must go on
                self.problems.append(f"{what} {path}: {type(exc).__name__}")
                continue
            # 404 means already gone (e.g. a test soft-deleted it); that is clean
            if response.status_code >= 400 and response.status_code != 404:
                self.problems.append(f"{what} {path}: HTTP {response.status_code}")
        if sweep and not self.rate_limited:
            self._sweep()
        return self.problems

    def _sweep(self) -> None:
        try:
            leftovers = find_leftovers(self.client, self.paths, run_id=self.run_id)
        except RateLimitExhausted as exc:
            self.problems.append(f"list the run's dashboards for a final sweep: the host's rate limit is spent ({exc})")
            self.rate_limited = True
            return
        except HostViolation as exc:  # e.g. a `next` link to another origin: refused, never sent
            self.problems.append(f"list the run's dashboards for a final sweep: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - cleanup must go on
            self.problems.append(f"list the run's dashboards for a final sweep: {type(exc).__name__}")
            return
        for item in leftovers:
            self.untracked.append(item["id"])
            path = self.paths.dashboard(item["id"])
            try:
                response = self.client.patch(path, json={"deleted": True})
            except RateLimitExhausted as exc:
                self.problems.append(f"soft-delete untracked dashboard {path}: the host's rate limit is spent ({exc})")
                self.rate_limited = True
                return
            except Exception as exc:  # noqa: BLE001 - cleanup must go on
                self.problems.append(f"soft-delete untracked dashboard {path}: {type(exc).__name__}")
                continue
            if response.status_code >= 400 and response.status_code != 404:
                self.problems.append(f"soft-delete untracked dashboard {path}: HTTP {response.status_code}")


def find_leftovers(
    client: ContractClient, paths: ApiPaths, *, run_id: str | None = None, older_than_seconds: float | None = None
) -> list[dict[str, Any]]:
    """Live dashboards named by a posthog-contract run (optionally one run, or older than a threshold).

    It follows the list's ``next`` links as the host gives them; the client sends nothing to another
    origin (a foreign ``next`` is a HostViolation, the key never leaves), and a link the walk already
    followed ends it.
    """
    found, url, params = [], paths.dashboards(), {"limit": 200}
    now = datetime.now(UTC)
    followed: set[str] = set()
    for _ in range(500):
        response = client.get(url, params=params)
        response.raise_for_status()
        body = response.json()
        for item in body.get("results", []):
            tag = run_id_of(item.get("name"))
            if tag is None or (run_id and tag != run_id):
                continue
            if older_than_seconds is not None:
                created = datetime.fromisoformat(str(item.get("created_at")).replace("Z", "+00:00"))
                if (now - created).total_seconds() < older_than_seconds:
                    continue
            found.append(item)
        if not body.get("next") or body["next"] in followed:
            break
        url, params = body["next"], None
        followed.add(url)
    return found
