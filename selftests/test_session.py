"""One owner for the run (issue 21): a ContractSession, and no module-level run state in the library.

Two sessions in one process do not mix: each counts its own requests, logs its own outcomes, scrubs
its own keys and judges under its own release baseline; two property-based runs in one process act
each for their own schema. A static check keeps it so: no ``global`` statement and no module-level
instance of a library class or empty mutable container outside the reference server.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import httpx
import pytest

from posthog_contract import assertions
from posthog_contract.config import Settings
from posthog_contract.session import ContractSession

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "src" / "posthog_contract"
OLDER_USER = json.loads((ROOT / "selftests" / "data" / "posthog" / "user-basic-2021.json").read_text())
KEY_A, KEY_B = "phx_sessionA0000000000000000000000000000000", "phx_sessionB0000000000000000000000000000000"


def _answer_with(body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json=body, request=request))


def _started(key: str, environ: dict[str, str], **settings: object) -> ContractSession:
    session = ContractSession(environ=environ)
    session.start(Settings(base_url="http://127.0.0.1:9", personal_api_key=key, project_id="1", **settings))
    return session


def test_two_sessions_in_one_process_do_not_mix() -> None:
    older = OLDER_USER["_source"]["baseline"]
    a = _started(KEY_A, {})
    b = _started(KEY_B, {"POSTHOG_PROJECT_API_KEY": "phc_onlyb0000000000000000000000000000000"}, baseline=older)
    client_a = a.new_client(transport=_answer_with(OLDER_USER["payload"]))
    client_b = b.new_client(transport=_answer_with(OLDER_USER["payload"]))
    try:
        answers_a = [client_a.get("/api/users/@me/") for _ in range(3)]
        answer_b = client_b.get("/api/users/@me/")
        assert (a.ledger.sent, b.ledger.sent) == (3, 1), "each session counts only its own requests"

        # the same body, judged by each run under its own baseline (contract §11)
        with pytest.raises(AssertionError, match="Contract rule broken"):
            assertions.expect_shape(answers_a[-1], 200, "user-basic")
        assertions.expect_shape(answer_b, 200, "user-basic")
        assert [e.kind for e in b.log.entries] == ["warning"] and "version finding" in b.log.entries[0].message
        assert a.log.entries == [], "a finding of one run is not another run's"

        a.log.warn("only a")
        assert [e.message for e in b.log.entries if e.message == "only a"] == []
        assert KEY_A in a.redactor.secrets and KEY_A not in b.redactor.secrets
        only_b = "phc_onlyb0000000000000000000000000000000"
        assert only_b in b.redactor.secrets and only_b not in a.redactor.secrets
        assert a.redactor.text(f"x {KEY_B} y") == f"x {KEY_B} y" and KEY_B not in b.redactor.text(f"x {KEY_B} y")
    finally:
        client_a.close()
        client_b.close()
        a.close()
        b.close()


def test_a_session_says_which_step_is_missing() -> None:
    session = ContractSession(environ={})
    with pytest.raises(RuntimeError, match="ContractSession.start comes first"):
        _ = session.settings
    session.start(Settings(base_url="http://127.0.0.1:9", personal_api_key=KEY_A, project_id="1"))
    with pytest.raises(RuntimeError, match="ContractSession.connect"):
        _ = session.client
    session.close()
    session.close()  # twice is safe


def test_two_property_based_runs_act_each_for_their_own_schema() -> None:
    from posthog_contract import property_based

    runs, schemas = [], []
    for project, key in (("7", KEY_A), ("8", KEY_B)):
        settings = Settings(base_url="http://127.0.0.1:9", personal_api_key=key, project_id=project, seed=5,
                            embedded=True)
        run = property_based.new_run(settings, pool=(101,))
        runs.append(run)
        schemas.append(property_based.load_schema(settings, run))
    try:
        for run, schema in zip(runs, schemas, strict=True):
            operation = schema["/api/projects/{project_id}/dashboards/{id}/"]["GET"]
            case = operation.Case(path_parameters={"project_id": run.project_id, "id": 5})
            assert property_based.run_of(case) is run and property_based.run_of(schema) is run
            assert property_based.steer(case).path_parameters["project_id"] == run.project_id
            clone = schema.clone()  # schemathesis' pytest integration works on clones
            assert property_based.run_of(clone) is run and clone.transport is schema.transport
        assert schemas[0].transport is not schemas[1].transport
    finally:
        for run in runs:
            run.session.close()


# --- no run state at module level ---------------------------------------------------------------------


def _library_modules() -> list[Path]:
    return sorted(p for p in LIBRARY.rglob("*.py") if "reference" not in p.relative_to(LIBRARY).parts)


def _immutable(node: ast.ClassDef) -> bool:
    """A NamedTuple, an Enum, a frozen dataclass or a bare marker class (a sentinel: no fields, no
    ``__init__``): an instance of it is a constant, not state."""
    bases = {ast.unparse(base) for base in node.bases}
    frozen = any(
        isinstance(d, ast.Call) and any(k.arg == "frozen" and ast.unparse(k.value) == "True" for k in d.keywords)
        for d in node.decorator_list
    )
    sentinel = not node.bases and not node.decorator_list and not any(
        isinstance(item, ast.AnnAssign | ast.Assign)
        or (isinstance(item, ast.FunctionDef) and item.name in ("__init__", "__new__", "__setattr__"))
        for item in node.body
    )
    return frozen or sentinel or bool(bases & {"NamedTuple", "Enum", "tuple"})


def _library_classes(modules: list[Path]) -> set[str]:
    """The library's classes whose instances hold state."""
    return {
        node.name
        for path in modules
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and not _immutable(node)
    }


#: module-level instances that hold no state: a sentinel
_STATELESS = {"DEFAULT"}


def test_the_library_keeps_no_run_state_at_module_level() -> None:
    modules = _library_modules()
    classes = _library_classes(modules)
    found = []
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(ROOT)
        found += [f"{where}:{node.lineno}: global {', '.join(node.names)}" for node in ast.walk(tree)
                  if isinstance(node, ast.Global)]
        for node in tree.body:
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            value = node.value
            empty = (isinstance(value, ast.List | ast.Dict | ast.Set) and not getattr(value, "elts", None)
                     and not getattr(value, "keys", None)) or (
                isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                and value.func.id in ("list", "dict", "set") and not value.args)
            instance = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in classes
            if (empty or instance) and not set(names) <= _STATELESS:
                found.append(f"{where}:{node.lineno}: {', '.join(names)} = {ast.unparse(value)}")
    assert not found, "module-level run state (give it to ContractSession instead):\n" + "\n".join(found)
