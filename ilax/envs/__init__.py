"""Environments: the Env/State interface, wrappers, and the task registry."""

from ilax.envs import pendulum
from ilax.envs.base import Env, MjxConfig, MjxEnv, State
from ilax.envs.registry import default_config, make, names, register
from ilax.envs.wrappers import AutoReset, TimeLimit, Vmap, Wrapper

register("pendulum", pendulum.Pendulum, pendulum.PendulumConfig)

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
