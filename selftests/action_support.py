"""Run a composite GitHub Action's steps on this machine, the way the runner would (for test_action.py).

Each ``run:`` step runs in order under GitHub's own shell line (``bash --noprofile --norc -eo pipefail``)
with its ``env:`` evaluated from the inputs, ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files and the
step conditions (``always()``, ``cancelled()``, ``failure()``, ``success()``, comparisons, ``&&``,
``||``, ``!``) evaluated like the runner. ``uses:`` steps are stood in for: setup-python is the
Python already on PATH, upload-artifact copies the path into an artifact store (a folder per artifact
name) and download-artifact copies the artifacts whose names match the pattern back out.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_STATUS_FUNCTIONS = ("always()", "cancelled()", "failure()", "success()")
_TOKENS = re.compile(r"'(?:[^']|'')*'|&&|\|\||==|!=|!|\(|\)|[A-Za-z_][\w.-]*\(\)|[A-Za-z_][\w.-]*|\S")
#: the `uses:` this runner stands in for, and the major versions the actions may name
KNOWN_ACTIONS = ("actions/setup-python@v5", "actions/upload-artifact@v4", "actions/download-artifact@v4")


@dataclass
class Step:
    name: str
    ran: bool
    returncode: int = 0
    output: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    uses: str | None = None
    cancelled: bool = False


@dataclass
class ActionRun:
    steps: list[Step]
    outputs: dict[str, str]
    summary: str

    def step(self, name: str) -> Step:
        (found,) = [s for s in self.steps if s.name == name]
        return found

    @property
    def failed(self) -> bool:
        return any(s.ran and s.returncode != 0 for s in self.steps)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class Expressions:
    """GitHub's expression language, the part actions use: contexts, literals, ==, !=, &&, ||, !."""

    def __init__(self, contexts: Mapping[str, Any], *, cancelled: bool, failed: bool) -> None:
        self.contexts, self.cancelled, self.failed = contexts, cancelled, failed

    def lookup(self, path: str) -> Any:
        value: Any = self.contexts
        for part in path.split("."):
            value = value.get(part, "") if isinstance(value, Mapping) else ""
        return value

    def evaluate(self, expression: str) -> Any:
        python, names = [], {}
        tokens = re.findall(_TOKENS, expression)
        for token in tokens:
            if token.startswith("'"):
                python.append(repr(token[1:-1].replace("''", "'")))
            elif token in ("&&", "||", "!"):
                python.append({"&&": " and ", "||": " or ", "!": " not "}[token])
            elif token in ("==", "!=", "(", ")"):
                python.append(f" {token} ")
            elif token in _STATUS_FUNCTIONS:
                python.append(repr({"always()": True, "cancelled()": self.cancelled, "failure()": self.failed,
                                    "success()": not (self.failed or self.cancelled)}[token]))
            elif token in ("true", "false"):
                python.append(repr(token == "true"))
            elif re.fullmatch(r"[A-Za-z_][\w.-]*", token):
                names[f"_v{len(names)}"] = self.lookup(token)
                python.append(f"_v{len(names) - 1}")
            else:
                raise ValueError(f"unsupported token {token!r} in {expression!r}")
        return eval("".join(python), {"__builtins__": {}}, names)  # noqa: S307 - our own action's expressions

    def condition(self, expression: str | None) -> bool:
        text = (expression or "success()").strip().removeprefix("${{").removesuffix("}}").strip()
        if not any(function in text for function in _STATUS_FUNCTIONS):
            text = f"success() && ({text})"
        return bool(self.evaluate(text))

    def substitute(self, text: str) -> str:
        return _EXPRESSION.sub(lambda match: str(self.evaluate(match.group(1))), str(text))


def run_action(
    action_dir: Path,
    inputs: Mapping[str, str],
    *,
    env: Mapping[str, str],
    workdir: Path,
    artifacts: Path,
    cancel: tuple[str, Callable[[], bool]] | None = None,
    timeout: float = 900,
) -> ActionRun:
    """Run the composite action in ``action_dir`` with ``inputs`` (defaults from action.yml for the rest).

    ``cancel=(step name, ready)``: cancel the job during that step once ``ready()`` is true, as a runner
    does on "Cancel workflow" (the step's processes are killed; later steps see ``cancelled()``).
    """
    action = load(action_dir / "action.yml")
    values = {name: str(spec.get("default", "")) for name, spec in (action.get("inputs") or {}).items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"inputs the action does not declare: {sorted(unknown)}"
    values.update(inputs)
    runner_temp = workdir / "_runner_temp"
    runner_temp.mkdir(parents=True, exist_ok=True)
    summary = workdir / "_step_summary.md"
    summary.touch()
    contexts: dict[str, Any] = {"inputs": values, "steps": {}, "github": {"action_path": str(action_dir)},
                                "runner": {"temp": str(runner_temp)}}
    steps: list[Step] = []
    failed = cancelled = False
    for index, spec in enumerate(action["runs"]["steps"]):
        name = spec.get("name") or spec.get("uses") or f"step {index}"
        expressions = Expressions(contexts, cancelled=cancelled, failed=failed)
        if not expressions.condition(spec.get("if")):
            steps.append(Step(name, ran=False, uses=spec.get("uses")))
            continue
        if "uses" in spec:
            step = _stand_in(spec, expressions, workdir, artifacts)
            step.name = name
        else:
            step = _run_step(spec, expressions, env, workdir, summary, action_dir,
                             cancel[1] if cancel and cancel[0] == name else None, timeout)
            step.name = name
        steps.append(step)
        if spec.get("id"):
            contexts["steps"][spec["id"]] = {"outputs": step.outputs}
        cancelled = cancelled or step.cancelled
        failed = failed or (step.returncode != 0 and not step.cancelled)
    final = Expressions(contexts, cancelled=cancelled, failed=failed)
    outputs = {name: final.substitute(spec["value"]) for name, spec in (action.get("outputs") or {}).items()}
    return ActionRun(steps, outputs, summary.read_text(encoding="utf-8"))


def _run_step(
    spec: Mapping[str, Any],
    expressions: Expressions,
    env: Mapping[str, str],
    workdir: Path,
    summary: Path,
    action_dir: Path,
    cancel_when: Callable[[], bool] | None,
    timeout: float,
) -> Step:
    assert spec.get("shell") == "bash", f"a composite run step must name its shell: {spec.get('name')}"
    output_file = workdir / f"_output_{abs(hash(spec['run']))}"
    output_file.write_text("", encoding="utf-8")
    environment = dict(env)
    environment.update({key: expressions.substitute(value) for key, value in (spec.get("env") or {}).items()})
    environment.update(GITHUB_OUTPUT=str(output_file), GITHUB_STEP_SUMMARY=str(summary),
                       GITHUB_ACTION_PATH=str(action_dir), CI="true", GITHUB_ACTIONS="true")
    log = workdir / f"_log_{abs(hash(spec['run']))}"
    with open(log, "wb") as sink:
        process = subprocess.Popen([*SHELL, spec["run"]], cwd=workdir, env=environment, stdout=sink,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        cancelled = False
        deadline = time.monotonic() + timeout
        while process.poll() is None:
            if cancel_when is not None and cancel_when():
                os.killpg(process.pid, signal.SIGKILL)  # the harshest cancel: nothing of the run's own cleanup runs
                cancelled = True
            elif time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                raise TimeoutError(f"step {spec.get('name')} took more than {timeout} s")
            time.sleep(0.1)
    outputs = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines() if "=" in line)
    return Step("", ran=True, returncode=process.returncode, output=log.read_text(encoding="utf-8", errors="replace"),
                outputs=outputs, cancelled=cancelled)


def _stand_in(spec: Mapping[str, Any], expressions: Expressions, workdir: Path, artifacts: Path) -> Step:
    uses = spec["uses"]
    assert uses in KNOWN_ACTIONS, f"this runner does not stand in for {uses}"
    given = {key: expressions.substitute(value) for key, value in (spec.get("with") or {}).items()}
    if uses.startswith("actions/upload-artifact"):
        source = workdir / given["path"]
        target = artifacts / given["name"]
        assert not target.exists(), f"artifact {given['name']} uploaded twice in one workflow run"
        if source.exists():
            shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
    elif uses.startswith("actions/download-artifact"):
        destination = Path(given["path"])
        for artifact in sorted(artifacts.iterdir()):
            if fnmatch.fnmatchcase(artifact.name, given.get("pattern", "*")):
                shutil.copytree(artifact, destination / artifact.name)
    return Step("", ran=True, uses=uses, output=str(given))
