"""Which tasks the default test run covers fully, and which only the slow tier.

MJX compiles a contact-rich model for 30-60 s per program on a 2-core CPU.
Of the Gymnasium locomotion tasks the default run keeps halfcheetah, the
cheapest (contacts, no termination); hopper, walker2d and ant (contacts,
termination, ant's contact forces) run in the slow tier (`make test-all`),
so the default run fits its 8 minutes.
"""

import pytest

SLOW_TASKS = ("hopper", "walker2d", "ant")


def task_params(names) -> list:
    """`names` as pytest parameters, the slow-tier tasks marked slow."""
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW_TASKS else name
        for name in names
    ]
