"""``python -m posthog_contract.reference``: serve the reference PostHog API until stopped."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import datetime

from . import handover, mutants
from .options import ENVIRONMENTS_MODES, FEATURES, MALFORMED_INPUT, RELEASES, SUNSET_DATE, Rate, ServerOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="posthog-contract reference", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free port)")
    parser.add_argument("--db", help="SQLite file kept across restarts (default: a fresh temporary file)")
    parser.add_argument("--credentials", help="also write the credentials JSON line to this file")
    parser.add_argument("--rate-limit", type=Rate.parse, help="answer 429 past N/s, N/min or N/hour per key")
    parser.add_argument(
        "--events-rate-limit", type=Rate.parse,
        help="the events list and retrieve's own limit (default: --rate-limit if given, else PostHog's"
        " 240/min and 1200/h)",
    )
    parser.add_argument(
        "--throttle-every", type=int, default=0, metavar="N",
        help="answer every Nth request (any request, like a WAF in front of PostHog) 429 with Retry-After",
    )
    parser.add_argument(
        "--throttle-retry-after", type=int, default=1, metavar="SECONDS", help="Retry-After of --throttle-every"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every response (false-alarm guards)")
    parser.add_argument("--ingestion-delay", type=float, default=0.0, help="seconds before captured events list")
    parser.add_argument("--mutant", action="append", default=[], help="break one contract rule (repeatable)")
    parser.add_argument("--list-mutants", action="store_true", help="print every mutant and the rule it breaks")
    parser.add_argument("--request-log", help="append 'METHOD path status duration_ms' for every request to this file")
    parser.add_argument(
        "--without-feature",
        action="append",
        default=[],
        choices=FEATURES,
        help="an organisation without this paid feature (tagging, access-control), or no progressive"
        " event windows (event-windows); repeatable",
    )
    parser.add_argument("--release", choices=RELEASES, help="serve the response shapes of this older PostHog release")
    parser.add_argument(
        "--move-tile-key",
        choices=("both", "to_dashboard", "toDashboard"),
        default="both",
        help="the destination key move_tile reads: both (default), to_dashboard (newest PostHog) or toDashboard",
    )
    parser.add_argument(
        "--malformed-input",
        choices=MALFORMED_INPUT,
        default="400",
        help="the events list's answer to values PostHog cannot read (non-integer limit or action_id, property"
        " filters its pydantic model refuses, overflowing dates): 400 (default, the contract's 400s), 500"
        " (current PostHog's own 500s) or drop (the 2022-2025 builds: bad filters dropped, 200)",
    )
    parser.add_argument(
        "--environments", choices=ENVIRONMENTS_MODES,
        help="how /api/environments/ is served (§1.9): rewrite (today's PostHog: served through /api/projects/ with"
        " Deprecation, Link and Sunset), redirect (307 to /api/projects/), headers (served on the legacy route with"
        " the headers), direct (before the deprecation); default: rewrite, direct under --release",
    )
    parser.add_argument(
        "--sunset-date", type=_sunset_date, default=SUNSET_DATE, metavar="DATE",
        help=f"the deprecation's Sunset (PostHog's API_ENVIRONMENTS_SUNSET_DATE, default {SUNSET_DATE}; '' omits it)",
    )
    parser.add_argument(
        "--clock-offset", type=float, default=0.0, metavar="SECONDS",
        help="run the server's clock this many seconds ahead of the machine's (negative: behind)",
    )
    parser.add_argument("--list-pending-mutants", action="store_true", help="print the mutants no check kills yet")
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when standard input closes")
    parser.add_argument(
        "--print-env", action="store_true",
        help="start in the background and print shell export lines (POSTHOG_HOST, the keys, ...,"
        ' POSTHOG_REFERENCE_PID): eval "$(posthog-contract reference --print-env)" points the suite at it',
    )
    parser.add_argument("--env-file", metavar="PATH", help="write the suite's settings for this server (dotenv)")
    return parser.parse_args(argv)


def _sunset_date(text: str) -> str:
    """An ISO date or date-time (what PostHog's setting holds), or '' for no Sunset header."""
    if text.strip().lower() in ("", "none"):
        return ""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date such as 2026-07-31") from None
    return text


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.list_pending_mutants:
        from . import app  # noqa: F401  (declares every mutant)

        for name, (rule, why) in mutants.pending().items():
            print(f"{name}\t{rule}\tpending: {why}")
        return 0
    if args.list_mutants:
        from . import app  # noqa: F401  (declares every mutant)

        try:
            for name, rule in mutants.catalogue().items():
                print(f"{name}\t{rule}\t{','.join(mutants.killers(name))}")
            sys.stdout.flush()
        except BrokenPipeError:  # `--list-mutants | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    if args.print_env:
        served = handover.without_options(argv, flags=("--print-env",), valued=("--env-file", "--credentials"))
        return handover.detach(served, credentials_path=args.credentials, env_file=args.env_file)
    extra = {
        "latency_ms": args.latency_ms,
        "ingestion_delay_s": args.ingestion_delay,
        "mutants": tuple(args.mutant),
        "request_log": args.request_log,
        "features_off": frozenset(args.without_feature),
        "release": args.release,
        "move_tile_key": args.move_tile_key,
        "malformed_input": args.malformed_input,
        "throttle_every": max(0, args.throttle_every),
        "throttle_retry_after": max(0, args.throttle_retry_after),
        "environments": args.environments,
        "sunset_date": args.sunset_date,
        "clock_offset_s": args.clock_offset,
    }
    options = ServerOptions.with_rate(args.rate_limit, **extra) if args.rate_limit else ServerOptions(**extra)
    if args.events_rate_limit:
        options = dataclasses.replace(options, events_rate_limits=(args.events_rate_limit,))
    from . import app as _app  # noqa: F401
    from .server import serve

    try:
        mutants.activate(list(options.mutants))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(
        host=args.host,
        port=args.port,
        db_path=args.db,
        credentials_path=args.credentials,
        options=options,
        exit_with_stdin=args.exit_with_stdin,
        on_ready=None if not args.env_file else lambda creds: handover.write_env_file(
            args.env_file, handover.variables(dataclasses.asdict(creds))
        ),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
