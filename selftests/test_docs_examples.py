"""PostHog's documentation examples against the contract.

Every ``Status 200`` JSON example in the documentation excerpt the project started from is
validated against the shape the catalogue gives its operation. Examples that pass must pass. The
documented examples that are wrong (contract §10, §11) are pinned: each test asserts the example IS
rejected, with exactly the expected errors, and that correcting only what the spec names makes it
valid, so the schemas reject the documentation for the stated reasons and no others.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from posthog_contract import contract, operations

EXCERPT = Path(
    os.environ.get("POSTHOG_DOCS_EXCERPT")
    or Path(__file__).resolve().parent / "data" / "posthog-api-docs-excerpt.txt"
)
# a copy of the project's seed documentation (shared/seed/) kept in the repo, so CI always has it

UUID = "095be615-a8ad-4c33-8e9c-c7612fbf6c9f"
DOCS_PREFIX = "/api/environments/:project_id"


@dataclass(frozen=True)
class DocOperation:
    """One documented operation as the excerpt shows it (the excerpt repeats each block twice)."""

    title: str
    method: str
    path: str  # suffix after the prefix, placeholders as {}
    status: int
    no_body: bool
    example: Any  # the parsed JSON example, or None
    request_params: tuple[str, ...]
    query_params: tuple[tuple[str, str], ...]  # (name, documented type)


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def parse_excerpt(text: str) -> list[DocOperation]:
    """Split the excerpt into operation blocks: title, params, URL line, curl line, Status line."""
    lines = text.splitlines()
    found: dict[tuple[str, str], DocOperation] = {}
    start = 0
    for index, line in enumerate(lines):
        if not line.startswith("Status "):
            continue
        block = lines[start:index]
        url = next(item for item in block if item.startswith("/api "))
        curl = next(item for item in block if item.startswith("export POSTHOG"))
        method_match = re.search(r"-X (\w+)", curl)
        method = method_match.group(1) if method_match else ("POST" if "-d " in curl else "GET")
        suffix = url.replace(" ", "").removeprefix(DOCS_PREFIX)
        path = _normalise(re.sub(r":\w+", "{}", suffix).rstrip("/") + "/")
        status_match = re.match(r"Status (\d+)(.*)", line)
        assert status_match, line
        following = lines[index + 1] if index + 1 < len(lines) else ""
        example = json.loads(following) if following.startswith("{") else None
        section = _section(block, "Request parameters")
        query = _section(block, "Query parameters")
        found.setdefault(
            (method, path),
            DocOperation(
                title=next(item for item in block if not item.startswith("For instructions")),
                method=method,
                path=path,
                status=int(status_match.group(1)),
                no_body="No response body" in status_match.group(2),
                example=example,
                request_params=tuple(_param_name(item)[0] for item in section),
                query_params=tuple(_param_name(item) for item in query),
            ),
        )
        start = index + (2 if example is not None else 1)
    return list(found.values())


_TYPES = ("string", "integer", "boolean", "array")


def _section(block: list[str], heading: str) -> list[str]:
    """The ``- name<type>`` items under a heading, up to the URL line."""
    if heading not in block:
        return []
    items = []
    for item in block[block.index(heading) + 1 :]:
        if item.startswith("/api "):
            break
        match = re.match(r"(?:\. )?- (.+)", item)  # one item is glued to the previous text: ". - format…"
        if match:
            items.append(match.group(1))
    return items


def _param_name(item: str) -> tuple[str, str]:
    """``"distinct_idinteger"`` -> ``("distinct_id", "integer")`` (the excerpt glues name and type)."""
    for type_name in _TYPES:
        if item.endswith(type_name):
            return item.removesuffix(type_name), type_name
    head = item.split(" ", 1)[0]
    if head.endswith("stringOne"):  # "formatstringOne of:"
        return head.removesuffix("stringOne"), "string"
    return item, ""


DOCS = parse_excerpt(EXCERPT.read_text(encoding="utf-8"))


def catalogue_entry(doc: DocOperation) -> operations.Operation:
    """The catalogue operation the documentation block describes (same method and path)."""
    matches = [
        op
        for op in operations.OPERATIONS
        if op.prefixed and op.method == doc.method and _normalise(op.path) == doc.path
    ]
    assert len(matches) == 1, (doc.method, doc.path, matches)
    return matches[0]


def doc(method: str, path: str) -> DocOperation:
    (found,) = [item for item in DOCS if item.method == method and item.path == path]
    return found


# --- the documented operations and the catalogue --------------------------------------------------


def test_excerpt_documents_exactly_the_catalogue_documented_operations() -> None:
    """Spec §0.1 is the documented set: every excerpt block maps to a documented catalogue entry."""
    entries = {catalogue_entry(item).operation_id for item in DOCS}
    assert entries == {op.operation_id for op in operations.documented_operations()}
    assert len(DOCS) == 9


@pytest.mark.parametrize("item", DOCS, ids=lambda item: f"{item.method} {item.path}")
def test_documented_success_status_is_the_catalogue_status(item: DocOperation) -> None:
    """The docs are right about status codes, including DELETE's 405 and the template's 200."""
    assert catalogue_entry(item).success_status == item.status


# Spec §10: documented "No response body", but PostHog returns the (source) dashboard.
BODY_DESPITE_DOCS = {
    ("PATCH", "/dashboards/{}/move_tile/"): "dashboard",
    ("POST", "/dashboards/create_from_template_json/"): "dashboard",
}


@pytest.mark.parametrize("item", [d for d in DOCS if d.no_body], ids=lambda item: f"{item.method} {item.path}")
def test_no_response_body_claims(item: DocOperation) -> None:
    """Empty bodies stay empty (204, DELETE 405); move_tile and the template return a Dashboard."""
    expected = BODY_DESPITE_DOCS.get((item.method, item.path))
    assert catalogue_entry(item).success_shape == expected


# --- the Status 200 examples ----------------------------------------------------------------------


def _example_ids(item: DocOperation) -> str:
    return f"{item.method} {item.path}"


EXAMPLES = [item for item in DOCS if item.example is not None]

PRE_BASELINE_DASHBOARD_FIELDS = (
    "breakdown_colors",
    "data_color_theme_id",
    "last_accessed_at",
    "last_refresh",
    "last_viewed_at",
    "persisted_filters",
    "persisted_variables",
    "team_id",
)
FREE_FORM_TILE = tuple(
    f"$.tiles[0]: '{field}' is a required property" for field in ("color", "id", "insight", "layouts", "text")
)
DASHBOARD_EXAMPLE_ERRORS = {
    *(f"$: '{field}' is a required property" for field in PRE_BASELINE_DASHBOARD_FIELDS),
    "$.tags[0]: None is not of type 'string'",
    *FREE_FORM_TILE,
}
STRING_TYPED_EVENT = (
    "elements: 'string' is not of type 'array'",
    "id: 'string' is not a 'uuid'",
    "person: 'string' is not of type 'object', 'null'",
    "properties: 'string' is not of type 'object'",
    "timestamp: 'string' is not a 'date-time'",
)

# Why each documented example is rejected (contract §10 / §11), as the exact errors it must produce.
DOC_ERRORS: dict[tuple[str, str], tuple[str, set[str]]] = {
    ("GET", "/dashboards/{}/sharing/"): (
        "§10/§11 sharing fields: the example shows only created_at/enabled/access_token (pre-baseline); "
        "settings, password_required and share_passwords are R",
        {f"$: '{field}' is a required property" for field in ("password_required", "settings", "share_passwords")},
    ),
    ("GET", "/dashboards/{}/"): (
        "§10 dashboard example: tags [null] are strings, tiles are Tile objects not free-form; §11 it predates "
        "the baseline fields (team_id, last_*, breakdown_colors, data_color_theme_id, persisted_*)",
        DASHBOARD_EXAMPLE_ERRORS,
    ),
    ("PATCH", "/dashboards/{}/"): ("same example as the retrieve", DASHBOARD_EXAMPLE_ERRORS),
    ("GET", "/events/"): (
        "§10 event properties/person/elements are object/object-or-null/array, not strings; id is a UUID and "
        "timestamp ISO 8601 with offset (the example uses the literal 'string')",
        {f"$.results[0].{error}" for error in STRING_TYPED_EVENT},
    ),
    ("GET", "/events/{}/"): ("same as an events list item", {f"$.{error}" for error in STRING_TYPED_EVENT}),
}


def test_every_example_has_a_verdict() -> None:
    """A new example in the excerpt must be judged here, not silently skipped."""
    assert {(item.method, item.path) for item in EXAMPLES} == set(DOC_ERRORS)


@pytest.mark.parametrize("item", EXAMPLES, ids=_example_ids)
def test_documented_example_is_judged_for_the_stated_reasons(item: DocOperation) -> None:
    """Exactly the spec's reasons make the example fail; an example with none must pass."""
    shape = catalogue_entry(item).success_shape
    assert shape is not None
    reason, expected = DOC_ERRORS[(item.method, item.path)]
    assert set(contract.errors(item.example, shape)) == expected, reason


def _fix_sharing(body: dict[str, Any]) -> None:
    body.update(settings=None, password_required=False, share_passwords=[])


def _fix_dashboard(body: dict[str, Any]) -> None:
    body["tags"] = ["string"]
    body["tiles"] = [{"id": 1, "insight": None, "text": {"id": 1, "body": "b"}, "layouts": {}, "color": None}]
    body.update(dict.fromkeys(PRE_BASELINE_DASHBOARD_FIELDS))
    body.update(team_id=1, breakdown_colors=[])


def _fix_event(event: dict[str, Any]) -> None:
    event.update(id=UUID, properties={}, person=None, elements=[], timestamp="2019-08-24T14:15:22+00:00")


def _fix_event_page(body: dict[str, Any]) -> None:
    for event in body["results"]:
        _fix_event(event)


FIXES: dict[tuple[str, str], Callable[[dict[str, Any]], None]] = {
    ("GET", "/dashboards/{}/sharing/"): _fix_sharing,
    ("GET", "/dashboards/{}/"): _fix_dashboard,
    ("PATCH", "/dashboards/{}/"): _fix_dashboard,
    ("GET", "/events/"): _fix_event_page,
    ("GET", "/events/{}/"): _fix_event,
}


@pytest.mark.parametrize("item", EXAMPLES, ids=_example_ids)
def test_example_corrected_as_the_spec_says_is_valid(item: DocOperation) -> None:
    """Correcting only the documented errors yields a valid body: nothing else in the example is
    rejected (e.g. the X inputs use_template/use_dashboard/delete_insights, any user_access_level
    string, the example's created_by, the offset-style events next)."""
    body = copy.deepcopy(item.example)
    FIXES[(item.method, item.path)](body)
    shape = catalogue_entry(item).success_shape
    assert shape is not None
    assert contract.errors(body, shape) == []


def test_dashboard_example_write_only_inputs_and_free_strings_are_tolerated() -> None:
    """§10: use_template/use_dashboard/delete_insights are never returned but tolerated; §11:
    user_access_level and access_control_version accept any string."""
    example = doc("GET", "/dashboards/{}/").example
    assert {"use_template", "use_dashboard", "delete_insights"} <= set(example)
    paths = {line.split(":", 1)[0] for line in contract.errors(example, "dashboard")}
    for field in ("use_template", "use_dashboard", "delete_insights", "user_access_level", "access_control_version"):
        assert f"$.{field}" not in paths


def test_events_example_next_is_offset_style_but_schema_valid() -> None:
    """§10: the documented `next` pages by offset on a foreign path. It is an absolute URI, so the
    schema accepts it; the keyset rules of §7.4 are the pagination checks' job, not the schema's."""
    example = doc("GET", "/events/").example
    assert not [line for line in contract.errors(example, "event-list-page") if line.startswith("$.next")]
    assert "offset" in parse_qs(urlsplit(example["next"]).query)


# --- documented request and query parameters ------------------------------------------------------


def test_documented_dashboard_update_parameters_are_writable() -> None:
    """Every documented PATCH field is in the write body with the documented type family."""
    body = contract.load_schema("dashboard-write-body")["properties"]
    documented = doc("PATCH", "/dashboards/{}/").request_params
    assert set(documented) == {
        "name",
        "description",
        "pinned",
        "deleted",
        "use_template",
        "use_dashboard",
        "delete_insights",
        "tags",
        "restriction_level",
    }
    assert set(documented) <= set(body)
    assert contract.errors({"name": "string"}, "dashboard-write-body") == []  # the documented curl -d


@pytest.mark.parametrize(
    ("method", "path", "shape"),
    [
        ("PATCH", "/dashboards/{}/move_tile/", "move-tile-body"),
        ("POST", "/dashboards/create_from_template_json/", "create-from-template-json-body"),
    ],
)
def test_documented_dashboard_body_is_not_what_the_action_reads(method: str, path: str, shape: str) -> None:
    """§10: move_tile and create_from_template_json are documented with the dashboard body
    (curl -d name="string"); the real bodies are {tile, to_dashboard} and {template}."""
    item = doc(method, path)
    assert "name" in item.request_params
    assert catalogue_entry(item).request_body == shape
    assert contract.errors({"name": "string"}, shape)


def test_documented_events_query_parameters() -> None:
    """§10: distinct_id and person_id are documented as integers but are strings; properties is one
    JSON string, not exploded objects; select/where are ignored and deliberately not declared."""
    documented = dict(doc("GET", "/events/").query_params)
    assert documented["distinct_id"] == "integer"
    assert documented["person_id"] == "integer"
    assert documented["properties"] == "array"
    assert documented["format"] == "string"
    declared = {param.name: param for param in operations.by_id("events_list").query_params}
    assert set(documented) - {"select", "where"} <= set(declared)
    assert declared["distinct_id"].schema["type"] == "string"
    assert declared["person_id"].schema["type"] == "string"
    assert declared["properties"].media_type == "application/json"
    assert declared["format"].schema["enum"] == ["json", "csv"]
