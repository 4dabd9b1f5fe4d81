"""No artifact of a run contains a configured key: terminal output (-vv, -rA, --showlocals, live logs),
failure messages, JUnit XML (with captured output and logs), the log file, the report, the HAR archive
and schemathesis messages and reproduction (curl) lines; nor does any of them hold it in another
spelling when a hostile host echoes it encoded (issue 20, at the end).

The reference server's keys are fixed strings, so they are the canaries: the suite gets them through
the environment exactly as a user's keys, and a few mutants make checks fail so that failure
renderings (tracebacks with locals, fixture errors, cleanup warnings) are produced and scanned.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import httpx
import pytest
from hostile import Forward, echo_key, encodings
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


# --- a hostile echo of the key in every encoding (issue 20) ---------------------------------------------
# A proxy in front of the reference server (selftests/safety/hostile.py) writes the keys into every JSON
# answer and a header, in every spelling a careless or hostile host may use: JSON escapes (all, mixed,
# doubled), percent-encoding (once, mixed, twice), base64 of the key, of `Bearer <key>`, of `user:<key>`
# and of a JSON document holding it, base64url, hex, HTML character references; error bodies are padded
# past 64 KB (the redactor's big-body path). The outputs are then read *by meaning*, with decoders of
# this test's own (not the redactor's), for every key.

_ESCAPED = re.compile(r"\\+u([0-9a-fA-F]{4})")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def meanings(text: str) -> list[str]:
    """The text and what it reads as once JSON / Python escapes, percent-encoding and HTML references are undone."""
    unescaped = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    decoded = unquote(unquote(unescaped))
    return [text, unescaped, decoded, html.unescape(decoded)]


def decoded_base64(text: str) -> Iterator[bytes]:
    for run in _BASE64_RUN.findall(text):
        run = run.rstrip("=").replace("-", "+").replace("_", "/")
        for skip in range(4):
            part = run[skip:]
            try:
                yield base64.b64decode(part + "=" * (-len(part) % 4))
            except ValueError:
                continue


def leaks_by_meaning(texts: dict[str, str], secrets: list[str]) -> list[str]:
    found = leaks(texts, secrets)
    for where, text in texts.items():
        for secret in secrets:
            raw = secret.encode()
            if any(secret[:24] in reading for reading in meanings(text)[1:]):
                found.append(f"{where}: {secret[:8]}… once its escapes are read")
            if raw.hex() in text.lower():
                found.append(f"{where}: {secret[:8]}… as hex")
            if any(raw[:18] in blob for blob in decoded_base64(text)):
                found.append(f"{where}: {secret[:8]}… in base64")
    return found


def _echo_proxy(server: Any, stand_in: Any) -> Any:
    keys = server.secrets()
    echoes = [echo_key(key, name=f"echo{i}", pad_to=70_000 if i == 0 else 0) for i, key in enumerate(keys)]
    return stand_in(Forward(server.base_url, *echoes))


def test_the_echo_proxy_really_echoes_every_encoding(server, stand_in):
    """The canary's own check: through the proxy, every encoding of every key is on the wire."""
    proxy = _echo_proxy(server, stand_in)
    key = server.credentials["personal_api_key"]
    answer = httpx.get(f"{proxy.url}{server.project_path}/dashboards/999999/",
                       headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 404 and len(answer.content) >= 70_000
    text = answer.text
    assert all(encoded in text for encoded in encodings(key).values())
    assert leaks_by_meaning({"wire": text}, [key]) and key not in text  # only the encodings, all of them found


def test_a_hostile_echo_of_the_keys_in_every_encoding_reaches_no_output(servers, stand_in, tmp_path):
    server = servers(*[arg for name in SCENARIO_MUTANTS for arg in ("--mutant", name)])
    proxy = _echo_proxy(server, stand_in)
    out = tmp_path / "artifacts"
    out.mkdir()
    run = run_suite(
        "tests/test_dashboards.py", "tests/test_dashboard_lifecycle.py", "tests/test_auth.py", "tests/test_events.py",
        "tests/test_sharing.py", *LEAN, "-vv", "-rA", "--showlocals", "--tb=long",
        "--junitxml", str(out / "junit.xml"), "-o", "junit_logging=all",
        "--log-file", str(out / "run.log"), "--log-file-level=DEBUG", "--log-level=DEBUG",
        "--har", str(out / "run.har"), *report_args(out),
        env=server.suite_env(POSTHOG_HOST=proxy.url), timeout=300,
    )
    assert run.returncode == 1, f"the mutants should fail the run:\n{run.output[-3000:]}"
    files = artifacts(out)
    assert {"junit.xml", "run.log", "run.har"} <= set(files) and any(name.startswith("report/") for name in files)
    assert "echo0" in files["run.har"], "the echoes reached the run (else this proves nothing)"
    problems = leaks_by_meaning({"terminal": run.output, **files}, server.secrets())
    assert not problems, "\n".join(problems[:40])


@pytest.mark.slow
def test_a_hostile_echo_reaches_no_schemathesis_message(servers, stand_in, tmp_path):
    server = servers(*[arg for name in GENERATED_MUTANTS for arg in ("--mutant", name)])
    proxy = _echo_proxy(server, stand_in)
    out = tmp_path / "artifacts"
    out.mkdir()
    run = run_suite(
        "tests/test_property_based.py", "-rA", "--showlocals", "--tb=long", "-vv",
        "--contract-operation", "dashboards_retrieve,dashboards_list,dashboards_sharing_list",
        "--junitxml", str(out / "junit.xml"), "-o", "junit_logging=all", "--har", str(out / "run.har"),
        *report_args(out),
        env=server.suite_env(POSTHOG_HOST=proxy.url, POSTHOG_CONTRACT_SEED="1"), timeout=900,
    )
    assert run.returncode == 1, f"the mutants should fail the generated run:\n{run.output[-3000:]}"
    assert "curl " in run.output and '"json-escaped": ' in run.output, "no message quoted an echo: proves nothing"
    problems = leaks_by_meaning({"terminal": run.output, **artifacts(out)}, server.secrets())
    assert not problems, "\n".join(problems[:40])


def test_a_key_echoed_into_the_deprecation_headers_reaches_no_output_of_the_finding(server, stand_in, tmp_path):
    """Issue 22: the deprecation finding repeats the host's own header values (Deprecation, Sunset, Link) in
    the terminal section, report.json, report.html, JUnit and the job summary. A host writing the keys into
    those headers (raw, percent-encoded) is scrubbed from every one of them."""
    keys = server.secrets()

    def into_the_notice(seen: Any, answer: Any) -> Any:
        if "/api/environments/" not in seen.path:
            return None
        headers = {**answer.headers, "Deprecation": f"true; {keys[0]}",
                   "Sunset": f"Fri, 31 Jul 2026 00:00:00 GMT {quote(keys[1], safe='')}",
                   "Link": f'<{seen.path.replace("/api/environments/", "/api/projects/")}&k={keys[0]}>; '
                           f'rel="successor-version"'}
        return type(answer)(answer.status, headers, answer.body)

    proxy = stand_in(Forward(server.base_url, into_the_notice))
    out = tmp_path / "artifacts"
    out.mkdir()
    run = run_suite("tests/test_deprecation.py", "-rA", "--junitxml", str(out / "junit.xml"), *report_args(out),
                    env=server.suite_env(POSTHOG_HOST=proxy.url), timeout=300)
    assert "posthog-contract deprecations" in run.output and "DEPRECATED" in run.output, run.output[-3000:]
    summary = subprocess.run([sys.executable, "-m", "posthog_contract", "summary", str(out / "report" / "report.json"),
                              "--annotations"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert summary.returncode == 0 and "deprecation" in summary.stdout, summary.stderr
    problems = leaks({"terminal": run.output, "summary": summary.stdout, **artifacts(out)}, keys)
    assert not problems, "\n".join(problems[:40])
