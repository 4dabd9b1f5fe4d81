"""Start the embedded reference server for a session, over a subprocess (the suite never imports it).

The server announces itself with one JSON line on stdout; it exits when our end of its stdin
closes, so it cannot outlive the run even if pytest is killed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any


class EmbeddedServerError(RuntimeError):
    """The reference server did not start; the message says why in one sentence."""


@dataclass
class EmbeddedServer:
    process: subprocess.Popen[bytes]
    credentials: dict[str, Any]

    @property
    def base_url(self) -> str:
        return str(self.credentials["base_url"])

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            if self.process.stdin:
                self.process.stdin.close()
            self.process.wait(timeout=timeout)
        except (subprocess.TimeoutExpired, OSError):
            self.process.kill()
            self.process.wait(timeout=timeout)


#: The reference server throttles like PostHog (480/min, events 240/min) by default; the suite's run
#: against it sends more than that in its first minute and would spend most of its time waiting on
#: ``Retry-After``. The run's own server is not throttled; ``--reference-arg=--rate-limit=N/min``
#: (given later, so it wins) brings throttling back.
UNTHROTTLED = ("--rate-limit", "1000000/min")


def start(extra_args: list[str] | None = None, *, ready_timeout: float = 30.0) -> EmbeddedServer:
    """Run ``python -m posthog_contract.reference --port 0 --exit-with-stdin [--rate-limit ...] [extra_args]``."""
    args = [*UNTHROTTLED, *(extra_args or []), *shlex.split(os.environ.get("POSTHOG_REFERENCE_ARGS", ""))]
    command = [sys.executable, "-m", "posthog_contract.reference", "--port", "0", "--exit-with-stdin", *args]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    line: list[bytes] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(ready_timeout)
    if not line or not line[0].strip():
        process.kill()
        stderr = process.stderr.read().decode(errors="replace").strip().splitlines() if process.stderr else []
        reason = stderr[-1] if stderr else f"no credentials line within {ready_timeout:.0f} s"
        raise EmbeddedServerError(f"The embedded reference server did not start: {reason}")
    # keep draining stderr so a chatty server never blocks on a full pipe
    threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
    return EmbeddedServer(process, json.loads(line[0]))
