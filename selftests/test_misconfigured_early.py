"""Every misconfiguration ends the run early in one sentence (exit 4), whatever is selected (issue 25,
point 3): a selection that deselects every test (the README's rerun recipe with a typo, a ``-k`` that
matches nothing) must not turn a misconfiguration into a silent "no tests ran" (exit 5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from install_support import LEAN, environment

ROOT = Path(__file__).resolve().parents[1]
CANARY = "phx_CANARY0123456789abcdef"
HOST = "https://posthog.staging.example.com"


def _sentence(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 4, f"exit {done.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if "posthog-contract:" in line]
    assert len(lines) == 1 and lines[0].startswith("ERROR: posthog-contract: "), output[-3000:]
    assert CANARY not in output
    return lines[0].removeprefix("ERROR: posthog-contract: ")


@pytest.mark.parametrize(
    ("selection", "env", "says"),
    [
        (["tests/test_property_based.py", "--contract-operation", "dashboards_partial_updat"], {},
         "--contract-operation names no operation of the contract: dashboards_partial_updat"),
        (["tests/test_auth.py", "-k", "nothing_matches_this"], {"POSTHOG_CONTRACT_OPERATION": "nope"},
         "POSTHOG_CONTRACT_OPERATION names no operation of the contract: nope"),
        (["tests/test_auth.py", "-k", "nothing_matches_this"],
         {"POSTHOG_HOST": HOST + "/api/", "POSTHOG_PERSONAL_API_KEY": CANARY},
         "POSTHOG_HOST must be the host's origin without a path"),
        (["tests/test_auth.py", "--deselect", "tests/test_auth.py"], {"POSTHOG_REQUEST_TIMEOUT": "soon"},
         "POSTHOG_REQUEST_TIMEOUT must be a positive number of seconds"),
    ],
    ids=["operation typo deselecting all", "operation via env, -k none", "host with a path", "all deselected"],
)
def test_a_misconfiguration_is_one_sentence_whatever_is_selected(selection, env, says) -> None:
    lean = LEAN if "tests/test_property_based.py" not in selection else ()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *selection, *lean], cwd=ROOT,
                          env=environment(**env), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert says in _sentence(done)


def test_a_malformed_waiver_file_is_one_sentence(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\ntest = "tests/test_auth.py::*"\nreason = "x"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/test_auth.py", "-k",
                           "nothing_matches_this", "--waivers", str(waivers), *LEAN], cwd=ROOT, env=environment(),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert "needs expires = YYYY-MM-DD" in _sentence(done)


@pytest.mark.parametrize("command", [["-m", "pytest", "tests/test_dashboards.py"],
                                     ["-m", "posthog_contract", "run", "tests/test_dashboards.py"]],
                         ids=["pytest", "posthog-contract run"])
def test_parallel_runs_are_refused_before_any_request(command: list[str]) -> None:
    """Issue 24, deliver 3: ``-n 2`` is refused in one sentence (exit 4) that says why and what to do instead,
    before xdist starts a worker: the host (a listening socket here) never sees a connection."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        host = f"http://127.0.0.1:{listener.getsockname()[1]}"
        done = subprocess.run([sys.executable, *command, "-p", "no:cacheprovider", "-n", "2"], cwd=ROOT,
                              env=environment(POSTHOG_HOST=host, POSTHOG_PERSONAL_API_KEY=CANARY),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody connected
    sentence = _sentence(done)
    assert sentence.startswith("parallel runs are refused (-n 2): a key's rate limit bounds a run, not CPU"), sentence
    assert "one job per host (a CI matrix: README, Parallel runs)" in sentence
    assert "[gw0]" not in done.stdout and "created: " not in done.stdout, "no xdist worker was started"
