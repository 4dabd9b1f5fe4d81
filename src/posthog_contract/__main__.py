"""``posthog-contract`` (also ``python -m posthog_contract``): the suite and the commands around it.

Each command lives in its own module exposing ``register(subparsers)``; its handler returns the
exit code. ``run`` and ``reference`` pass every further argument through untouched (to pytest and to
the reference server), so they are dispatched before argparse reads the command line.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib import metadata

#: modules that add a subcommand (cleanup of crashed runs; report diff, drift, the CI job summary, the fan-in matrix)
COMMAND_MODULES = (
    "posthog_contract.cleanup",
    "posthog_contract.report.diff",
    "posthog_contract.report.drift",
    "posthog_contract.report.summary",
    "posthog_contract.report.matrix",
)


def _run(argv: list[str]) -> int:
    from . import run

    return run.main(argv)


def _reference(argv: list[str]) -> int:
    from .reference.__main__ import main as serve

    return serve(argv)


#: commands whose arguments belong to another program
PASS_THROUGH = {"run": _run, "reference": _reference}


def version() -> str:
    try:
        return metadata.version("posthog-contract")
    except metadata.PackageNotFoundError:  # a checkout on sys.path without an install
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="posthog-contract", description="The PostHog API contract suite and the commands around it."
    )
    top.add_argument("--version", action="version", version=f"posthog-contract {version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the contract suite; every further argument goes to pytest", add_help=False)
    commands.add_parser(
        "reference", help="start the reference server (its --help lists the options)", add_help=False
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in PASS_THROUGH:
            return PASS_THROUGH[argv[0]](argv[1:])
        args = parser().parse_args(argv)
        status = int(args.handler(args))
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # the reader went away (`… | head`): no traceback; stdout goes to devnull so the interpreter's
        # final flush cannot raise again (Python's docs, signal module, "Note on SIGPIPE")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
