"""URL paths of the operations under test, for one project and one of the two prefixes (§1.1)."""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = ("projects", "environments")


@dataclass(frozen=True)
class ApiPaths:
    project_id: str
    prefix: str = "projects"

    def with_prefix(self, prefix: str) -> ApiPaths:
        return ApiPaths(self.project_id, prefix)

    def with_project(self, project_id: str) -> ApiPaths:
        return ApiPaths(project_id, self.prefix)

    @property
    def base(self) -> str:
        return f"/api/{self.prefix}/{self.project_id}"

    def dashboards(self) -> str:
        return f"{self.base}/dashboards/"

    def dashboard(self, dashboard_id: int | str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/"

    def move_tile(self, dashboard_id: int | str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/move_tile/"

    def create_from_template_json(self) -> str:
        return f"{self.base}/dashboards/create_from_template_json/"

    def sharing(self, dashboard_id: int | str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/sharing/"

    def sharing_refresh(self, dashboard_id: int | str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/sharing/refresh/"

    def collaborators(self, dashboard_id: int | str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/collaborators/"

    def collaborator(self, dashboard_id: int | str, user_uuid: str) -> str:
        return f"{self.base}/dashboards/{dashboard_id}/collaborators/{user_uuid}/"

    def events(self) -> str:
        return f"{self.base}/events/"

    def event(self, event_id: str) -> str:
        return f"{self.base}/events/{event_id}/"


PROJECTS = "/api/projects/"
CURRENT_USER = "/api/users/@me/"
ORGANIZATION_MEMBERS = "/api/organizations/@current/members/"
CAPTURE_PATHS = ("/batch/", "/capture/", "/i/v0/e/", "/e/")
