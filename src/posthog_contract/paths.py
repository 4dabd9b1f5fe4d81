"""URL paths of the operations under test, for one project and one of the two prefixes (§1.1).

Every path is the operation catalogue's own template (`operations.OPERATIONS`) filled in, never
retyped here: a path fixed in the catalogue is fixed for the tests, the report and schemathesis at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import operations as ops

#: the two URL prefixes, as the catalogue names them ("projects", "environments")
PREFIXES: tuple[str, ...] = tuple(ops.PREFIXES)


def operation_path(operation_id: str, prefix: str = "projects", **values: object) -> str:
    """The path of a catalogue operation with its parameters filled in (``project_id`` included)."""
    return ops.by_id(operation_id).full_path(prefix).format(**values)


@dataclass(frozen=True)
class ApiPaths:
    project_id: str
    prefix: str = "projects"

    def with_prefix(self, prefix: str) -> ApiPaths:
        return ApiPaths(self.project_id, prefix)

    def with_project(self, project_id: str) -> ApiPaths:
        return ApiPaths(project_id, self.prefix)

    def of(self, operation_id: str, **values: object) -> str:
        """The path of a catalogue operation of this project, under this prefix."""
        return operation_path(operation_id, self.prefix, project_id=self.project_id, **values)

    def dashboards(self) -> str:
        return self.of("dashboards_list")

    def dashboard(self, dashboard_id: int | str) -> str:
        return self.of("dashboards_retrieve", id=dashboard_id)

    def move_tile(self, dashboard_id: int | str) -> str:
        return self.of("dashboards_move_tile_partial_update", id=dashboard_id)

    def create_from_template_json(self) -> str:
        return self.of("dashboards_create_from_template_json_create")

    def sharing(self, dashboard_id: int | str) -> str:
        return self.of("dashboards_sharing_list", dashboard_id=dashboard_id)

    def sharing_refresh(self, dashboard_id: int | str) -> str:
        return self.of("dashboards_sharing_refresh_create", dashboard_id=dashboard_id)

    def collaborators(self, dashboard_id: int | str) -> str:
        return self.of("dashboards_collaborators_list", dashboard_id=dashboard_id)

    def collaborator(self, dashboard_id: int | str, user_uuid: str) -> str:
        return self.of("dashboards_collaborators_destroy", dashboard_id=dashboard_id, user_uuid=user_uuid)

    def events(self) -> str:
        return self.of("events_list")

    def event(self, event_id: str) -> str:
        return self.of("events_retrieve", id=event_id)


PROJECTS = operation_path("projects_list")
CURRENT_USER = operation_path("users_me_retrieve")
ORGANIZATION_MEMBERS = operation_path("organizations_members_list")
CAPTURE_PATHS: tuple[str, ...] = tuple(op.path for op in ops.OPERATIONS if "capture" in op.tags)
