"""Algorithm registry: one entry per algorithm, registered by its own package.

An entry (`Algorithm`) holds the algorithm's train config class and its two
factories: the `Trainer` the command line and the experiments run, and the
learner such a run trains: a (flat) `Learner` for the imitation learners,
a `PolicyLearner` for those that learn from their own trajectories (PPO
and TRPO, which need no expert; GAIL, which needs one for its
demonstrations). Importing an algorithm's package
registers it (its `__init__` calls `register`); every subpackage of
`ilax.algorithms` is imported on the first lookup, so importing the registry
stays cheap and a new algorithm is one package that registers itself.
"""

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import ilax.algorithms
from ilax.envs.base import Env
from ilax.types import Learner, LearnerFactory, Policy, PolicyLearner, Trainer


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """A registered algorithm: its config class and its two factories."""

    name: str
    """The name used on the command line (`--algo=name`) and in tables."""
    config_class: type
    """Its keyword-only train config dataclass; `config_class()` gives the
    defaults."""
    make_trainer: Callable[[Any, Env, Policy], Trainer]
    """`make_trainer(config, env, expert) -> Trainer`."""
    make_learner: Callable[[Any, Env], Learner | PolicyLearner]
    """`make_learner(config, env)`: the learner a run of `config` on `env`
    trains, sized as the trainer sizes it (flat; see `ilax.types.Learner`),
    of type `learner_type`."""
    loss_metric: str
    """The update metric that is the learner's training loss (`bc/loss`; the
    generator's for a GAN), for curves and tables."""
    learner_type: type = Learner
    """What `make_learner` returns: `Learner` (regresses labelled rows) or
    `PolicyLearner` (learns from its own trajectories' rewards); the
    conformance suites pick their algorithms by it."""
    needs_expert: bool = True
    """Whether `make_trainer` reads its `expert` argument; the command line
    builds the task's expert only then, so a task without one can still be
    trained by an algorithm that needs none."""

    def default_config(self) -> Any:
        """A fresh default config."""
        return self.config_class()

    def check_config(self, config: Any) -> None:
        """Raises ValueError for a config of another class than this one's."""
        if not isinstance(config, self.config_class):
            raise ValueError(
                f"algorithm {self.name!r} takes a {self.config_class.__name__}; got "
                f"{type(config).__name__}"
            )


_ALGORITHMS: dict[str, Algorithm] = {}


def register(algorithm: Algorithm) -> Algorithm:
    """Registers `algorithm` under its name and returns it.

    Raises:
      ValueError: the name is already registered.
    """
    if algorithm.name in _ALGORITHMS:
        raise ValueError(f"algorithm {algorithm.name!r} is already registered")
    _ALGORITHMS[algorithm.name] = algorithm
    return algorithm


def packages() -> list[str]:
    """The algorithm packages: every subpackage of `ilax.algorithms`."""
    return sorted(
        f"ilax.algorithms.{module.name}"
        for module in pkgutil.iter_modules(ilax.algorithms.__path__)
        if module.ispkg
    )


def _load() -> None:
    for package in packages():
        importlib.import_module(package)


def names() -> list[str]:
    """Registered algorithm names, sorted."""
    _load()
    return sorted(_ALGORITHMS)


def get(name: str) -> Algorithm:
    """The entry of algorithm `name`.

    Raises:
      ValueError: unknown `name`, listing the known ones.
    """
    _load()
    if name not in _ALGORITHMS:
        raise ValueError(
            f"unknown algorithm {name!r}; known algorithms: {', '.join(names())}"
        )
    return _ALGORITHMS[name]


def of_config(config: Any) -> Algorithm:
    """The entry whose config class `config` is an instance of (exactly).

    Raises:
      ValueError: no algorithm takes a config of this class.
    """
    _load()
    for algorithm in _ALGORITHMS.values():
        if type(config) is algorithm.config_class:
            return algorithm
    raise ValueError(
        f"no registered algorithm takes a {type(config).__name__}; known config "
        f"classes: {', '.join(a.config_class.__name__ for a in _ALGORITHMS.values())}"
    )


def learner_factory(learner_config: Any) -> LearnerFactory:
    """The `make` of the algorithm package that defines the config's class.

    For code that builds bare learners from learner configs (a `BCConfig`
    gives `ilax.algorithms.bc.make`), without a map of its own.

    Raises:
      ValueError: the class is not defined in an algorithm package.
    """
    module = type(learner_config).__module__
    package = module.rsplit(".", 1)[0]
    if not package.startswith("ilax.algorithms.") or package.count(".") != 2:
        raise ValueError(
            f"learner_factory: {type(learner_config).__name__} is defined in "
            f"{module}, not in an algorithm package of ilax.algorithms"
        )
    return importlib.import_module(package).make


def default_config(name: str) -> Any:
    """A fresh default config of algorithm `name`."""
    return get(name).default_config()


def make_trainer(name: str, config: Any, env: Env, expert: Policy) -> Trainer:
    """Builds algorithm `name`'s `Trainer` on `env` with `expert`.

    Raises:
      ValueError: unknown `name` (listing the known ones), or a config of
        another class than the algorithm's.
    """
    algorithm = get(name)
    algorithm.check_config(config)
    return algorithm.make_trainer(config, env, expert)
