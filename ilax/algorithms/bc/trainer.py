"""Offline behavior cloning as a `Trainer`: fixed demonstrations, chunks of updates.

The demonstrations are collected once from the expert (or read from a saved
dataset) when the trainer is built; every seed trains on the same data.
Registered as `bc` in `ilax.algorithms.registry`.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ilax import config as config_lib
from ilax import data as data_lib
from ilax.algorithms import interactive, registry
from ilax.algorithms.bc.config import BCConfig
from ilax.algorithms.bc.learner import TrainState, make
from ilax.data.normalizer import fit_normalizer
from ilax.envs.base import Env
from ilax.types import Batch, Metrics, Policy, Trainer


@dataclasses.dataclass(kw_only=True)
class BCTrainConfig:
    """Offline behavior cloning on a fixed set of demonstrations."""

    learner: BCConfig = dataclasses.field(default_factory=BCConfig)
    """The behavior cloning learner."""
    num_demos: int = 100
    """Expert episodes collected when `dataset_path` is empty."""
    dataset_path: str = ""
    """A dataset directory written by `ilax.data.save`; when set, nothing is
    collected (`num_demos`, `noise_std` and `data_seed` are unused)."""
    noise_std: float = 0.0
    """Std of Gaussian noise added to the expert's executed actions during
    collection (DART-style; the labels stay clean)."""
    data_seed: int = 0
    """Seed of the demonstration collection, apart from the training seeds so
    that every seed of a run learns from the same demonstrations."""
    batch_size: int = 256
    """Minibatch size of each update."""
    updates_per_chunk: int = 500
    """Learner updates per chunk (one jitted `lax.scan`)."""
    num_chunks: int = 20
    """Chunks in a full run."""
    eval_envs: int = 16
    """Environments the learned policy drives in an evaluation."""
    eval_steps: int = 0
    """Control steps of an evaluation; 0 means the task's episode length."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_fields(
            self,
            positive=(
                "num_demos",
                "batch_size",
                "updates_per_chunk",
                "num_chunks",
                "eval_envs",
            ),
            non_negative=("noise_std", "data_seed", "eval_steps"),
        )


@struct.dataclass
class BCRunState:
    """One seed's run: the learner's state and the key of the remaining chunks."""

    train_state: TrainState
    key: jax.Array  # typed key; chunk c uses fold_in(key, chunk)
    chunk: jax.Array  # int32, chunks completed


def demonstrations(config: BCTrainConfig, env: Env, expert: Policy) -> data_lib.Dataset:
    """The dataset of `config`: loaded from `dataset_path`, or collected."""
    if config.dataset_path:
        return data_lib.load(config.dataset_path)
    return data_lib.collect(
        env,
        expert,
        jax.random.key(config.data_seed),
        config.num_demos,
        noise_std=config.noise_std,
    )


def make_trainer_from_dataset(
    config: BCTrainConfig, env: Env, dataset: data_lib.Dataset
) -> Trainer:
    """The BC `Trainer` on a given dataset (`make_trainer` collects or loads one).

    Raises:
      ValueError: an invalid config field, or a batch larger than the dataset.
    """
    config.check()
    if config.batch_size > dataset.num_steps:
        raise ValueError(
            f"BCTrainConfig.batch_size ({config.batch_size}) is larger than the "
            f"dataset ({dataset.num_steps} steps in {dataset.num_episodes} episodes)"
        )
    learner = make(
        config.learner,
        observation_size=getattr(dataset, config.learner.input).shape[1],
        action_size=dataset.action_size,
    )
    # Statistics of the whole dataset, fitted once here: `init` then needs
    # only a row of it, and the dataset is not baked into the init program.
    normalizer = fit_normalizer(
        getattr(dataset, config.learner.input),
        dataset.action,
        min_std=config.learner.min_std,
        enabled=config.learner.normalize,
    )
    first_row = Batch(
        obs=dataset.obs[:1],
        privileged=dataset.privileged[:1],
        action=dataset.action[:1],
    )
    eval_steps = config.eval_steps or env.max_steps

    def init(key: jax.Array) -> BCRunState:
        key_learner, key_run = jax.random.split(key)
        train_state = learner.init(key_learner, first_row)
        return BCRunState(
            train_state=train_state.replace(normalizer=normalizer),
            key=key_run,
            chunk=jnp.zeros((), jnp.int32),
        )

    def step(state: BCRunState, data: data_lib.Dataset) -> tuple[BCRunState, Metrics]:
        key_chunk = jax.random.fold_in(state.key, state.chunk)

        def one_update(train_state, index):
            key_batch, key_update = jax.random.split(
                jax.random.fold_in(key_chunk, index)
            )
            batch = data_lib.sample_batch(data, key_batch, config.batch_size)
            return learner.update(train_state, batch, key_update)

        # fold_in over the update index rather than scanning over split keys:
        # jax's key-reuse checker (jax 0.10) flags a vmapped scan over a key
        # array as reuse, and seeds are vmapped.
        train_state, metrics = jax.lax.scan(
            one_update,
            state.train_state,
            jnp.arange(config.updates_per_chunk, dtype=jnp.uint32),
        )
        summary = {name: jnp.mean(values) for name, values in metrics.items()}
        summary["train/nonfinite"] = jnp.sum(metrics["train/nonfinite"])
        return state.replace(train_state=train_state, chunk=state.chunk + 1), summary

    def evaluate(state: BCRunState, key: jax.Array) -> Metrics:
        return interactive.evaluate_learner(
            env,
            learner,
            state.train_state,
            key,
            num_envs=config.eval_envs,
            num_steps=eval_steps,
        )

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluate,
        data=dataset,
        num_chunks=config.num_chunks,
    )


def make_trainer(config: BCTrainConfig, env: Env, expert: Policy) -> Trainer:
    """Offline BC on `env`: demonstrations of `expert` (or `config.dataset_path`).

    Each chunk is `updates_per_chunk` learner updates on minibatches drawn
    uniformly from the dataset, which is the trainer's `data`, passed to
    `step` as an argument. `evaluate` rolls the learned policy out on
    `eval_envs` environments and returns `eval/<name>` episode means.

    Raises:
      ValueError: an invalid config field, or a batch larger than the dataset.
      DatasetError: an unreadable dataset.
    """
    config.check()
    dataset = demonstrations(config, env, expert)
    for field, size in (
        ("obs", env.observation_size),
        ("privileged", env.privileged_size),
    ):
        width = np.shape(getattr(dataset, field))[1]
        if width != size:
            raise ValueError(
                f"BCTrainConfig.dataset_path: the dataset's {field!r} has size "
                f"{width}, the task {env.name!r} has {size}"
            )
    return make_trainer_from_dataset(config, env, dataset)


registry.register("bc", BCTrainConfig, make_trainer)
