"""Experts: analytic and sampling-based controllers that read privileged state."""

import importlib

from ilax.experts.registry import make, register, tasks

# Each module registers the experts it defines.
for _module in ("classic", "reacher", "two_ways", "kart_track", "slot", "mppi"):
    importlib.import_module(f"ilax.experts.{_module}")

__all__ = ["make", "register", "tasks"]
