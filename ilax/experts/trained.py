"""Experts trained by ilax's own reinforcement learners, shipped as parameters.

A task without an analytic expert (the Gymnasium tasks, the locomotion
tasks) gets one by training PPO or TRPO on it (`experiments/train_expert.py`).
The result is two files in `ilax/experts/params/`, named after the task
(`/` as `__`): `<name>.npz`, the learner's parameters and input statistics
by tree path, and `<name>.json`, what made them (task, algorithm, the full
train config, command, commit) and what they score (the return over
evaluation episodes, mean and 95% interval). Importing `ilax.experts`
registers every shipped file's expert; `ilax.experts.make(env)` then gives
its deterministic policy (the Gaussian's mean), which reads `obs`.

Reading these package files at construction is the one file access here,
like an environment reading its model file.
"""

import importlib.resources
import json
import pathlib
from typing import Any

import jax
import numpy as np

from ilax import config as config_lib
from ilax.algorithms import registry as algorithms
from ilax.envs.base import Env
from ilax.experts import registry
from ilax.types import Policy


def file_stem(task: str) -> str:
    """The file name of `task`'s expert, without suffix (`/` as `__`)."""
    return task.replace("/", "__")


def params_dir() -> pathlib.Path:
    """The folder of the shipped expert parameters."""
    return pathlib.Path(str(importlib.resources.files("ilax.experts") / "params"))


def _flat(tree: Any) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def _learner_and_template(meta: dict, env: Env):
    algorithm = algorithms.get(meta["algo"])
    config = config_lib.from_dict(algorithm.config_class, meta["config"])
    learner = algorithm.make_learner(config, env)
    return learner, jax.eval_shape(learner.init, jax.random.key(0))


def save(directory: pathlib.Path, train_state: Any, meta: dict) -> pathlib.Path:
    """Writes `<stem>.npz` (params, normalizer) and `<stem>.json` (`meta`).

    `meta` holds at least `task`, `algo` and `config` (the train config's
    JSON form). Returns the path of the JSON file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / file_stem(meta["task"])
    arrays = _flat({"params": train_state.params, "normalizer": train_state.normalizer})
    np.savez(stem.with_suffix(".npz"), **arrays)
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return stem.with_suffix(".json")


def load(env: Env, json_path: pathlib.Path) -> Policy:
    """The deterministic policy of the expert described by `json_path`.

    Raises:
      ValueError: the file's task is not `env`'s, or its arrays do not fit
        the learner its config builds (naming the first that differs).
    """
    meta = json.loads(json_path.read_text())
    if meta["task"] != env.name:
        raise ValueError(
            f"trained expert {json_path.name}: made for task {meta['task']!r}, "
            f"not {env.name!r}"
        )
    learner, template = _learner_and_template(meta, env)
    with np.load(json_path.with_suffix(".npz")) as stored:
        arrays = dict(stored)
    parts = {"params": template.params, "normalizer": template.normalizer}

    def fill(path, leaf):
        name = jax.tree_util.keystr(path)
        value = arrays.get(name)
        if value is None or value.shape != leaf.shape:
            found = None if value is None else value.shape
            raise ValueError(
                f"trained expert {json_path.name}: array {name} must have shape "
                f"{leaf.shape}; got {found}"
            )
        return jax.numpy.asarray(value, leaf.dtype)

    filled = jax.tree_util.tree_map_with_path(fill, parts)
    state = template.replace(**filled)
    return learner.make_policy(state)


def metadata(task: str) -> dict | None:
    """The shipped JSON of `task`'s trained expert, or None."""
    path = params_dir() / f"{file_stem(task)}.json"
    return json.loads(path.read_text()) if path.exists() else None


def register_shipped() -> None:
    """Registers the expert of every shipped parameter file."""
    directory = params_dir()
    if not directory.is_dir():
        return
    for json_path in sorted(directory.glob("*.json")):
        task = json.loads(json_path.read_text())["task"]

        def factory(env: Env, json_path=json_path, **overrides) -> Policy:
            if overrides:
                raise ValueError(
                    f"the trained expert of {env.name!r} takes no config "
                    f"overrides; got {sorted(overrides)}"
                )
            return load(env, json_path)

        registry.register(task, factory)


register_shipped()
