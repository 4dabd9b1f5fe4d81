"""Schema drift: a host's /api/schema/ against the contract (posthog_contract.report.drift), and the
reference server's own /api/schema/ (reference/schema_doc.py) against its real answers."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from report_support import run_cli

from posthog_contract import embedded
from posthog_contract.client import ContractClient
from posthog_contract.redaction import Redactor
from posthog_contract.reference import mutants, schema_doc
from posthog_contract.report import drift

DASHBOARD_PATH = "/api/environments/{environment_id}/dashboards/{id}/"
SHARING_PATH = "/api/environments/{environment_id}/dashboards/{dashboard_id}/sharing/"


@pytest.fixture
def clean_document() -> dict[str, Any]:
    return schema_doc.document()


@pytest.fixture
def mutant_document() -> Iterator[dict[str, Any]]:
    mutants.activate([schema_doc.DROPS_TEAM_ID])
    try:
        yield schema_doc.document()
    finally:
        mutants.activate([])


def findings(result: drift.DriftResult) -> dict[tuple[str, str, str], drift.Finding]:
    return {finding.key: finding for finding in result.findings}


def test_the_reference_document_shows_no_significant_drift(clean_document: dict[str, Any]) -> None:
    result = drift.compare(clean_document)
    assert result.compared and result.significant == []
    documented = {"dashboards_retrieve", "dashboards_partial_update", "dashboards_move_tile_partial_update",
                  "dashboards_create_from_template_json_create", "dashboards_sharing_list", "events_list",
                  "events_retrieve"}
    assert documented <= set(result.operations_compared)


def test_a_removed_required_field_is_significant(mutant_document: dict[str, Any]) -> None:
    result = drift.compare(mutant_document)
    found = findings(result)
    assert {("Dashboard", "team_id", "removed"), ("DashboardBasic", "team_id", "removed")} <= {
        f.key for f in result.significant}
    assert "dashboards_retrieve" in found["Dashboard", "team_id", "removed"].operations
    assert "Dashboard.team_id" in result.describe(only_significant=True)


def test_retyped_and_added_fields(clean_document: dict[str, Any]) -> None:
    document = copy.deepcopy(clean_document)
    dashboard = document["components"]["schemas"]["Dashboard"]["properties"]
    dashboard["team_id"] = {"type": "string"}  # the contract wants an integer: significant
    dashboard["pinned"] = {"type": "boolean", "nullable": True}  # null the contract rejects: significant
    dashboard["name"] = {"type": "string"}  # narrower than the contract's string|null: info
    dashboard["brand_new"] = {"type": "integer"}
    dashboard["secret_input"] = {"type": "string", "writeOnly": True}
    found = findings(drift.compare(document))
    assert found["Dashboard", "team_id", "retyped"].severity == "significant"
    assert found["Dashboard", "team_id", "retyped"].host_types == ["string"]
    assert found["Dashboard", "pinned", "retyped"].severity == "significant"
    assert found["Dashboard", "name", "retyped"].severity == "info"
    assert found["Dashboard", "brand_new", "added"].severity == "info"
    assert ("Dashboard", "secret_input", "added") not in found


def test_known_documentation_errors_are_info_with_the_reason(clean_document: dict[str, Any]) -> None:
    document = copy.deepcopy(clean_document)
    sharing = document["paths"][SHARING_PATH]["get"]["responses"]["200"]["content"]["application/json"]
    sharing["schema"] = {"type": "array", "items": {"$ref": "#/components/schemas/SharingConfiguration"}}
    document["components"]["schemas"]["SharingConfiguration"]["properties"]["share_passwords"] = {"type": "string"}
    found = findings(drift.compare(document))
    body = found["SharingConfiguration", "(body)", "retyped"]
    assert body.severity == "info" and "§10" in body.note
    assert found["SharingConfiguration", "share_passwords", "retyped"].severity == "info"


def test_operations_the_host_lacks_are_listed(clean_document: dict[str, Any]) -> None:
    document = copy.deepcopy(clean_document)
    for path in list(document["paths"]):
        if path.endswith("/events/{id}/"):
            del document["paths"][path]
    result = drift.compare(document)
    assert "events_retrieve" in result.operations_missing and "events_retrieve" not in result.operations_compared


def test_yaml_and_json_documents_are_read(clean_document: dict[str, Any]) -> None:
    as_yaml = yaml.safe_dump(clean_document).encode()
    assert drift.parse_document(as_yaml, "application/vnd.oai.openapi") == clean_document
    assert drift.parse_document(json.dumps(clean_document).encode(), "application/json") == clean_document
    with pytest.raises(ValueError, match="not an OpenAPI document"):
        drift.parse_document(b"<html>login</html>", "text/html")


def mock_client(handler: Any) -> ContractClient:
    return ContractClient("https://posthog.example", "phx_driftcanary0000000000000000000000000",
                          redactor=Redactor(), transport=httpx.MockTransport(handler))


def test_check_host_reports_a_host_without_the_document() -> None:
    with mock_client(lambda request: httpx.Response(404, json={"detail": "Not found."})) as client:
        result = drift.check_host(client)
    assert result.status == "not_served" and "404" in result.detail and result.findings == []


def test_check_host_asks_for_json_and_compares(clean_document: dict[str, Any]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=clean_document)

    with mock_client(handler) as client:
        result = drift.check_host(client)
    assert result.compared and result.significant == []
    assert seen[0].url.path == "/api/schema/" and "application/json" in seen[0].headers["accept"]


def test_cli_compares_a_schema_file(tmp_path: Path, clean_document: dict[str, Any],
                                    mutant_document: dict[str, Any]) -> None:
    clean, broken, garbage = tmp_path / "clean.json", tmp_path / "broken.yaml", tmp_path / "garbage.json"
    clean.write_text(json.dumps(clean_document))
    broken.write_text(yaml.safe_dump(mutant_document))
    garbage.write_text("not a document")
    assert run_cli("drift", "--schema-file", str(clean), "--drift-fail").returncode == 0
    done = run_cli("drift", "--schema-file", str(broken), "--drift-fail", "--json", str(tmp_path / "out.json"))
    assert done.returncode == 1 and "removed  Dashboard.team_id" in done.stdout
    assert json.loads((tmp_path / "out.json").read_text())["significant"] == 2
    assert run_cli("drift", "--schema-file", str(broken)).returncode == 0  # informational without --drift-fail
    assert run_cli("drift", "--schema-file", str(garbage)).returncode == 2


def test_cli_against_the_embedded_reference_server_clean_and_mutant() -> None:
    clean = run_cli("drift", "--drift-fail")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "0 significant" in clean.stdout and "embedded reference server" in clean.stdout
    mutant = run_cli("drift", "--drift-fail", "--reference-arg=--mutant=schema_doc_drops_team_id")
    assert mutant.returncode == 1, mutant.stdout + mutant.stderr
    assert "significant removed  Dashboard.team_id" in mutant.stdout


# --- the reference server's document describes its real answers --------------------------------------


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    server = embedded.start(["--rate-limit", "100000/min"])
    credentials = server.credentials
    headers = {"Authorization": f"Bearer {credentials['personal_api_key']}"}
    try:
        with httpx.Client(base_url=credentials["base_url"], headers=headers, timeout=10) as http:
            yield http, credentials
    finally:
        server.stop()


def documented(component: str) -> tuple[set[str], set[str]]:
    """(fields a response may carry, fields it must carry) per the served document."""
    schema = schema_doc.document()["components"]["schemas"][component]
    readable = {name for name, field in schema["properties"].items() if not field.get("writeOnly")}
    return readable, set(schema["required"])


def assert_described(body: dict[str, Any], component: str) -> None:
    readable, required = documented(component)
    assert set(body) <= readable, f"{component}: undocumented {sorted(set(body) - readable)}"
    assert required <= set(body), f"{component}: missing {sorted(required - set(body))}"


def test_the_schema_endpoint_wants_a_key(reference: tuple[httpx.Client, dict[str, Any]]) -> None:
    http, credentials = reference
    assert httpx.get(credentials["base_url"] + "/api/schema/").status_code == 401
    response = http.get("/api/schema/")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.0")


def test_the_served_document_describes_the_real_answers(reference: tuple[httpx.Client, dict[str, Any]]) -> None:
    http, credentials = reference
    project = f"/api/projects/{credentials['project_id']}"
    created = http.post(f"{project}/dashboards/", json={"name": "posthog-contract drift-doc"}).json()
    assert_described(created, "Dashboard")
    patched = http.patch(f"{project}/dashboards/{created['id']}/",
                         json={"restriction_level": 37, "tiles": [{"text": {"body": "doc"}}]}).json()
    assert_described(patched, "Dashboard")
    assert_described(patched["tiles"][0], "DashboardTile")
    assert_described(patched["tiles"][0]["text"], "Text")
    assert_described(patched["created_by"], "UserBasic")
    page = http.get(f"{project}/dashboards/", params={"limit": 2}).json()
    assert_described(page, "PaginatedDashboardBasicList")
    assert_described(page["results"][0], "DashboardBasic")
    assert_described(http.get(f"{project}/dashboards/{created['id']}/sharing/").json(), "SharingConfiguration")
    collaborator = http.post(f"{project}/dashboards/{created['id']}/collaborators/",
                             json={"user_uuid": credentials["collaborator_uuid"], "level": 37})
    assert collaborator.status_code == 201, collaborator.text
    assert_described(collaborator.json(), "DashboardCollaborator")
    event = {"event": "drift-doc", "distinct_id": "drift-doc", "properties": {"$current_url": "https://x.test/"}}
    assert http.post("/batch/", json={"api_key": credentials["project_api_key"], "batch": [event]}).status_code == 200
    events = http.get(f"{project}/events/", params={"after": "-1h", "event": "drift-doc"}).json()
    assert_described(events, "PaginatedClickhouseEventList")
    assert_described(events["results"][0], "ClickhouseEvent")
    one = http.get(f"{project}/events/{events['results'][0]['id']}/", params={"include_person": "true"}).json()
    assert_described(one, "ClickhouseEvent")
    assert_described(one["person"], "EventPerson")
