"""``python -m posthog_contract cleanup``: soft-delete dashboards left behind by crashed runs.

It finds them by the run tag in their name only (see resources.py), so it touches nothing else. It
talks through the suite's client, so the host's answers are held to the same rules as a run's: a
``next`` link to another origin is refused (the key never leaves the configured host) and reported
as a host violation (exit 1); a rate limit past POSTHOG_MAX_RETRY_WAIT ends it (exit 3, run it again
once the limit resets).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from . import config
from .client import ContractClient
from .outcomes import EXIT_TOOL_ERROR, EXIT_VIOLATIONS
from .paths import ApiPaths
from .policy import HostViolation, RateLimitExhausted
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
        session.connect(check_host=False)
        try:
            return _soft_delete_leftovers(session.client, session.paths, args)
        except HostViolation as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_VIOLATIONS
        except RateLimitExhausted as exc:
            print(
                f"error: the host's rate limit for this key is spent ({exc}): run the same command again once it"
                " resets",
                file=sys.stderr,
            )
            return EXIT_TOOL_ERROR
    finally:
        session.close()


def _soft_delete_leftovers(client: ContractClient, paths: ApiPaths, args: argparse.Namespace) -> int:
    leftovers = find_leftovers(client, paths, run_id=args.run_id, older_than_seconds=args.older_than)
    failed = 0
    for item in leftovers:
        name = client.redactor.text(str(item["name"]))  # the host's text: it could echo a key
        if args.dry_run:
            print(f"would soft-delete dashboard {item['id']}: {name}")
            continue
        response = client.patch(paths.dashboard(item["id"]), json={"deleted": True})
        ok = response.status_code == 200
        failed += not ok
        verdict = "soft-deleted" if ok else f"FAILED (HTTP {response.status_code})"
        print(f"{verdict} dashboard {item['id']}: {name}")
    print(f"{len(leftovers)} leftover dashboard(s) found, {failed} failed")
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
