"""``--har FILE`` (issue 16, point 5): every exchange of a run as HAR 1.2, redacted like the report.

One run of the dashboard scenarios plus the read operations' schemathesis test against the embedded
server; its reference credentials are the canary: no key may appear anywhere in the archive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

from posthog_contract.mutation import ROOT, suite_environment

_NAME_VALUE = {"type": "array", "items": {"type": "object", "required": ["name", "value"],
                                          "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}}
#: the HAR 1.2 spec's required fields (http://www.softwareishard.com/blog/har-12-spec/)
HAR_1_2 = {
    "type": "object",
    "required": ["log"],
    "properties": {"log": {
        "type": "object",
        "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"]},
            "entries": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                "properties": {
                    "startedDateTime": {"type": "string", "format": "date-time"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {"type": "object", "required": ["method", "url", "httpVersion", "cookies", "headers",
                                                               "queryString", "headersSize", "bodySize"],
                                "properties": {"headers": _NAME_VALUE, "queryString": _NAME_VALUE,
                                               "postData": {"type": "object", "required": ["mimeType", "text"]}}},
                    "response": {"type": "object", "required": ["status", "statusText", "httpVersion", "cookies",
                                                                "headers", "content", "redirectURL", "headersSize",
                                                                "bodySize"],
                                 "properties": {"headers": _NAME_VALUE, "status": {"type": "integer"},
                                                "content": {"type": "object", "required": ["size", "mimeType"]}}},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"]},
                },
            }},
        },
    }},
}


def test_the_archive_is_har_1_2_holds_every_exchange_and_no_key(tmp_path: Path) -> None:
    har, credentials = tmp_path / "traffic.har", tmp_path / "credentials.json"
    command = [sys.executable, "-m", "pytest", "tests/test_dashboards.py",
               "tests/test_property_based.py::test_read_operations_conform", "-q", "-p", "no:cacheprovider",
               "--har", str(har), f"--reference-arg=--credentials={credentials}"]
    done = subprocess.run(command, cwd=ROOT, env=suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = har.read_text(encoding="utf-8")
    archive = json.loads(text)
    jsonschema.Draft202012Validator(HAR_1_2, format_checker=jsonschema.FormatChecker()).validate(archive)
    entries = archive["log"]["entries"]
    comments = [e["comment"] for e in entries]
    assert "(preflight)" in comments  # the suite client's requests before any test
    assert any("tests/test_dashboards.py::" in c for c in comments)
    assert any("test_read_operations_conform" in c for c in comments)  # schemathesis' session too
    assert f"traffic archive      {har} ({len(entries)} exchanges)" in done.stdout
    secrets = [str(v) for k, v in json.loads(credentials.read_text()).items() if k.endswith("_key") and v]
    assert len(secrets) >= 3
    assert [s[:8] for s in secrets if s in text] == []
    auth = [h["value"] for e in entries for h in e["request"]["headers"] if h["name"].lower() == "authorization"]
    assert auth and all(value in ("Bearer [REDACTED]", "[Filtered]", "[REDACTED]") for value in auth), set(auth)


def test_one_entry_per_request_sent_as_the_ledger_and_the_host_count_them(tmp_path: Path) -> None:
    """Issue 24: the HAR holds one entry per request the run sent, every attempt its own: a 429 retried (the
    host refuses every 7th request), the §1.9 redirect hop, in both transports (the hand-written client and the
    schemathesis session). Three witnesses agree request by request: the archive, the run's ledger
    (report.json run.cost) and the reference's own request log."""
    har, report, log = tmp_path / "traffic.har", tmp_path / "report", tmp_path / "requests.log"
    command = [sys.executable, "-m", "pytest", "tests/test_dashboards.py",
               "tests/test_property_based.py::test_read_operations_conform", "-q", "-p", "no:cacheprovider",
               "--har", str(har), "--report", str(report), "--reference-arg=--throttle-every=7",
               "--reference-arg=--throttle-retry-after=0", f"--reference-arg=--request-log={log}",
               "--reference-arg=--environments=redirect"]
    done = subprocess.run(command, cwd=ROOT, env=suite_environment(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
    sent = json.loads((report / "report.json").read_text(encoding="utf-8"))["run"]["cost"]["requests"]
    seen = [line.split() for line in log.read_text().splitlines() if line.strip()]
    assert len(entries) == sent == len(seen), (len(entries), sent, len(seen))
    archived = Counter((e["request"]["method"], urlsplit(e["request"]["url"]).path, e["response"]["status"])
                       for e in entries)
    logged = Counter((method, urlsplit(path).path, int(status)) for method, path, status, *_ in seen)
    assert archived == logged, (archived - logged, logged - archived)
    retried = [e for e in entries if e["response"]["status"] == 429]
    assert any("test_read_operations_conform" in e["comment"] for e in retried), "schemathesis' 429s are archived"
    assert any("test_dashboards.py" in e["comment"] for e in retried), "the hand-written client's 429s are archived"
    assert any(e["response"]["status"] == 307 for e in entries), "the followed redirect's hop is an entry of its own"
