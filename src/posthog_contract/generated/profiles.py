"""How hard the property-based part works: the profiles of ``--contract-profile``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How hard the property-based part works (``--contract-profile``)."""

    name: str
    max_examples: int  # fuzzing examples per operation under /api/projects/
    twin_max_examples: int  # per environments twin (same handlers, sampled less)
    coverage_everywhere: bool  # False: no coverage phase for the twins and COVERAGE_SKIPPED
    stateful_examples: int  # scenarios of the state machine
    stateful_steps: int  # steps per scenario
    pool_size: int  # run-created dashboards that generated ids point at
    shrink: bool  # shrink failing examples (each shrink step is a round trip to the host)


PROFILES: Mapping[str, Profile] = {
    "default": Profile(
        "default",
        max_examples=6,
        twin_max_examples=2,
        coverage_everywhere=False,
        stateful_examples=4,
        stateful_steps=10,
        pool_size=3,
        shrink=False,
    ),
    "thorough": Profile(
        "thorough",
        max_examples=100,
        twin_max_examples=25,
        coverage_everywhere=True,
        stateful_examples=40,
        stateful_steps=25,
        pool_size=6,
        shrink=True,
    ),
}

#: Supporting writes whose deterministic coverage phase (~250 requests each) the default profile
#: skips: create makes a dashboard per accepted case, PUT is PATCH (§0.2), the POST form of
#: move_tile repeats the PATCH one. They are still fuzzed.
COVERAGE_SKIPPED = ("dashboards_create", "dashboards_update", "dashboards_move_tile_create")
