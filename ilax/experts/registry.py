"""Expert registry: task names to expert factories."""

from collections.abc import Callable
from typing import Any

from ilax.envs.base import Env
from ilax.types import Policy

_EXPERTS: dict[str, Callable[..., Policy]] = {}


def register(task: str, factory: Callable[..., Policy]) -> None:
    """Registers `factory(env, **overrides) -> Policy` as the expert of `task`."""
    if task in _EXPERTS:
        raise ValueError(f"an expert for task {task!r} is already registered")
    _EXPERTS[task] = factory


def tasks() -> list[str]:
    """Task names that have an expert, sorted."""
    return sorted(_EXPERTS)


def make(env: Env, **overrides: Any) -> Policy:
    """The expert `Policy` of `env`'s task, with its config fields overridden.

    The expert reads `Observation.privileged` only, so it can label any state
    a learner visits.

    Raises:
      ValueError: no expert for the task (the message lists the tasks that
        have one), or unknown expert config fields.
    """
    if env.name not in _EXPERTS:
        raise ValueError(
            f"no expert for task {env.name!r}; tasks with experts: {', '.join(tasks())}"
        )
    return _EXPERTS[env.name](env, **overrides)
