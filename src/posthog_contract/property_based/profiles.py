"""How hard the property-based part works: the profiles of ``--contract-profile``.

The default profile is sized for PostHog Cloud's rate limits (contract §1.8, issue 15): a whole run
stays within 600 requests, 150 of them on the events endpoints. Its generated part is the fuzzing
phase of each operation under ``/api/projects/`` and a short state machine. What the deterministic
coverage phase and the ``/api/environments/`` twins found was measured against the full mutant set
(bench/RESULTS.md): nothing the hand-written checks do not also find, at four times the requests,
so only ``thorough`` runs them. The events list, eleven query parameters, is sampled more.

Issue 23's derived checks (every write's fields, refusals and whole-state effects) cost about 140
requests; the default profile gave them up from here (2 fuzzing examples per operation, was 4; 4
state-machine steps, was 10). Every mutant the generated part killed before is still killed by the
new default run (artifacts/mutation/issue-23/property-based-kills-under-the-new-default.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    """How hard the property-based part works (``--contract-profile``)."""

    name: str
    max_examples: int  # fuzzing examples per operation under /api/projects/
    twin_max_examples: int  # per environments twin (same handlers, §1.1); 0: twins not generated
    coverage: bool  # the deterministic coverage phase (boundary, negative and undeclared-method cases)
    stateful_examples: int  # scenarios of the state machine
    stateful_steps: int  # steps per scenario
    pool_size: int  # run-created dashboards that generated ids point at
    shrink: bool  # shrink failing examples (each shrink step is a round trip to the host)
    request_budget: int  # most requests a run sends (--request-budget overrides; contract §1.8)
    #: operation id -> fuzzing examples, for operations sampled more than ``max_examples``
    focus: Mapping[str, int] = field(default_factory=dict)


PROFILES: Mapping[str, Profile] = {
    "default": Profile(
        "default",
        max_examples=2,
        twin_max_examples=0,
        coverage=False,
        stateful_examples=1,
        stateful_steps=4,
        pool_size=3,
        shrink=False,
        request_budget=600,
        # eleven query parameters, the one operation whose malformed inputs only fuzzing reaches in
        # number: 20 examples find an unparsable `properties` 5xx on 6 seeds of 8 (4 examples: rarely)
        focus={"events_list": 20},
    ),
    "thorough": Profile(
        "thorough",
        max_examples=100,
        twin_max_examples=25,
        coverage=True,
        stateful_examples=40,
        stateful_steps=25,
        pool_size=6,
        shrink=True,
        request_budget=4000,
    ),
}
