"""No artifact of a run contains a configured key: terminal output (-vv, -rA, --showlocals, live logs),
failure messages, JUnit XML (with captured output and logs), the log file, the report, and
schemathesis reproduction (curl) lines.

The reference server's keys are fixed strings, so they are the canaries: the suite gets them through
the environment exactly as a user's keys, and a few mutants make checks fail so that failure
renderings (tracebacks with locals, fixture errors, cleanup warnings) are produced and scanned.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from safety_support import KEY_FIELDS, LEAN, ROOT, run_suite, suite_command

#: mutants whose failures render keys' neighbourhoods: a failing capture fixture (the project key is a
#: local there), read-only-key checks that fail, schema failures, 500s, PATCHes not stored
SCENARIO_MUTANTS = (
    "capture_status_wrong",
    "readonly_key_may_write",
    "dashboard_restriction_level_string",
    "unknown_dashboard_500",
    "patch_not_stored",
)
#: schemathesis and the state machine fail on these, with curl reproduction lines
GENERATED_MUTANTS = ("unknown_dashboard_500", "sharing_token_not_rotated")


def forms(secret: str) -> set[str]:
    """The key and how it may travel: percent-encoded, and a long prefix (a truncated repr)."""
    return {secret, quote(secret, safe=""), quote_plus(secret), secret[:24]}


def leaks(texts: dict[str, str], secrets: list[str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for secret in secrets:
            for form in forms(secret):
                if form in text:
                    line = next(line for line in text.splitlines() if form in line)
                    found.append(f"{where}: {form[:8]}… in line: {line[:300]}")
    return found


def artifacts(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_bytes().decode(errors="replace")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def report_args(directory: Path) -> list[str]:
    """``--report DIR`` once the report package exists and the plugin offers the option."""
    spec = importlib.util.find_spec("posthog_contract.report")
    if spec is None or not spec.submodule_search_locations:
        return []
    if not any(Path(p).glob("*.py") for p in spec.submodule_search_locations):
        return []
    shown = subprocess.run(suite_command("--help"), cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    return ["--report", str(directory / "report")] if "--report" in shown else []


def test_no_key_in_any_artifact_of_a_failing_scenario_run(servers, tmp_path):
    server = servers(*[arg for name in SCENARIO_MUTANTS for arg in ("--mutant", name)])
    out = tmp_path / "artifacts"
    out.mkdir()
    report = report_args(out)
    run = run_suite(
        "tests", "-vv", "-rA", "--showlocals", "--tb=long",
        "--junitxml", str(out / "junit.xml"), "-o", "junit_logging=all",
        "--log-file", str(out / "run.log"), "--log-file-level=DEBUG", "--log-level=DEBUG",
        *report,
        env=server.suite_env(), timeout=300,
    )
    assert run.returncode == 1, f"the mutants should fail the run:\n{run.output[-3000:]}"
    assert "Traceback" in run.output or "Error" in run.output  # failures were rendered
    files = artifacts(out)
    assert "junit.xml" in files and "run.log" in files
    assert not report or any(name.startswith("report/") for name in files), sorted(files)
    problems = leaks({"terminal": run.output, **files}, server.secrets())
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_no_key_in_schemathesis_failures_and_reproduction_lines(servers, tmp_path):
    server = servers(*[arg for name in GENERATED_MUTANTS for arg in ("--mutant", name)])
    out = tmp_path / "artifacts"
    out.mkdir()
    run = run_suite(
        "tests/test_property_based.py", "tests/test_stateful.py", "-rA", "--showlocals", "--tb=long",
        "--junitxml", str(out / "junit.xml"), "-o", "junit_logging=all", *report_args(out),
        env=server.suite_env(POSTHOG_CONTRACT_SEED="1"), timeout=900,
    )
    assert run.returncode == 1, f"the mutants should fail the generated run:\n{run.output[-3000:]}"
    assert "curl " in run.output, "schemathesis printed no reproduction line; the check would prove nothing"
    problems = leaks({"terminal": run.output, **artifacts(out)}, server.secrets())
    assert not problems, "\n".join(problems)


CARELESS_TESTS = '''
import logging

import pytest

pytestmark = [pytest.mark.operations("users_me_retrieve"), pytest.mark.check("auth")]  # what every contract test says


def test_prints_logs_and_asserts_on_the_key(settings, contract):
    key = settings.personal_api_key
    print("personal key:", key)
    logging.getLogger("careless").warning("project key %s", contract.facts.project_api_key)
    headers = {"Authorization": "Bearer " + key, "X-Raw": key}
    assert headers["X-Raw"] == "something else"


def test_skips_with_the_key(settings):
    pytest.skip("skipping because of " + settings.readonly_api_key)


def test_raises_with_the_key(settings):
    raise RuntimeError(f"the host choked on {settings.personal_api_key!r}")
'''


def test_keys_a_careless_test_exposes_are_scrubbed_everywhere(server, tmp_path):
    """The nets under the suite's own redaction: captured output, logs (live, captured, file), skip
    reasons, assertion introspection and locals, for a test that does everything wrong."""
    (tmp_path / "test_careless.py").write_text(CARELESS_TESTS)
    out = tmp_path / "artifacts"
    out.mkdir()
    run = run_suite(
        "-p", "posthog_contract.plugin", "test_careless.py", *LEAN, "-vv", "-rA", "--showlocals",
        "-o", "log_cli=true", "--log-cli-level=INFO", "--log-file", str(out / "run.log"),
        "--junitxml", str(out / "junit.xml"), "-o", "junit_logging=all",
        env=server.suite_env(), cwd=tmp_path, timeout=120,
    )
    assert run.returncode == 1, run.output[-3000:]
    # one assertion about the host (failed) and one crash of the test itself (error: a tool error)
    assert "1 failed, 1 skipped, 1 error" in run.output, run.output[-3000:]
    assert "[REDACTED]" in run.output  # the keys were there, and were replaced
    problems = leaks({"terminal": run.output, **artifacts(out)}, server.secrets())
    assert not problems, "\n".join(problems)


def test_the_canaries_are_the_keys_the_run_was_given(server):
    env = server.suite_env()
    assert [env[f"POSTHOG_{field.upper()}"] for field in KEY_FIELDS] == server.secrets()
