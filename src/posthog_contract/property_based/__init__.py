"""Property-based contract tests through schemathesis: configuration, data steering and checks.

Everything the suite registers in schemathesis' process-global registries is registered once,
when this package is imported: custom checks (``checks``), the generation and call hooks
(``steering``) and the failure filter (``failures``). The hooks act only on a schema that carries
a :class:`GeneratedRun` (``load_schema`` gives one per session; ``run_of`` reads it back from a
case) and only on the contract's own document, so importing the package changes nothing else, and
two runs in one process never act for each other.

Why steer at all: generated dashboard ids almost never exist, so unsteered fuzzing is 404 noise;
and generated write requests must never touch a dashboard the run did not create. The hooks
therefore map every dashboard id onto the run's own dashboards (plus ids verified absent, for
reads only), tag every name the run writes with the run id, register every dashboard, sharing
configuration and collaborator the host acknowledges for cleanup, and point event ids and event
filters at the run's seeded events.

Modules, one concern each, in reading order: ``profiles``, ``run`` (the run state), ``config``
(configuration and loading), ``steering`` (hooks), ``session`` (the 429-aware HTTP session),
``checks``, ``readings`` and ``body_readings`` (how PostHog reads each generated input: the
judgement of negative data), ``failures`` (the failure filter); ``cases`` holds the small readers
they share.
"""

from __future__ import annotations

from . import checks, failures, steering  # noqa: F401  (registers checks, hooks and the filter)
from .checks import validate_exchange
from .config import build_config, generated_operations, load_schema, new_run, prepare_data
from .profiles import PROFILES, Profile
from .run import SEED_MESSAGE, GeneratedRun, run_of
from .session import RetryAfterAdapter, http_session
from .steering import record_response, steer

__all__ = [
    "PROFILES",
    "SEED_MESSAGE",
    "GeneratedRun",
    "Profile",
    "RetryAfterAdapter",
    "build_config",
    "generated_operations",
    "http_session",
    "load_schema",
    "new_run",
    "prepare_data",
    "record_response",
    "run_of",
    "steer",
    "validate_exchange",
]
