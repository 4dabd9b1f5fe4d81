"""The dashboard lifecycle as a state machine (contract §2.3-§2.8, §3): create, read, PATCH, share,
refresh the share, soft delete, undelete, hard delete refused, list.

A Hypothesis RuleBasedStateMachine drives the project's client and keeps a model of every
dashboard it created; each answer is judged twice: against the model (the status and the
values the spec predicts for that state) and by schemathesis' checks (status, content type,
schema, headers and the suite's own checks, via property_based.validate_exchange). Every
dashboard is registered for cleanup the moment the host acknowledges it; sharing too.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from posthog_contract.assertions import expect_empty, expect_error, expect_shape, expect_that
from posthog_contract.pagination import walk_dashboards
from posthog_contract.paths import PREFIXES
from posthog_contract.property_based import record_response, validate_exchange

#: the steps run on the schemathesis machinery (property_run's checks), so the file runs with the property-based part
pytestmark = [
    pytest.mark.writes,
    pytest.mark.property_based,
    pytest.mark.operations(
        "dashboards_create",
        "dashboards_retrieve",
        "dashboards_partial_update",
        "dashboards_sharing_partial_update",
        "dashboards_sharing_refresh_create",
        "dashboards_destroy",
        "dashboards_list",
    ),
]

MAX_DASHBOARDS = 3  # per scenario: enough for interleavings, few enough to list quickly
LIST_PAGES = 20  # a host with more than 20 * 100 dashboards makes the list check unavailable

_WORD = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=16)


@dataclass
class Model:
    """What the spec says a dashboard looks like after the steps so far."""

    name: str
    description: str = ""
    pinned: bool = False
    deleted: bool = False
    shared: bool = False
    token: str | None = None  # the stored sharing token, once a PATCH stored the configuration


class DashboardLifecycle(RuleBasedStateMachine):
    """The lifecycle's steps and the model they are judged against; `bound` gives the class a session's
    client, paths, resources, checks and outcome log (Hypothesis builds the machine without arguments)."""

    dashboards = Bundle("dashboards")
    client: Any
    paths: Any
    resources: Any
    property_run: Any
    outcomes: Any

    @classmethod
    def bound(cls, client: Any, paths: Any, resources: Any, property_run: Any, outcomes: Any) -> type[Any]:
        """A subclass that talks to this session's host (one per test: the class attributes are its own)."""
        session = {"client": client, "paths": paths, "resources": resources, "property_run": property_run,
                   "outcomes": outcomes}
        return type(cls.__name__, (cls,), session)

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[int, Model] = {}

    # -- helpers ---------------------------------------------------------------------------

    def checked(self, op_id: str, response: Any, prefix: str, *, body: Any = None, **path: Any) -> Any:
        """Record what the host created or shared, then run schemathesis' checks on the answer."""
        record_response(self.property_run, op_id, path, body, response)
        validate_exchange(self.property_run, op_id, response, prefix=prefix, path_parameters=path, body=body)
        return response

    def patched(self, dashboard: int, prefix: str, body: dict[str, Any]) -> Any:
        """PATCH the dashboard under ``prefix``, recorded and checked (see :meth:`checked`)."""
        response = self.client.patch(self.paths.with_prefix(prefix).dashboard(dashboard), json=body)
        return self.checked("dashboards_partial_update", response, prefix, body=body, id=dashboard)

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < MAX_DASHBOARDS)
    @rule(target=dashboards, prefix=st.sampled_from(PREFIXES), label=_WORD)
    def create(self, prefix: str, label: str) -> int:
        name = self.resources.name(f"stateful {label}")
        body = {"name": name, "description": self.resources.description()}
        # registered for cleanup the moment the host answers, before any assertion can fail
        response = self.resources.create_dashboard(client=self.client, paths=self.paths.with_prefix(prefix), **body)
        self.checked("dashboards_create", response, prefix, body=body)
        created = expect_shape(response, 201, "dashboard", rule="POST dashboards creates a dashboard (§2.3)")
        expect_that(
            created["name"] == name and created["deleted"] is False and created["is_shared"] is False,
            "a new dashboard has the sent name, is live and not shared (§2.3)",
            response,
        )
        self.model[created["id"]] = Model(name=name, description=body["description"])
        return created["id"]

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES))
    def retrieve(self, dashboard: int, prefix: str) -> None:
        state = self.model[dashboard]
        response = self.client.get(self.paths.with_prefix(prefix).dashboard(dashboard))
        self.checked("dashboards_retrieve", response, prefix, id=dashboard)
        if state.deleted:
            expect_error(
                response, 404, code="not_found", rule="GET of a soft-deleted dashboard is 404 (§2.4, §2.8)"
            )
            return
        body = expect_shape(response, 200, "dashboard", rule="GET of a live dashboard is 200 (§2.4)")
        seen = {k: body.get(k) for k in ("name", "description", "pinned", "deleted", "is_shared")}
        wanted = {
            "name": state.name,
            "description": state.description,
            "pinned": state.pinned,
            "deleted": False,
            "is_shared": state.shared,
        }
        expect_that(
            seen == wanted,
            "GET shows every value written so far; is_shared follows sharing (§2.5, §3)",
            response,
            f"expected {wanted}, got {seen}",
        )

    @rule(
        dashboard=dashboards,
        prefix=st.sampled_from(PREFIXES),
        name=_WORD,
        description=_WORD,
        pinned=st.booleans(),
        which=st.sets(st.sampled_from(("name", "description", "pinned")), min_size=1),
    )
    def patch(
        self, dashboard: int, prefix: str, name: str, description: str, pinned: bool, which: set[str]
    ) -> None:
        state = self.model[dashboard]
        values = {"name": self.resources.name(f"stateful {name}"), "description": description, "pinned": pinned}
        body = {key: values[key] for key in sorted(which)}
        response = self.patched(dashboard, prefix, body)
        if state.deleted:
            expect_error(
                response,
                404,
                code="not_found",
                rule="PATCH without a falsy `deleted` on a soft-deleted dashboard is 404 (§2.8)",
            )
            return
        shown = expect_shape(response, 200, "dashboard", rule="PATCH of a live dashboard is 200 (§2.5)")
        expect_that(
            all(shown[key] == value for key, value in body.items()),
            "PATCH answers the written values (§2.5)",
            response,
            f"sent {body}",
        )
        for key, value in body.items():
            setattr(state, key, value)

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES), enabled=st.booleans())
    def share(self, dashboard: int, prefix: str, enabled: bool) -> None:
        state = self.model[dashboard]
        body = {"enabled": enabled}
        response = self.client.patch(self.paths.with_prefix(prefix).sharing(dashboard), json=body)
        self.checked("dashboards_sharing_partial_update", response, prefix, body=body, dashboard_id=dashboard)
        if state.deleted:
            expect_error(
                response,
                404,
                code="not_found",
                detail="Dashboard not found.",
                rule="sharing of a soft-deleted dashboard is 404 'Dashboard not found.' (§2.8, §3)",
            )
            return
        shown = expect_shape(response, 200, "sharing-configuration", rule="sharing PATCH is 200 (§3)")
        expect_that(shown["enabled"] is enabled, "sharing PATCH answers the written `enabled` (§3)", response)
        expect_that(
            shown["created_at"] is not None, "the first sharing PATCH stores the configuration (§3)", response
        )
        if enabled and state.shared and state.token is not None:
            expect_that(shown["access_token"] == state.token, "an enabled share keeps its token (§3)", response)
        state.shared, state.token = enabled, shown["access_token"]

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES))
    def refresh_share(self, dashboard: int, prefix: str) -> None:
        state = self.model[dashboard]
        response = self.client.post(self.paths.with_prefix(prefix).sharing_refresh(dashboard))
        self.checked("dashboards_sharing_refresh_create", response, prefix, dashboard_id=dashboard)
        if state.deleted:
            expect_error(
                response,
                404,
                code="not_found",
                detail="Dashboard not found.",
                rule="sharing refresh of a soft-deleted dashboard is 404 (§2.8, §3)",
            )
            return
        shown = expect_shape(response, 200, "sharing-configuration", rule="sharing refresh is 200 (§3)")
        expect_that(shown["enabled"] is state.shared, "refresh copies `enabled` (§3)", response)
        if state.token is not None:
            expect_that(shown["access_token"] != state.token, "refresh issues a new access_token (§3)", response)
        state.token = shown["access_token"]

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES))
    def soft_delete(self, dashboard: int, prefix: str) -> None:
        state = self.model[dashboard]
        body = {"deleted": True}
        response = self.patched(dashboard, prefix, body)
        if state.deleted:
            expect_error(
                response, 404, code="not_found", rule="PATCH deleted=true on a soft-deleted dashboard is 404 (§2.8)"
            )
            return
        shown = expect_shape(response, 200, "dashboard", rule="PATCH deleted=true is 200 (§2.8)")
        expect_that(shown["deleted"] is True, "the soft-delete answer shows deleted: true (§2.8)", response)
        state.deleted = True

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES))
    def undelete(self, dashboard: int, prefix: str) -> None:
        state = self.model[dashboard]
        body = {"deleted": False}
        response = self.patched(dashboard, prefix, body)
        shown = expect_shape(
            response, 200, "dashboard", rule="PATCH deleted=false restores or keeps the dashboard (§2.8)"
        )
        expect_that(shown["deleted"] is False, "the undelete answer shows deleted: false (§2.8)", response)
        state.deleted = False

    @rule(dashboard=dashboards, prefix=st.sampled_from(PREFIXES))
    def hard_delete_is_refused(self, dashboard: int, prefix: str) -> None:
        response = self.checked(
            "dashboards_destroy",
            self.client.delete(self.paths.with_prefix(prefix).dashboard(dashboard)),
            prefix,
            id=dashboard,
        )
        expect_empty(
            response, 405, rule="DELETE of a dashboard is 405 with an empty body, whatever its state (§2.8)"
        )

    @precondition(lambda self: bool(self.model))
    @rule(prefix=st.sampled_from(PREFIXES))
    def list_shows_live_dashboards_only(self, prefix: str) -> None:
        url = self.paths.with_prefix(prefix).dashboards()
        first = self.client.get(url, params={"limit": "1"})
        count = expect_shape(first, 200, "dashboard-list-page", rule="the dashboards list is 200 (§2.2)")["count"]
        if count > LIST_PAGES * 100:
            self.outcomes.unavailable(
                f"the project lists {count} dashboards, more than the {LIST_PAGES * 100} this check walks; "
                "point POSTHOG_PROJECT_ID at a project with fewer dashboards",
                self.client.describe(first),
            )
        walked = walk_dashboards(
            self.client,
            url,
            limit=100,
            max_pages=LIST_PAGES + 1,
            on_page=lambda response, body, number: self.checked("dashboards_list", response, prefix),
        )
        listed = {item["id"] for item in walked.items}
        live = {d for d, state in self.model.items() if not state.deleted}
        gone = set(self.model) - live
        expect_that(
            live <= listed and not gone & listed,
            "the list shows live dashboards and no soft-deleted one (§2.2, §2.8)",
            None,
            f"missing: {sorted(live - listed)}, soft-deleted but listed: {sorted(gone & listed)}",
        )


@pytest.fixture
def machine(client, paths, resources, property_run, property_schema, outcomes):
    # property_schema activates the run (load_schema): validate_exchange needs its operations
    return DashboardLifecycle.bound(client, paths, resources, property_run, outcomes)


@pytest.mark.check("status", "shape", "persistence")
def test_dashboard_lifecycle_chain(machine):
    """The documented chain once, step by step (the state machine below explores around it)."""
    flow = machine()
    try:
        prefix = PREFIXES[0]
        dashboard = flow.create(prefix, "chain")
        flow.retrieve(dashboard, prefix)
        flow.patch(dashboard, prefix, "renamed", "described", True, {"name", "description", "pinned"})
        flow.share(dashboard, prefix, True)
        flow.refresh_share(dashboard, prefix)
        flow.retrieve(dashboard, PREFIXES[1])
        flow.soft_delete(dashboard, prefix)
        flow.retrieve(dashboard, prefix)  # 404
        flow.share(dashboard, prefix, False)  # 404 "Dashboard not found."
        flow.hard_delete_is_refused(dashboard, prefix)
        flow.list_shows_live_dashboards_only(prefix)
        flow.undelete(dashboard, PREFIXES[1])
        flow.retrieve(dashboard, prefix)  # 200 again, still shared
        flow.list_shows_live_dashboards_only(PREFIXES[1])
    finally:
        flow.teardown()


@pytest.mark.check("generated")
def test_dashboard_lifecycle_state_machine(machine, property_run):
    """Random interleavings of the lifecycle steps, checked against the model at every step."""
    profile = property_run.profile
    phases = list(hypothesis.Phase)
    if not profile.shrink:
        phases.remove(hypothesis.Phase.shrink)  # every step is a round trip: shrinking takes minutes
    hypothesis.seed(property_run.seed)(machine)
    run_state_machine_as_test(
        machine,
        settings=hypothesis.settings(
            max_examples=profile.stateful_examples,
            stateful_step_count=profile.stateful_steps,
            deadline=None,
            database=None,
            phases=phases,
            suppress_health_check=list(hypothesis.HealthCheck),
        ),
    )
