"""Experts: analytic, sampling-based and trained controllers, by task.

The analytic and sampling-based ones read the privileged state; those
trained by ilax's own PPO or TRPO (`trained`) are shipped as parameters and
read `obs`.
"""

import importlib

from ilax.experts.registry import make, register, tasks

# Each module registers the experts it defines.
for _module in (
    "classic",
    "reacher",
    "two_ways",
    "kart_track",
    "slot",
    "mppi",
    "trained",
):
    importlib.import_module(f"ilax.experts.{_module}")

__all__ = ["make", "register", "tasks"]
