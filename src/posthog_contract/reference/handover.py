"""The reference server's credentials in the forms users need to point the suite at it as a host.

``--print-env`` starts the server in the background and prints shell ``export`` lines (the way
``eval "$(ssh-agent)"`` hands over an agent): ``eval "$(posthog-contract reference --print-env)"``
then ``posthog-contract run`` tests it as an external host. ``--env-file PATH`` writes the same
settings as a dotenv file (``NAME=value`` lines, readable by docker ``--env-file``, python-dotenv,
``set -a; . PATH``), mode 0600 since it holds keys. ``kill "$POSTHOG_REFERENCE_PID"`` stops a
background server.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: the suite's settings (README, settings table) and the credentials-line field that fills each
SUITE_VARIABLES: tuple[tuple[str, str], ...] = (
    ("POSTHOG_HOST", "base_url"),
    ("POSTHOG_PERSONAL_API_KEY", "personal_api_key"),
    ("POSTHOG_PROJECT_ID", "project_id"),
    ("POSTHOG_PROJECT_API_KEY", "project_api_key"),
    ("POSTHOG_READONLY_API_KEY", "readonly_api_key"),
    ("POSTHOG_COLLABORATOR_UUID", "collaborator_uuid"),
    ("POSTHOG_OTHER_PROJECT_ID", "other_project_id"),
    ("POSTHOG_DATA_COLOR_THEME_ID", "data_color_theme_id"),
    ("POSTHOG_QUICK_FILTER_ID", "quick_filter_id"),
)
PID_VARIABLE = "POSTHOG_REFERENCE_PID"
_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]*")
READY_TIMEOUT_S = 30.0


def variables(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The suite's environment for a server with these credentials."""
    return {name: str(credentials[field]) for name, field in SUITE_VARIABLES}


def export_lines(values: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def dotenv(values: Mapping[str, str]) -> str:
    lines = []
    for name, value in values.items():
        shown = value if _PLAIN.fullmatch(value) else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{name}={shown}\n")
    return "".join(lines)


def write_env_file(path: str, values: Mapping[str, str]) -> None:
    """Write the dotenv file readable by its owner only (it holds the reference world's keys)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(dotenv(values))


def without_options(argv: list[str], *, flags: tuple[str, ...], valued: tuple[str, ...]) -> list[str]:
    """``argv`` without the given switches and valued options (``--x V`` and ``--x=V``)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in flags or any(arg.startswith(f"{name}=") for name in valued):
            continue
        elif arg in valued:
            skip = True
        else:
            kept.append(arg)
    return kept


def detach(argv: list[str], *, credentials_path: str | None, env_file: str | None) -> int:
    """Start ``python -m posthog_contract.reference ARGV`` in its own session, wait for its credentials,
    print the ``export`` lines (and write ``env_file``); the server keeps serving after we exit."""
    folder = Path(tempfile.mkdtemp(prefix="posthog-reference-handover-"))
    credentials = Path(credentials_path) if credentials_path else folder / "credentials.json"
    log = folder / "server.log"
    command = [sys.executable, "-m", "posthog_contract.reference", *argv, "--credentials", str(credentials)]
    with open(log, "wb") as errors:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                                   start_new_session=True)
    deadline = time.monotonic() + READY_TIMEOUT_S
    line = ""
    while not line and time.monotonic() < deadline:
        if credentials.is_file():
            line = credentials.read_text(encoding="utf-8").strip()
        if not line and process.poll() is not None:
            break
        if not line:
            time.sleep(0.05)
    if not line:
        if process.poll() is None:
            process.kill()
        reasons = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        reason = reasons[-1] if reasons else f"no credentials within {READY_TIMEOUT_S:.0f} s"
        print(f"error: the reference server did not start: {reason}", file=sys.stderr)
        return 2
    import json

    values = variables(json.loads(line))
    if env_file:
        write_env_file(env_file, values)
    sys.stdout.write(export_lines({**values, PID_VARIABLE: str(process.pid)}))
    sys.stdout.write(f"# stop it with: kill \"${PID_VARIABLE}\"\n")
    sys.stdout.flush()
    return 0
