"""Property-based contract tests through schemathesis: configuration, data steering and checks.

Everything the suite registers in schemathesis' process-global registries is registered once,
when this package is imported: custom checks (``checks``), the generation and call hooks
(``steering``) and the failure filter (``failures``). The hooks act only while a
:class:`GeneratedRun` is active (``load_schema`` activates one per session) and only on the
contract's own document, so importing the package changes nothing else.

Why steer at all: generated dashboard ids almost never exist, so unsteered fuzzing is 404 noise;
and generated write requests must never touch a dashboard the run did not create. The hooks
therefore map every dashboard id onto the run's own dashboards (plus ids verified absent, for
reads only), tag every name the run writes with the run id, register every dashboard, sharing
configuration and collaborator the host acknowledges for cleanup, and point event ids and event
filters at the run's seeded events.

Modules, one concern each, in reading order: ``profiles``, ``run`` (the run state), ``config``
(configuration and loading), ``steering`` (hooks), ``session`` (the 429-aware HTTP session),
``checks``, ``failures`` (the failure filter); ``cases`` holds the small readers they share.
"""

from __future__ import annotations

from . import checks, failures, steering  # noqa: F401  (registers checks, hooks and the filter)
from .config import build_config, generated_operations, load_schema, new_run, prepare_data
from .profiles import PROFILES, Profile
from .run import SEED_MESSAGE, GeneratedRun, activate, active_run, last_seed
from .session import RetryAfterAdapter, http_session
from .steering import record_response, steer

__all__ = [
    "PROFILES",
    "SEED_MESSAGE",
    "GeneratedRun",
    "Profile",
    "RetryAfterAdapter",
    "activate",
    "active_run",
    "build_config",
    "generated_operations",
    "http_session",
    "last_seed",
    "load_schema",
    "new_run",
    "prepare_data",
    "record_response",
    "steer",
]
