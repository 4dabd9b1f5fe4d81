"""The request budget (issue 15): a run sends at most ``--request-budget`` requests, cleanup included;
past it, checks are *unavailable* with the setting named, the generated part first; every request
either transport sends is counted, and the summary and the report say what the run cost.

The embedded reference server's request log (``METHOD path status ms``, one line per request it
answered) is the witness: it counts what the host saw, whoever sent it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from safety_support import LEAN, run_suite, suite_environment

BUDGET_SPENT = "request budget ("
#: room for the hand-written part (about 475 requests with its cleanup since issue 23's derived checks),
#: but not for the generated part
HANDWRITTEN_ROOM = 520
#: PostHog Cloud's hourly limits per key, an eighth of each (contract §1.8): what the default run may send
DEFAULT_RUN, DEFAULT_RUN_EVENTS = 600, 150


def logged_requests(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.count(" ") >= 3]


def _events(line: str) -> bool:
    """A request to the events endpoints under either prefix (PostHog throttles both alike, contract §1.8)."""
    return bool(re.match(r"^\S+ /api/(?:projects|environments)/[^/]+/events(?:/|\?|\s)", line))


def unavailable_for_budget(output: str) -> list[str]:
    """Test ids the terminal summary lists as unavailable because the budget was spent."""
    return re.findall(r"^UNAVAILABLE\s+(\S+): .*request budget \(", output, flags=re.MULTILINE)


def test_a_budget_caps_the_run_and_cuts_the_generated_part_first(tmp_path):
    log, report = tmp_path / "requests.log", tmp_path / "report"
    run = run_suite(
        "tests", "-q", f"--request-budget={HANDWRITTEN_ROOM}", f"--reference-arg=--request-log={log}",
        f"--report={report}", env=suite_environment(), timeout=600,
    )
    assert run.returncode == 0, run.output[-4000:]
    sent = logged_requests(log)
    assert len(sent) <= HANDWRITTEN_ROOM, f"{len(sent)} requests reached the host, budget {HANDWRITTEN_ROOM}"
    cut = unavailable_for_budget(run.output)
    assert cut, f"the budget never bit, so this proves nothing:\n{run.output[-3000:]}"
    generated = ("tests/test_property_based.py", "tests/test_stateful.py")  # the files marked property_based
    handwritten_cut = [test for test in cut if not test.startswith(generated)]
    assert not handwritten_cut, f"hand-written checks lost their priority on the budget: {handwritten_cut}"
    assert "raise --request-budget / POSTHOG_REQUEST_BUDGET" in run.output, "the reason names the setting"
    # every request is counted, by whichever transport sent it: the report's count is the host's
    cost = json.loads((report / "report.json").read_text())["run"]["cost"]
    assert cost["requests"] == len(sent), (cost["requests"], len(sent))
    assert cost["budget"] == HANDWRITTEN_ROOM
    events = sum(_events(line) for line in sent)
    writes = sum(not line.startswith(("GET ", "HEAD ", "OPTIONS ")) for line in sent)
    assert (cost["events_requests"], cost["write_requests"]) == (events, writes)
    assert f"requests sent: {len(sent)} ({events} to the events endpoints, {writes} writes; {len(sent)} of a budget" \
        in run.output


def test_the_default_run_fits_its_budget_without_cutting_a_check(tmp_path):
    """The whole default run, derived checks and generated part included, within 600 requests and 150
    on the events endpoints, counted by the host: nothing unavailable for the budget (issue 15, issue 23)."""
    log = tmp_path / "requests.log"
    run = run_suite("tests", "-q", f"--reference-arg=--request-log={log}", env=suite_environment(), timeout=600)
    assert run.returncode == 0, run.output[-4000:]
    assert not unavailable_for_budget(run.output), run.output[-3000:]
    sent = logged_requests(log)
    events = sum(_events(line) for line in sent)
    assert len(sent) <= DEFAULT_RUN and events <= DEFAULT_RUN_EVENTS, (len(sent), events)


def test_a_budget_smaller_than_the_checks_leaves_them_unavailable_and_still_cleans_up(tmp_path):
    log = tmp_path / "requests.log"
    run = run_suite(
        "tests/test_dashboards.py", *LEAN, "-q", "--request-budget=25", f"--reference-arg=--request-log={log}",
        env=suite_environment(), timeout=300,
    )
    assert run.returncode == 0, run.output[-4000:]
    sent = logged_requests(log)
    assert len(sent) <= 25, f"{len(sent)} requests reached the host, budget 25"
    assert unavailable_for_budget(run.output), run.output[-3000:]
    created = sum(line.startswith("POST ") and line.split()[1].endswith("/dashboards/") and " 201 " in line
                  for line in sent)
    soft_deleted = sum(line.startswith("PATCH ") and "/dashboards/" in line for line in sent)
    assert created and soft_deleted >= created, "cleanup kept its requests: every created dashboard was deleted"
    assert "cleanup" not in " ".join(re.findall(r"^WARNING.*$", run.output, flags=re.MULTILINE))


def test_no_cap_and_the_cost_lines(tmp_path):
    run = run_suite(
        "tests/test_dashboards.py::test_list_items_carry_no_tiles", *LEAN, "-q", env=suite_environment(
            POSTHOG_REQUEST_BUDGET="0"
        ), timeout=120,
    )
    assert run.returncode == 0, run.output[-3000:]
    assert re.search(r"requests sent: \d+ \(0 to the events endpoints, \d+ writes; no cap\)", run.output), run.output
    assert "429 answers: 0, seconds waited on them: 0.0" in run.output
    assert re.search(r"share of PostHog Cloud's hourly limits per key .*% of 4,800 requests, 0 % of 1,200", run.output)


def test_a_malformed_budget_is_one_sentence_and_exit_4():
    run = run_suite(
        "tests/test_dashboards.py", *LEAN, "-q", "--request-budget=lots", env=suite_environment(), timeout=60
    )
    assert run.returncode == 4, run.output[-2000:]
    assert "--request-budget must be a whole number of requests (0: no cap), not 'lots'." in run.output


def test_the_reference_throttles_the_events_endpoints_on_their_own_limit(servers):
    """``--events-rate-limit`` (the bench's host paced like PostHog Cloud: 8/s, events 4/s)."""
    server = servers("--rate-limit", "100/min", "--events-rate-limit", "2/min", throttle=True)
    client = server.client()
    events = [client.get(f"{server.project_path}/events/").status_code for _ in range(3)]
    dashboards = [client.get(f"{server.project_path}/dashboards/").status_code for _ in range(3)]
    assert events == [200, 200, 429], events
    assert dashboards == [200, 200, 200], dashboards
    throttled = client.get(f"{server.project_path}/events/")
    assert int(throttled.headers["Retry-After"]) >= 1
