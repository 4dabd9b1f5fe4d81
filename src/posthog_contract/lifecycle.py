"""Opening and closing the run under pytest: the pytest side of `session.ContractSession`.

The plugin's hooks and the ``contract`` fixture call these, so the run is opened in one place: the
settings read from pytest's options and the environment, the session started (the embedded
reference server, when no host is given) and connected (preflight), the one terminal line naming
the host, the drift compared up front when the report or ``--drift-fail`` needs it. Closing undoes
what the run created with signals held off: a second Ctrl-C / SIGTERM abandons the cleanup at once,
a first one after a short grace period (a cleanup waiting on a throttled or silent host never holds
the process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest

from . import config as settings_module
from . import locations, marks
from .outcomes import EXIT_MISCONFIGURED, OutcomeLog
from .session import ContractSession

__all__ = [
    "SESSION",
    "Misconfigured",
    "check_settings",
    "chosen_operations",
    "close_run",
    "open_run",
    "print_settings",
    "refuse_parallel",
    "session_of",
    "signals_deferred",
]

#: the run's session on ``config.stash`` (made at configure, opened once contract tests are collected)
SESSION = pytest.StashKey[ContractSession]()


class Misconfigured(Exception):
    """The run cannot start; the message is one sentence naming what to fix."""


def session_of(config: pytest.Config) -> ContractSession:
    """The run's session (the plugin made it at configure)."""
    return config.stash[SESSION]


def _option(config: pytest.Config) -> Any:
    return lambda name: config.getoption(name, default=None)


def check_settings(config: pytest.Config) -> None:
    """Every misconfiguration ends a run of the suite early, whatever the selection leaves to run."""
    try:
        settings_module.settings_from(_option(config), os.environ)
    except settings_module.ConfigError as exc:
        raise Misconfigured(str(exc)) from None


def refuse_parallel(config: pytest.Config) -> None:
    """Issue 24: a run of the suite is one process. pytest-xdist (``-n``) is refused before any request,
    because what bounds a run is the key's rate limit on the host, not the runner's CPU: workers would
    finish no sooner, and they would share the host's lists (a walk would count another worker's
    dashboards), its request budget and its pacing. Several hosts are audited at once by one job per
    host (a CI matrix), each a whole run of its own."""
    workers = hasattr(config, "workerinput") or config.getoption("dist", default="no") not in ("no", None)
    if not workers or not locations.selects_suite(config.args, config.invocation_params.dir):
        return
    how = config.getoption("numprocesses", default=None)
    raise Misconfigured(
        f"parallel runs are refused ({f'-n {how}' if how else 'pytest-xdist'}): a key's rate limit bounds a run, "
        "not CPU, and workers would share the host's lists and the request budget, so drop -n and audit several "
        "hosts at once with one job per host (a CI matrix: README, Parallel runs)."
    )


def chosen_operations(config: pytest.Config) -> set[str] | None:
    """The catalogue ids ``--contract-operation`` names (ids or ``METHOD /path`` labels, twins included);
    None when it names none. Unknown names are left to the settings, which end the run on them."""
    value = settings_module.raw_value("operation", _option(config), os.environ)
    wanted = {part.strip() for part in str(value or "").split(",") if part.strip()}
    if not wanted:
        return None
    from . import contract
    from .property_based.cases import ENV_SUFFIX

    return {operation_id.removesuffix(ENV_SUFFIX) for operation_id in contract.operation_ids(wanted)}


def print_settings(config: pytest.Config) -> int:
    """``--contract-env``: each setting with its value and source; a misconfiguration as its one sentence (exit 4)."""
    try:
        for line in settings_module.describe(_option(config), os.environ):
            print(line)
        settings_module.settings_from(_option(config), os.environ)
    except settings_module.ConfigError as exc:
        print(f"ERROR: posthog-contract: {exc}")
        return EXIT_MISCONFIGURED
    return 0


def open_run(config: pytest.Config, items: list[pytest.Item] | None = None) -> ContractSession:
    """Settings, embedded server and preflight, once; Misconfigured with one sentence when the run cannot start."""
    session = session_of(config)
    if session.connected or session.closed:
        return session
    option = _option(config)
    try:
        settings = settings_module.settings_from(option, os.environ)
        settings = session.start(
            settings,
            reference_args=settings_module.reference_args(option, os.environ),
            events_timeout_given=settings_module.raw_value("events_timeout", option, os.environ) is not None,
        )
        session.connect(needs_events=marks.judges_events(items or []))
    except settings_module.ConfigError as exc:
        raise Misconfigured(str(exc)) from None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        where = "the embedded reference server" if session.embedded else "an external host"
        reporter.write_line(
            f"posthog-contract: testing {session.redactor.url(settings.base_url)} ({where}), project "
            f"{session.facts.project_id}, run id {settings.run_id}, seed {settings.seed}"
        )
    if session.verdicts is not None:
        session.verdicts.contract_run = True
    wants_drift = session.verdicts is not None and session.verdicts.drift_fail
    if config.getoption("contract_report", default=None) or wants_drift:
        from .report import drift  # the report's comparison, loaded when the report or --drift-fail needs it

        drift.of_run(session)  # the report shows drift even when no test judges it
    return session


def close_run(config: pytest.Config) -> None:
    """Undo what the run created and stop the server (safe to call twice, and after Ctrl-C)."""
    session = config.stash.get(SESSION, None)
    if session is not None and session.started:
        say = _sayer(config, session)
        session.close(deferring=lambda run_id: signals_deferred(run_id, say=say, log=session.log))


def _sayer(config: pytest.Config, session: ContractSession) -> Callable[[str], None]:
    """Write to the terminal now, past pytest's output capture (cleanup may run in a test's teardown);
    outside a contract run (a self-test calling the cleanup helpers) the capture keeps it."""

    def say(text: str) -> None:
        capture = config.pluginmanager.get_plugin("capturemanager") if session.connected else None
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            _stderr(text)

    return say


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


#: seconds cleanup goes on after a first Ctrl-C / SIGTERM before it is abandoned (a second: at once)
CLEANUP_GRACE_S: Final = 3.0


@contextlib.contextmanager
def signals_deferred(
    run_id: str,
    grace: float = CLEANUP_GRACE_S,
    *,
    say: Callable[[str], None] = _stderr,
    log: OutcomeLog | None = None,
) -> Iterator[None]:
    """During cleanup a second Ctrl-C / SIGTERM abandons it at once; a first one lets it go on for
    ``grace`` seconds, then abandons it (issue 20): a cleanup waiting on a throttled or silent host
    never holds the process. The delayed abandon is a signal sent to the main thread itself, so it
    also ends a blocking wait (a 429 pause, a socket read). ``say`` tells the terminal, ``log`` the run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    armed = [True]
    main = threading.main_thread().ident
    command = f"python -m posthog_contract cleanup --run-id {run_id}"

    def abandon_later(signum: int) -> None:
        if armed[0] and main is not None:
            signal.pthread_kill(main, signum)

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        if len(received) > 1:
            if log is not None:
                log.warn(f"cleanup abandoned after a signal; finish it with: {command}")
            say(f"\nposthog-contract: cleanup abandoned; finish it with: {command}\n")
            raise KeyboardInterrupt(f"signal {signum} during cleanup")
        say(
            f"\nposthog-contract: cleaning up the run's resources for at most {grace:g} s more; send the signal "
            f"again to abandon now (then: {command})\n"
        )
        timer = threading.Timer(grace, abandon_later, (signum,))
        timer.daemon = True
        timer.start()

    names = [name for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)]
    previous = {name: signal.signal(getattr(signal, name), handler) for name in names}
    try:
        yield
    finally:
        armed[0] = False  # a grace timer still running must not interrupt whatever comes next
        for name, old in previous.items():
            signal.signal(getattr(signal, name), old)


def raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM takes the same path as Ctrl-C: pytest finishes the session, fixtures clean up."""
    raise KeyboardInterrupt(f"signal {signum}")
