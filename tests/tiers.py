"""Which tasks the default test run covers fully, and which only the slow tier.

MJX compiles a contact-rich model for 30-60 s per program on a 2-core CPU.
Of the Gymnasium locomotion tasks on MJX the default run keeps halfcheetah,
the cheapest (contacts, no termination), in its step-for-step comparison
with Gymnasium; hopper, walker2d and ant (contacts, termination, ant's
contact forces) run in the slow tier (`make test-all`), so the default run
fits its 8 minutes. The tasks that step MuJoCo's C engine by default on CPU
compile in seconds, so their generic checks are in the default run.
"""

import pytest

SLOW_TASKS = ("hopper", "walker2d", "ant")
LOCOMOTION = ("halfcheetah", *SLOW_TASKS)
# The Gymnasium MJX tasks keep their step-for-step comparison with Gymnasium
# (tests/envs/test_gym_tasks.py) in the default run; their generic checks,
# another program per task each, are slow-tier like the locomotion tasks'.
GYM_MJX = ("gym/InvertedDoublePendulum-v5", "gym/Reacher-v5")
# On CPU these tasks step MuJoCo's C engine by default (impl="auto"), which
# compiles in seconds: their generic checks stay in the default run.
C_ENGINE = (
    "hopper",
    "halfcheetah",
    "walker2d",
    "gym/InvertedPendulum-v5",
    "gym/Swimmer-v5",
)
# reacher3 is reacher2's module with a third link: its generic checks (an MJX
# compile of 10 s) are slow-tier; reacher2's stay.
GENERIC_SLOW = (
    *(t for t in (*LOCOMOTION, *GYM_MJX) if t not in C_ENGINE),
    "reacher3",
)


def task_params(names, slow=SLOW_TASKS) -> list:
    """`names` as pytest parameters, those in `slow` marked slow."""
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in slow else name
        for name in names
    ]
