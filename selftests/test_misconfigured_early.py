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
