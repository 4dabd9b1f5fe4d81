"""``python -m posthog_contract``: commands around the suite.

Each command lives in its own module exposing ``register(subparsers)``; its handler returns the
exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: modules that add a subcommand (cleanup of crashed runs; report diff, drift and the CI job summary)
COMMAND_MODULES = (
    "posthog_contract.cleanup",
    "posthog_contract.report.diff",
    "posthog_contract.report.drift",
    "posthog_contract.report.summary",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m posthog_contract", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
