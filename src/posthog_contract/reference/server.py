"""Start the reference server on a pre-bound loopback socket and announce its credentials."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

import uvicorn

from . import environments, mutants, timeutil, world
from .app import create_app
from .options import ServerOptions
from .storage import Database

#: seconds an idle keep-alive connection stays open (uvicorn's default, 5 s, races a client's reuse)
KEEP_ALIVE_S = 600


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so port 0 gives a free port we can announce.

    IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted connections of sockets created
    with it, and without TCP_NODELAY each small exchange on loopback stalls ~40 ms (notes/performance.md).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class AnnouncingServer(uvicorn.Server):
    """Calls ``on_ready`` once uvicorn accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self.held_signals: list[int] = []

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Hold back the SIGTERM/SIGINT uvicorn re-raises once it has shut down gracefully.

        uvicorn re-raises the signal as soon as it stops serving, which killed the process before
        ``serve()`` closed the database and removed its temporary directory (one leaked
        ``posthog-reference-*`` folder per SIGTERM); ``serve()`` re-raises it after that cleanup.
        """
        with super().capture_signals():
            yield
            captured = getattr(self, "_captured_signals", [])
            self.held_signals = list(captured)
            captured.clear()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            self._on_ready()


def _exit_when_stdin_closes(server: uvicorn.Server) -> None:
    """The suite holds our stdin open; when it dies, so do we (servers must stop by themselves)."""

    def watch() -> None:
        try:
            while sys.stdin.buffer.read(1024):
                pass
        except (OSError, ValueError):
            pass
        server.should_exit = True

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db_path: str | None = None,
    credentials_path: str | None = None,
    options: ServerOptions | None = None,
    exit_with_stdin: bool = False,
    on_ready: Callable[[world.Credentials], None] | None = None,
) -> None:
    options = options or ServerOptions()
    temp_dir = None
    if db_path is None:
        temp_dir = tempfile.TemporaryDirectory(prefix="posthog-reference-")
        db_path = os.path.join(temp_dir.name, "reference.sqlite3")
    db = Database(db_path)
    timeutil.set_clock_offset(options.clock_offset_s)  # the seeded world's stamps too
    world.seed(db)
    world.apply_plan(db, options.features_off)
    app = create_app(db, options)  # imports every resource module, so every mutant is declared
    mutants.activate(list(options.mutants))
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    creds = world.credentials(f"http://{host}:{bound_port}")
    app.state.site_url = creds.base_url
    sockets = [sock]
    if mutants.active(environments.REDIRECT_OTHER_ORIGIN):
        # another origin serving the same data: a client that follows the 307 there (and sends its key)
        # gets good answers, so only a suite that refuses to follow it kills the mutant
        other = bind_socket(host, 0)
        sockets.append(other)
        app.state.other_origin = f"http://{host}:{other.getsockname()[1]}"

    def announce() -> None:
        line = creds.to_json()
        if credentials_path:
            with open(credentials_path, "w") as handle:
                handle.write(line + "\n")
        if on_ready is not None:  # e.g. __main__'s --env-file
            on_ready(creds)
        print(line, flush=True)

    # uvicorn closes a connection idle for 5 s by default; a client reusing it at that moment gets
    # "Server disconnected without sending a response" (seed 87 of the issue-22 sweep: the suite's
    # client sat idle through the property-based part). An idle connection stays open for a run's length.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                            timeout_keep_alive=KEEP_ALIVE_S)  # fmt: skip
    server = AnnouncingServer(config, announce)
    if exit_with_stdin:
        _exit_when_stdin_closes(server)
    try:
        server.run(sockets=sockets)
    finally:
        db.close()
        if temp_dir is not None:
            temp_dir.cleanup()
    for held in reversed(server.held_signals):  # end as uvicorn would: by the signal that stopped us
        signal.raise_signal(held)
