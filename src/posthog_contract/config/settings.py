"""The run's settings: one frozen :class:`Settings`, validated once (built by ``sources.settings_from``)."""

from __future__ import annotations

import dataclasses
import secrets as _secrets
import string
from dataclasses import dataclass, field

from ..policy import DEFAULT_DEADLINE, ExchangeBounds

_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    """A run id: "pcr" + 10 lowercase alphanumerics, unique enough to tag one run's resources."""
    return "pcr" + "".join(_secrets.choice(_RUN_ID_ALPHABET) for _ in range(10))


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything the suite needs to know, validated; build it with :func:`settings_from`.

    Every field has a default so that ``Settings()`` means "the embedded reference server with
    defaults" (handy in self-tests).
    """

    base_url: str | None = None
    personal_api_key: str | None = None
    project_id: str | None = None
    project_api_key: str | None = None
    readonly_api_key: str | None = None
    collaborator_uuid: str | None = None
    other_project_id: str | None = None
    data_color_theme_id: int | None = None  # --data-color-theme-id: one of the host's data color themes
    quick_filter_id: str | None = None  # --quick-filter-id: one of the project's quick filters (a UUID)
    capture_url: str | None = None
    read_only: bool = False
    timeout: float = 30.0
    deadline: float | None = None  # --request-deadline; None = policy.DEFAULT_DEADLINE or the timeout if larger
    max_response_mb: float = 32.0  # --max-response-mb: the response size cap
    max_retry_wait: float = 120.0
    events_timeout: float = 120.0
    seed: int | None = None
    profile: str = "default"
    baseline: str | None = None  # --posthog-baseline: an older release (YYYY-MM); None = current
    operations: tuple[str, ...] = ()  # --contract-operation: generated operations to run (empty: all)
    request_budget: int | None = None  # --request-budget: None = the profile's; 0 = no cap
    run_id: str = field(default_factory=new_run_id)
    embedded: bool = False  # True once with_embedded() pointed the settings at the reference server

    def bounds(self) -> ExchangeBounds:
        """The deadline and size cap every exchange of the run is held to (policy.ExchangeBounds)."""
        deadline = self.deadline if self.deadline is not None else max(DEFAULT_DEADLINE, self.timeout)
        return ExchangeBounds(deadline=deadline, max_bytes=max(1, int(self.max_response_mb * 1_000_000)))

    def secrets(self) -> tuple[str, ...]:
        """Every non-empty key value, for the redactor (duplicates removed, order kept)."""
        values = (self.personal_api_key, self.readonly_api_key, self.project_api_key)
        return tuple(dict.fromkeys(v for v in values if v))

    def with_embedded(
        self,
        *,
        base_url: str,
        personal_api_key: str,
        project_id: str,
        project_api_key: str | None,
        readonly_api_key: str | None = None,
        collaborator_uuid: str | None = None,
        other_project_id: str | None = None,
        capture_url: str | None = None,
        data_color_theme_id: int | None = None,
        quick_filter_id: str | None = None,
    ) -> Settings:
        """The same settings pointed at the embedded reference server the plugin started."""
        return dataclasses.replace(
            self,
            base_url=base_url.rstrip("/"),
            personal_api_key=personal_api_key,
            project_id=str(project_id),
            project_api_key=project_api_key,
            readonly_api_key=readonly_api_key,
            collaborator_uuid=collaborator_uuid,
            other_project_id=None if other_project_id is None else str(other_project_id),
            capture_url=(capture_url or base_url).rstrip("/"),
            data_color_theme_id=data_color_theme_id,
            quick_filter_id=quick_filter_id,
            embedded=True,
        )

    def __repr__(self) -> str:
        # Keys are shown as set/unset only: pytest prints reprs in assertion introspection.
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            secret = f.name.endswith("api_key")
            shown = ("None" if value is None else "'[set]'") if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"
