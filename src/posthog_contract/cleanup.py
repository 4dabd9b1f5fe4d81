"""``python -m posthog_contract cleanup``: soft-delete dashboards left behind by crashed runs.

It finds them by the run tag in their name only (see resources.py), so it touches nothing else.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from . import config
from .resources import find_leftovers
from .session import ContractSession

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30m, 12h or 1d")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def run(args: argparse.Namespace) -> int:
    """Soft-delete live dashboards that earlier runs left behind, found by their run tag only."""
    if args.run_id is None and args.older_than is None:
        print(
            "error: give --run-id ID or --older-than DURATION (e.g. 1d) so only leftovers are touched", file=sys.stderr
        )
        return 2
    try:
        settings = config.settings_from(
            {"posthog_base_url": args.host, "posthog_project_id": args.project_id}.get, os.environ
        )
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if settings.base_url is None or settings.project_id is None:
        print("error: give --host (or POSTHOG_HOST) and --project-id (or POSTHOG_PROJECT_ID)", file=sys.stderr)
        return 2
    session = ContractSession()  # a session against the host, as the suite opens one; it creates nothing
    session.start(settings, metered=False)
    try:
        client, paths = session.connect(check_host=False).client, session.paths
        leftovers = find_leftovers(client, paths, run_id=args.run_id, older_than_seconds=args.older_than)
        failed = 0
        for item in leftovers:
            if args.dry_run:
                print(f"would soft-delete dashboard {item['id']}: {item['name']}")
                continue
            response = client.patch(paths.dashboard(item["id"]), json={"deleted": True})
            ok = response.status_code == 200
            failed += not ok
            verdict = "soft-deleted" if ok else f"FAILED (HTTP {response.status_code})"
            print(f"{verdict} dashboard {item['id']}: {item['name']}")
        print(f"{len(leftovers)} leftover dashboard(s) found, {failed} failed")
    finally:
        session.close()
    return 1 if failed else 0


def register(commands: Any) -> None:
    """Add the ``cleanup`` subcommand to ``python -m posthog_contract``."""
    clean = commands.add_parser("cleanup", help="soft-delete dashboards left by crashed runs (by run tag only)")
    clean.add_argument(
        "--host", help="PostHog host (default POSTHOG_HOST); the key comes from POSTHOG_PERSONAL_API_KEY"
    )
    clean.add_argument("--project-id", help="project id (default POSTHOG_PROJECT_ID)")
    clean.add_argument("--run-id", help="only this run's leftovers (pcr…)")
    clean.add_argument("--older-than", type=_duration, help="only runs' leftovers older than this (30m, 12h, 1d)")
    clean.add_argument("--dry-run", action="store_true", help="list, change nothing")
    clean.set_defaults(handler=run)
