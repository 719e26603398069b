"""Task registry: names to environment classes and their default configs."""

from collections.abc import Callable
from typing import Any

from ilax import config as config_lib
from ilax.envs import wrappers
from ilax.envs.base import Env

_TASKS: dict[str, tuple[Callable[[Any], Env], Callable[[], Any]]] = {}


def register(name: str, env_fn: Callable[[Any], Env], config_fn: Callable[[], Any]):
    """Registers a task: `env_fn(config)` builds it, `config_fn()` gives defaults."""
    if name in _TASKS:
        raise ValueError(f"task {name!r} is already registered")
    _TASKS[name] = (env_fn, config_fn)


def names() -> list[str]:
    """Registered task names, sorted."""
    return sorted(_TASKS)


def _lookup(name: str):
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(names())}")
    return _TASKS[name]


def default_config(name: str) -> Any:
    """The default config of task `name`."""
    return _lookup(name)[1]()


def make(name: str, **overrides: Any) -> Env:
    """Builds task `name` with config fields overridden, under its time limit.

    Args:
      name: a registered task name (see `names()`).
      **overrides: config fields to change, e.g. `episode_length=200`.

    Returns:
      The unbatched environment wrapped in `TimeLimit(config.episode_length)`;
      `env.config` is the config it was built with (for a MuJoCo task, with
      `impl="auto"` resolved to the backend in use).

    Raises:
      ValueError: unknown task or config field names (the message lists the
        valid ones) or invalid field values.
    """
    env_fn, config_fn = _lookup(name)
    config = config_lib.replace(config_fn(), **overrides)
    env = env_fn(config)
    return wrappers.TimeLimit(env, config.episode_length)
