"""Fixtures of the safety self-tests; the helpers they use live in safety_support.py and hostile.py.

Each test gets its own reference server(s) on a fresh SQLite file and stops them afterwards;
suites started in the background are killed if a test leaves them running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hostile import Answer, Seen, StandIn
from safety_support import ROOT, RunningSuite, Server, spawn_suite_process, start_server


@pytest.fixture
def servers() -> Iterator[Callable[..., Server]]:
    """``servers("--mutant", "x")`` starts a fresh server; all are stopped after the test."""
    started: list[Server] = []

    def start(*args: str, throttle: bool = False) -> Server:
        server = start_server(*args, throttle=throttle)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(servers: Callable[..., Server]) -> Server:
    """A fresh healthy server (no throttling) for this test alone."""
    return servers()


@pytest.fixture
def spawn_suite() -> Iterator[Callable[..., RunningSuite]]:
    """``spawn_suite(*args, env=...)`` starts the suite in the background; killed after the test if still running."""
    running: list[RunningSuite] = []

    def spawn(*args: str, env: dict[str, str], cwd: Path = ROOT) -> RunningSuite:
        suite = spawn_suite_process(*args, env=env, cwd=cwd)
        running.append(suite)
        return suite

    yield spawn
    for suite in running:
        suite.kill()


@pytest.fixture
def listener() -> Iterator[StandIn]:
    """The foreign origin of the hostile-host tests: anything arriving here is a leak."""
    with StandIn() as foreign:
        yield foreign


@pytest.fixture
def stand_in() -> Iterator[Callable[[Callable[[Seen], Answer]], StandIn]]:
    """``stand_in(respond)`` starts a hostile stand-in answering with ``respond``; all stop after the test."""
    started: list[StandIn] = []

    def start(respond: Callable[[Seen], Answer]) -> StandIn:
        server = StandIn(respond)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
