"""Which tasks the default test run covers fully, and which only the slow tier.

MJX compiles a contact-rich model for 30-60 s per program on a 2-core CPU.
Of the Gymnasium locomotion tasks the default run keeps halfcheetah, the
cheapest (contacts, no termination), in its step-for-step comparison with
Gymnasium; hopper, walker2d and ant (contacts, termination, ant's contact
forces), and every locomotion task's generic rollout checks, run in the slow
tier (`make test-all`), so the default run fits its 8 minutes.
"""

import pytest

SLOW_TASKS = ("hopper", "walker2d", "ant")
LOCOMOTION = ("halfcheetah", *SLOW_TASKS)
# The Gymnasium MJX tasks keep their step-for-step comparison with Gymnasium
# (tests/envs/test_gym_tasks.py) in the default run; their generic checks,
# another program per task each, are slow-tier like the locomotion tasks'.
GYM_MJX = (
    "gym/InvertedPendulum-v5",
    "gym/InvertedDoublePendulum-v5",
    "gym/Reacher-v5",
    "gym/Swimmer-v5",
)
GENERIC_SLOW = (*LOCOMOTION, *GYM_MJX)


def task_params(names, slow=SLOW_TASKS) -> list:
    """`names` as pytest parameters, those in `slow` marked slow."""
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in slow else name
        for name in names
    ]
