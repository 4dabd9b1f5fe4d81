"""The GitHub Action (issue 25, point 6): action.yml at the repository's top (a composite action) and its
fan-in companion matrix/action.yml, run step by step on this machine (action_support.py) from the
installed wheel against reference servers posing as external hosts: the evidence, the job summary,
annotations placed on the test's line, the exit code, the cleanup after a cancelled run, the fan-in
page; and examples/github-actions-matrix.yml wiring the fan-out and the fan-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from action_support import KNOWN_ACTIONS, ActionRun, load, run_action
from install_support import Install

from posthog_contract import embedded

ROOT = Path(__file__).resolve().parents[1]
ACTION, FAN_IN = ROOT, ROOT / "matrix"
EXAMPLE = ROOT / "examples" / "github-actions-matrix.yml"
SCENARIOS = "tests/test_dashboards.py tests/test_collaborators.py -p no:hypothesispytest"


# --- what the files say ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [ACTION, FAN_IN], ids=["action", "matrix"])
def test_the_actions_are_composite_and_pass_inputs_only_through_env(folder: Path) -> None:
    action = load(folder / "action.yml")
    assert action["runs"]["using"] == "composite" and action["description"]
    assert not [name for name in action["inputs"] if re.search(r"key|token|secret|password", name)]
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], f"an expression inside a script (injection): {step['name']}"
        else:
            assert step["uses"] in KNOWN_ACTIONS


def test_the_action_has_the_inputs_the_readme_shows() -> None:
    inputs = load(ACTION / "action.yml")["inputs"]
    assert {"host", "project", "baseline", "profile", "min-coverage", "waivers", "artifact-name"} <= set(inputs)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = readme.split("## Three ways to use it", 1)[1]
    assert ci.index("uses: OWNER/posthog-contract@v1") < ci.index("python -m pytest tests --junitxml")
    shown = re.findall(r"^\s+([a-z-]+): ", ci.split("uses: OWNER/posthog-contract@v1", 1)[1].split("```", 1)[0], re.M)
    assert set(shown) - {"env", "with", "POSTHOG_PERSONAL_API_KEY"} <= set(inputs), shown


def test_the_example_fans_out_with_the_action_and_fans_in_with_the_matrix_action() -> None:
    workflow = load(EXAMPLE)
    contract, fan_in = workflow["jobs"]["contract"], workflow["jobs"]["fan-in"]
    (suite,) = [s for s in contract["steps"] if str(s.get("uses", "")).endswith("/posthog-contract@v1")]
    assert set(suite["with"]) <= set(load(ACTION / "action.yml")["inputs"])
    assert suite["env"] == {"POSTHOG_PERSONAL_API_KEY": "${{ secrets[matrix.key] }}"}  # keys only from secrets
    assert contract["strategy"]["fail-fast"] is False and len(contract["strategy"]["matrix"]["include"]) >= 2
    (gather,) = [s for s in fan_in["steps"] if str(s.get("uses", "")).endswith("/posthog-contract/matrix@v1")]
    assert fan_in["needs"] == "contract" and fan_in["if"] == "always()"
    names = [suite["with"]["artifact-name"].replace("${{ matrix.name }}", leg["name"])
             for leg in contract["strategy"]["matrix"]["include"]]
    assert len(set(names)) == len(names)  # each leg uploads its own artifact
    assert all(re.fullmatch(gather["with"]["pattern"].replace("*", ".*"), name) for name in names)
    assert "phx_" not in EXAMPLE.read_text(encoding="utf-8")


# --- the steps, run ------------------------------------------------------------------------------------------------


@dataclass
class Host:
    server: embedded.EmbeddedServer

    @property
    def credentials(self) -> dict[str, Any]:
        return self.server.credentials

    def run_tagged(self) -> list[str]:
        """Live dashboards some run created (named ``posthog-contract <run id> …``)."""
        creds = self.credentials
        response = httpx.get(f"{creds['base_url']}/api/projects/{creds['project_id']}/dashboards/?limit=500",
                             headers={"Authorization": f"Bearer {creds['personal_api_key']}"}, timeout=10)
        response.raise_for_status()
        return [d["name"] for d in response.json()["results"] if d["name"].startswith("posthog-contract pcr")]


@pytest.fixture
def host() -> Iterator[Host]:
    server = embedded.start([])
    yield Host(server)
    server.stop()


@pytest.fixture
def slow_host() -> Iterator[Host]:
    """A host answering each request after 300 ms: the run outlives the first dashboard it creates, so a
    cancel at that moment always finds it running (on an idle machine the fast host let it finish first)."""
    server = embedded.start(["--latency-ms=300"])
    yield Host(server)
    server.stop()


def _run(installed: Install, wheel: Path, workdir: Path, artifacts: Path, host: Host | None, **inputs: str) -> Any:
    env = installed.env()
    if host is not None:
        inputs = {"host": host.credentials["base_url"], "project": str(host.credentials["project_id"]), **inputs}
        env["POSTHOG_PERSONAL_API_KEY"] = host.credentials["personal_api_key"]  # the workflow's env, from secrets
    workdir.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    return lambda **kwargs: run_action(ACTION, {"package": str(wheel), "args": SCENARIOS, **inputs}, env=env,
                                       workdir=workdir, artifacts=artifacts, **kwargs)


@dataclass
class FanOut:
    clean: ActionRun
    broken: ActionRun
    artifacts: Path
    workdir: Path


@pytest.fixture(scope="module")
def fan_out(installed: Install, wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FanOut:
    """Two legs of a matrix job, as the example workflow runs them: a clean host and a host with a
    broken rule (PATCH on a collaborator allowed), each uploading its own artifact."""
    root = tmp_path_factory.mktemp("fan-out")
    artifacts = root / "artifacts"
    runs = []
    for name, arguments in (("clean", []), ("broken", ["--mutant=collaborator_patch_allowed"])):
        server = embedded.start(arguments)
        try:
            start = _run(installed, wheel, root / name, artifacts, Host(server), **{
                "artifact-name": f"posthog-contract-{name}", "min-coverage": "5"})
            runs.append(start())
        finally:
            server.stop()
    return FanOut(runs[0], runs[1], artifacts, root)


@pytest.mark.slow
def test_the_action_runs_the_suite_and_keeps_every_piece_of_evidence(fan_out: FanOut) -> None:
    run = fan_out.clean
    order = [(s.name, s.ran) for s in run.steps]
    assert order == [("Set up Python", True), ("Install posthog-contract", True), ("Run the contract suite", True),
                     ("Job summary and annotations", True),
                     ("Upload the JUnit XML, the report and the traffic archive", True),
                     ("Clean up what a cancelled run left behind", False), ("Verdict", True)], order
    assert not run.failed and run.outputs["exit-code"] == "0"
    assert "(an external host)" in run.step("Run the contract suite").output
    assert run.summary.startswith("## posthog-contract: ✅ passed") and "applicable cells checked: " in run.summary
    uploaded = fan_out.artifacts / "posthog-contract-clean"
    for piece in ("junit.xml", "report/report.json", "report/report.html", "traffic.har", "run.log"):
        assert (uploaded / piece).is_file(), piece
    assert run.outputs["report"] == "posthog-contract/report/report.json"


@pytest.mark.slow
def test_a_broken_rule_fails_the_action_with_an_annotation_on_the_test_s_line(fan_out: FanOut) -> None:
    run = fan_out.broken
    assert run.outputs["exit-code"] == "1" and run.step("Verdict").returncode == 1
    assert run.summary.startswith("## posthog-contract: ❌ failed: the host broke a rule in 1 test(s)")
    annotations = [line for line in run.step("Job summary and annotations").output.splitlines()
                   if line.startswith("::error file=")]
    (annotation,) = annotations
    place = re.match(r"::error file=tests/test_collaborators\.py,line=(\d+),title=", annotation)
    assert place, annotation
    source = (ROOT / "tests" / "test_collaborators.py").read_text(encoding="utf-8").splitlines()
    start = source.index(next(s for s in source if s.startswith("def test_patch_a_collaborator_is_refused")))
    end = next(i for i in range(start + 1, len(source)) if source[i].startswith("def "))
    line = int(place.group(1))
    assert start < line - 1 < end and "expect_" in source[line - 1], source[line - 1]  # the failing check's line
    # violations are the suite's own finding: it cleaned up itself, and only the last step fails the job
    assert not run.step("Clean up what a cancelled run left behind").ran
    assert [s.name for s in run.steps if s.returncode] == ["Verdict"]


@pytest.mark.slow
def test_too_little_coverage_fails_the_action(installed: Install, wheel: Path, host: Host, tmp_path: Path) -> None:
    start = _run(installed, wheel, tmp_path / "w", tmp_path / "a", host, **{"min-coverage": "99",
                                                                             "args": "tests/test_auth.py"})
    run = start()
    summary = run.step("Job summary and annotations")
    # issue 24: the run's own --min-coverage (exit 6, its own code); the summary says it without failing again
    assert run.outputs["exit-code"] == "6" and run.step("Verdict").returncode == 6 and summary.returncode == 0
    assert "::error title=posthog-contract incomplete::incomplete: applicable cells checked: " in summary.output
    assert "is below the minimum of 99 %" in run.summary and "coverage **INCOMPLETE**" in run.summary


@pytest.mark.slow
def test_a_cancelled_run_s_leftovers_are_removed(installed: Install, wheel: Path, slow_host: Host,
                                                 tmp_path: Path) -> None:
    host = slow_host
    start = _run(installed, wheel, tmp_path / "w", tmp_path / "a", host, args="tests/test_dashboards.py")
    run = start(cancel=("Run the contract suite", lambda: bool(host.run_tagged())))
    suite = run.step("Run the contract suite")
    assert suite.cancelled, "the run ended before it created anything to leave behind"
    cleanup = run.step("Clean up what a cancelled run left behind")
    assert cleanup.ran and cleanup.returncode == 0, cleanup.output
    run_id = re.search(r"run id (pcr[a-z0-9]+)", (tmp_path / "w" / "posthog-contract" / "run.log").read_text()).group(1)
    assert "soft-deleted dashboard " in cleanup.output and run_id in cleanup.output, cleanup.output
    assert not [name for name in host.run_tagged() if run_id in name]
    assert run.step("Verdict").returncode != 0  # a cancelled run is not a pass


@pytest.mark.slow
def test_the_fan_in_action_puts_the_fan_out_legs_on_one_page(installed: Install, wheel: Path, fan_out: FanOut,
                                                              tmp_path: Path) -> None:
    run = run_action(FAN_IN, {"package": str(wheel)}, env=installed.env(), workdir=tmp_path,
                     artifacts=fan_out.artifacts)
    assert not run.failed, [(s.name, s.output[-2000:]) for s in run.steps if s.returncode]
    page = tmp_path / "posthog-contract-matrix" / "matrix.html"
    assert run.outputs["page"] == "posthog-contract-matrix/matrix.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "posthog-contract-broken" in html and "posthog-contract-clean" in html
    assert run.summary.startswith("## posthog-contract: 2 runs side by side")
    assert "| 1 | posthog-contract-broken | current | failed (exit 1) |" in run.summary
    assert (fan_out.artifacts / "posthog-contract-matrix" / "matrix.html").is_file()  # uploaded
