"""Algorithm registry: names to config classes and `Trainer` factories.

The command line and the experiment scripts look algorithms up here. Each
algorithm's trainer module registers itself when imported; the modules below
are imported on the first lookup, so importing this registry stays cheap.
"""

import importlib
from collections.abc import Callable
from typing import Any

from ilax.envs.base import Env
from ilax.types import Policy, Trainer

# Modules whose import registers an algorithm.
_MODULES = (
    "ilax.algorithms.bc.trainer",
    "ilax.algorithms.dagger.learner",
    "ilax.algorithms.dart.learner",
    "ilax.algorithms.generative",
)

TrainerFactory = Callable[[Any, Env, Policy], Trainer]
_ALGORITHMS: dict[str, tuple[type, TrainerFactory]] = {}


def register(name: str, config_cls: type, make_trainer: TrainerFactory) -> None:
    """Registers algorithm `name`.

    Args:
      name: the name used on the command line (`--algo=name`).
      config_cls: its keyword-only config dataclass; `config_cls()` must give
        the defaults.
      make_trainer: `make_trainer(config, env, expert) -> Trainer`.

    Raises:
      ValueError: `name` is already registered.
    """
    if name in _ALGORITHMS:
        raise ValueError(f"algorithm {name!r} is already registered")
    _ALGORITHMS[name] = (config_cls, make_trainer)


def _load() -> None:
    for module in _MODULES:
        importlib.import_module(module)


def names() -> list[str]:
    """Registered algorithm names, sorted."""
    _load()
    return sorted(_ALGORITHMS)


def _lookup(name: str) -> tuple[type, TrainerFactory]:
    _load()
    if name not in _ALGORITHMS:
        raise ValueError(
            f"unknown algorithm {name!r}; known algorithms: {', '.join(names())}"
        )
    return _ALGORITHMS[name]


def config_class(name: str) -> type:
    """The config dataclass of algorithm `name`."""
    return _lookup(name)[0]


def default_config(name: str) -> Any:
    """A fresh default config of algorithm `name`."""
    return config_class(name)()


def make_trainer(name: str, config: Any, env: Env, expert: Policy) -> Trainer:
    """Builds algorithm `name`'s `Trainer` on `env` with `expert`.

    Raises:
      ValueError: unknown `name` (listing the known ones), or a config of
        another class than the algorithm's.
    """
    config_cls, factory = _lookup(name)
    if not isinstance(config, config_cls):
        raise ValueError(
            f"algorithm {name!r} takes a {config_cls.__name__}; got "
            f"{type(config).__name__}"
        )
    return factory(config, env, expert)
