"""The schema view behind the field inventory and the drift check (posthog_contract.report.shapes)."""

from __future__ import annotations

from posthog_contract.report.shapes import accepts, contract_node, document_node, observe


def inventory(instance: object, shape: str) -> tuple[set[str], set[str]]:
    seen: set[str] = set()
    undocumented: set[str] = set()
    observe(instance, [contract_node(shape)], "", seen, undocumented)
    return seen, undocumented


def test_contract_views_follow_refs_and_all_of() -> None:
    view = contract_node("dashboard").object_view()  # dashboard.json = allOf dashboard-common + detail fields
    assert {"team_id", "tiles", "created_by", "filters"} <= set(view.properties)
    assert {"team_id", "tiles"} <= view.required and "quick_filter_ids" not in view.required
    created_by = view.properties["created_by"][0]
    assert created_by.types() == frozenset({"object", "null"})
    assert "uuid" in created_by.object_view().properties  # through anyOf -> user-basic.json
    assert view.properties["restriction_level"][0].types() == frozenset({"integer"})  # enum in another file
    assert view.properties["breakdown_colors"][0].types() is None  # any value


def test_inventory_lists_documented_fields_and_the_undocumented_keys() -> None:
    body = {
        "id": 1,
        "team_id": 2,
        "brand_new": True,
        "created_by": {"uuid": "u", "shoe_size": 42},
        "filters": {"date_from": "-7d"},
        "tiles": [{"id": 3, "insight": {"id": 4, "short_id": "abc"}}],
    }
    seen, undocumented = inventory(body, "dashboard")
    assert {"id", "team_id", "created_by.uuid", "tiles[].id", "tiles[].insight.id"} <= seen
    assert undocumented == {"brand_new", "created_by.shoe_size", "tiles[].insight.short_id"}
    assert not any(path.startswith("filters.") for path in seen)  # free-form: data, not fields


def test_inventory_of_pages_and_bare_arrays() -> None:
    seen, undocumented = inventory({"count": 1, "next": None, "previous": None, "results": [{"id": 1, "x": 1}]},
                                   "dashboard-list-page")
    assert "results[].id" in seen and undocumented == {"results[].x"}
    seen, undocumented = inventory([{"id": "c", "user": {"uuid": "u", "extra": 1}}], "collaborator-list")
    assert "[].user.uuid" in seen and undocumented == {"[].user.extra"}


def test_openapi_nodes_read_nullable_and_drf_spectacular_refs() -> None:
    document = {
        "components": {
            "schemas": {
                "UserBasic": {"type": "object", "properties": {"uuid": {"type": "string"}}},
                "LevelEnum": {"enum": [21, 37], "type": "integer"},
                "NullEnum": {"enum": [None]},
                "Thing": {
                    "type": "object",
                    "properties": {
                        "created_by": {"allOf": [{"$ref": "#/components/schemas/UserBasic"}], "nullable": True},
                        "level": {"oneOf": [{"$ref": "#/components/schemas/LevelEnum"},
                                            {"$ref": "#/components/schemas/NullEnum"}]},
                        "when": {"type": "string", "format": "date-time", "nullable": True},
                    },
                },
            }
        }
    }
    thing = document_node(document, {"$ref": "#/components/schemas/Thing"})
    assert thing.label() == "Thing"
    properties = thing.object_view().properties
    created_by = properties["created_by"][0]
    assert created_by.types() == frozenset({"object", "null"}) and created_by.label() == "UserBasic"
    assert properties["level"][0].types() == frozenset({"integer", "null"})
    assert properties["when"][0].types() == frozenset({"string", "null"})


def test_accepts_treats_integers_as_numbers_and_none_as_any() -> None:
    assert accepts(frozenset({"number"}), frozenset({"integer"}))
    assert not accepts(frozenset({"integer"}), frozenset({"number"}))
    assert accepts(None, frozenset({"string"})) and not accepts(frozenset({"string"}), None)
