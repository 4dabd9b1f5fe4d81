"""Wire facts both parts read (posthog_contract.wire) and the paths the catalogue gives (posthog_contract.paths).

The `next`-link rule is written once (`wire.link_problem`): the hand-written walker
(`pagination.walk`) and the generated check (`property_based.checks`) both apply it, so this is
where the rule itself is pinned.
"""

from __future__ import annotations

import pytest

from posthog_contract import operations as ops
from posthog_contract.paths import CAPTURE_PATHS, PREFIXES, ApiPaths, operation_path
from posthog_contract.wire import link_problem, scheme_note

BASE = "https://eu.posthog.com"
SENT = {"event": "signup", "limit": "5", "before": "2026-01-01T00:00:00Z"}


def problem(link: str, **changes: object) -> str | None:
    arguments = {"base_url": BASE, "request_path": "/api/projects/1/events/", "sent": SENT, "exempt": ("before",)}
    found = link_problem(link, **{**arguments, **changes})  # type: ignore[arg-type]
    return None if found is None else found.rule


def test_a_link_that_keeps_the_rule_has_no_problem() -> None:
    assert problem(f"{BASE}/api/projects/1/events/?event=signup&limit=5&before=2025-12-31T23:00:00Z") is None
    assert problem(f"{BASE}:443/api/projects/1/events?limit=5&event=signup") is None  # default port, no slash


@pytest.mark.parametrize(
    ("link", "rule"),
    [
        ("/api/projects/1/events/?event=signup&limit=5", "`next` is an absolute URL"),
        ("https://evil.example/api/projects/1/events/?event=signup&limit=5", "`next` points at the configured host"),
        (f"{BASE}:8443/api/projects/1/events/?event=signup&limit=5", "`next` points at the configured host"),
        (f"{BASE}/api/projects/2/events/?event=signup&limit=5", "`next` keeps the request path"),
        (f"{BASE}/api/projects/1/events/?limit=5", "`next` keeps every parameter of the first request"),
        (f"{BASE}/api/projects/1/events/?event=login&limit=5", "`next` keeps every parameter of the first request"),
    ],
)
def test_each_broken_rule_is_named(link: str, rule: str) -> None:
    assert (problem(link) or "").startswith(rule)


def test_a_link_may_name_the_successor_of_an_environments_path() -> None:
    """§1.9: PostHog rewrites /api/environments/ to /api/projects/ and builds `next` from the rewritten path."""
    sent = {"limit": "5"}
    successor = f"{BASE}/api/projects/1/dashboards/?limit=5&offset=5"
    assert link_problem(successor, base_url=BASE, request_path="/api/environments/1/dashboards/", sent=sent,
                        exempt=("offset",)) is None
    backwards = link_problem(f"{BASE}/api/environments/1/dashboards/?limit=5", base_url=BASE,
                             request_path="/api/projects/1/dashboards/", sent=sent)
    assert backwards is not None and backwards.rule == "`next` keeps the request path"


def test_the_link_key_is_named_and_a_scheme_change_is_only_a_note() -> None:
    found = link_problem("/x", base_url=BASE, request_path="/x", sent={}, key="previous")
    assert found is not None and found.rule == "`previous` is an absolute URL"
    assert scheme_note("http://eu.posthog.com/x", BASE) is not None and scheme_note(f"{BASE}/x", BASE) is None


def test_every_path_is_the_catalogues_template_filled_in() -> None:
    paths = ApiPaths("12", "environments")
    assert paths.dashboard(3) == "/api/environments/12/dashboards/3/"
    assert paths.collaborator(3, "u") == "/api/environments/12/dashboards/3/collaborators/u/"
    assert paths.events() == operation_path("events_list", "environments", project_id="12")
    assert PREFIXES == ("projects", "environments")
    assert CAPTURE_PATHS == ("/batch/", "/capture/", "/i/v0/e/", "/e/")
    for operation in ops.OPERATIONS:
        if operation.prefixed:
            values = {name: "x" for name in ("id", "dashboard_id", "user_uuid")}
            assert paths.of(operation.operation_id, **values).startswith("/api/environments/12/")
