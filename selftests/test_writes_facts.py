"""The write facts the derived checks read (x-contract-write, read_back, effect) and the whole-state comparer.

Every field of every write's request body says what happens to it, every write says how it is read
back, and the write whose body stores nothing says what it changes: otherwise a new field or
operation would get no check, silently. No server is needed here.
"""

from __future__ import annotations

import pytest

from posthog_contract import contract, state, writes
from posthog_contract import operations as ops


def _bodies() -> list[ops.Operation]:
    return [op for op in writes.write_operations() if op.request_body]


@pytest.mark.parametrize("op", _bodies(), ids=lambda op: op.operation_id)
def test_every_field_of_every_write_body_states_its_fate(op):
    body = contract.load_schema(op.request_body)
    undeclared = [".".join(path) for path, prop in writes._facts_in(body, ()) if writes.FACTS_KEYWORD not in prop]
    assert not undeclared, f"{op.request_body}: fields without x-contract-write: {undeclared}"
    for fact in writes.field_facts(op):
        assert fact.fate in writes.FATES, f"{fact.test_id}: unknown fate {fact.fate!r}"
        assert fact.compare in writes.COMPARISONS, f"{fact.test_id}: unknown comparison {fact.compare!r}"
        if fact.fate in ("ignored", "input", "needs"):
            assert fact.why, f"{fact.test_id}: a field that is not stored says why (`why`)"
        if fact.fate == "stored":
            assert fact.value is not None or writes._types(fact.schema), f"{fact.test_id}: no value to send"


def _placeholders() -> dict[str, object]:
    return {"$name": "posthog-contract pcr0000000000 x", "$text": "text", "$collaborator": writes.ABSENT_UUID,
            "$tile": 1, "$destination": 2}


def test_a_stored_value_fits_its_own_request_schema_in_one_body():
    for op in _bodies():
        body = writes.example_body(op, _placeholders())
        assert contract.errors(body, op.request_body) == [], (op.operation_id, body)


def test_every_write_says_how_it_is_read_back_and_what_else_it_changes():
    for op in writes.write_operations():
        assert op.read_back and ops.by_id(op.read_back).method == "GET", f"{op.operation_id}: no read_back"
        stored = [f for f in writes.field_facts(op) if f.fate == "stored"]
        assert stored or op.effect is not None, (
            f"{op.operation_id} stores no body field and declares no effect: it would get no persistence check"
        )


def test_capture_is_left_to_its_own_module_and_every_keyed_operation_gets_a_401_check():
    assert not any(op.operation_id.startswith("capture") for op in writes.write_operations())
    keyed = {op.operation_id for op in writes.keyed_operations()}
    assert keyed == {op.operation_id for op in ops.OPERATIONS if op.scope is not None}


def test_read_only_fields_come_from_the_written_object_minus_the_body():
    op = ops.by_id("dashboards_partial_update")
    names = {fact.name for fact in writes.read_only_facts(op)}
    assert {"id", "created_at", "creation_mode", "is_shared", "team_id"} <= names
    assert not names & set(contract.load_schema("dashboard-write-body")["properties"])
    template = ops.by_id("dashboards_create_from_template_json_create")
    assert writes.read_only_facts(template) == ()  # its body is a template, not the dashboard


def test_a_value_no_host_produces_differs_from_the_current_one():
    op = ops.by_id("dashboards_partial_update")
    by_name = {fact.name: fact for fact in writes.read_only_facts(op)}
    assert writes.never_produced(by_name["is_shared"], False) is True
    assert writes.never_produced(by_name["creation_mode"], "default") not in ("default",)
    assert writes.never_produced(by_name["team_id"], 1) == writes.ABSENT_ID
    assert writes.never_produced(by_name["created_at"]) == "2001-02-03T04:05:06Z"


def test_per_operation_facts_override_the_field_default():
    create = {f.name: f for f in writes.field_facts(ops.by_id("dashboards_create"))}
    patch = {f.name: f for f in writes.field_facts(ops.by_id("dashboards_partial_update"))}
    assert create["variables"].fate == "ignored" and patch["variables"].fate == "stored"
    assert patch["variables"].read_as == ("persisted_variables",)
    assert patch["last_accessed_at"].read_via == "dashboards_list"
    assert patch["last_refresh"].compare == "instant"


def test_comparisons_read_what_the_host_may_respell():
    fact = {f.name: f for f in writes.field_facts(ops.by_id("dashboards_partial_update"))}
    assert writes.same(fact["last_refresh"], "2024-03-04T05:06:08.456000Z", "2024-03-04T05:06:08.456+00:00")
    assert not writes.same(fact["last_refresh"], "2024-03-04T05:06:08Z", None)
    assert writes.same(fact["tags"], ["b", "a"], ["a", "b"])
    tiles = [{"text": {"body": "t"}, "color": "blue", "layouts": {"sm": {}}}]
    assert writes.same(fact["tiles"], tiles, [{"id": 1, "text": {"id": 2, "body": "t"}, "color": "blue",
                                               "layouts": {"sm": {}}}])
    assert not writes.same(fact["tiles"], tiles, [{"id": 1, "text": {"id": 2, "body": "t"}, "color": None,
                                                   "layouts": {"sm": {}}}])


def test_a_path_reads_into_objects():
    assert writes.read_path({"user": {"uuid": "u"}}, "user.uuid") == "u"
    with pytest.raises(KeyError):
        writes.read_path({"user": {}}, "user.uuid")


# --- whole states ----------------------------------------------------------------------------------------


def _dashboard(tiles, **fields):
    return {"id": 1, "name": "d", "last_accessed_at": "2024-01-01T00:00:00Z", "tiles": tiles, **fields}


def test_a_state_keys_tiles_and_collaborators_and_drops_what_a_read_changes():
    snap = state.snapshot({
        "dashboard": _dashboard([{"id": 5, "order": 0, "color": "blue"}]),
        "collaborators": [{"user": {"uuid": "u1"}, "level": 37}],
    })
    assert snap["dashboard"]["tiles"] == {"5": {"id": 5, "color": "blue"}}
    assert "last_accessed_at" not in snap["dashboard"]
    assert snap["collaborators"] == {"u1": {"user": {"uuid": "u1"}, "level": 37}}


def test_a_move_is_judged_on_both_dashboards_and_the_tile_as_it_left():
    tile = {"id": 5, "color": "blue", "layouts": {"sm": {"x": 0}}, "text": {"id": 9, "body": "t"}}
    before = state.snapshot({"dashboard": _dashboard([tile, {"id": 6, "color": None}]),
                             "destination": _dashboard([], id=2)})
    effect = {"dashboard.tiles[tile]": "removed", "destination.tiles[tile]": "added"}
    good = state.snapshot({"dashboard": _dashboard([{"id": 6, "color": None}]),
                           "destination": _dashboard([tile], id=2)})
    expected, missed = state.expected_after(before, good, effect, {"tile": 5})
    assert not missed and state.differences(expected, good) == []
    reset = state.snapshot({"dashboard": _dashboard([{"id": 6, "color": None}]),
                            "destination": _dashboard([{**tile, "color": None}], id=2)})
    expected, missed = state.expected_after(before, reset, effect, {"tile": 5})
    assert state.differences(expected, reset) == ["destination.tiles.5.color: expected 'blue', got None"]
    every = state.snapshot({"dashboard": _dashboard([]), "destination": _dashboard([tile, {"id": 6, "color": None}],
                                                                                    id=2)})
    expected, missed = state.expected_after(before, every, effect, {"tile": 5})
    assert state.differences(expected, every) == [
        "dashboard.tiles.6: missing (expected {'id': 6, 'color': None})",
        "destination.tiles.6: unexpected {'id': 6, 'color': None}",
    ]


def test_a_change_that_does_not_happen_is_reported():
    before = state.snapshot({"sharing": {"access_token": "a", "created_at": "2024-01-01T00:00:00Z", "enabled": True}})
    same = state.snapshot({"sharing": {"access_token": "a", "created_at": "2024-01-01T00:00:00Z", "enabled": True}})
    _, missed = state.expected_after(before, same, {"sharing.access_token": "changes"}, {})
    assert missed and "sharing.access_token changes" in missed[0]


def test_instants_compare_as_instants():
    assert state.differences({"t": "2024-01-01T00:00:00Z"}, {"t": "2024-01-01T00:00:00.000+00:00"}) == []
    assert state.differences({"a": 1}, {"a": 1, "b": 2}) == ["b: unexpected 2"]
