"""Environments: the Env/State interface, wrappers, and the task registry."""

import importlib

from ilax.envs.base import Env, MjxConfig, MjxEnv, State
from ilax.envs.registry import default_config, make, names, register
from ilax.envs.wrappers import AutoReset, TimeLimit, Vmap, Wrapper

# Each task module registers the tasks it defines.
for _module in (
    "pendulum",
    "cartpole",
    "reacher",
    "two_ways",
    "slot",
    "kart_track",
    "locomotion",
    "gym_classic",
    "gym_mujoco",
):
    importlib.import_module(f"ilax.envs.{_module}")

__all__ = [
    "AutoReset",
    "Env",
    "MjxConfig",
    "MjxEnv",
    "State",
    "TimeLimit",
    "Vmap",
    "Wrapper",
    "default_config",
    "make",
    "names",
    "register",
]
