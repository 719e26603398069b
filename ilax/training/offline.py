"""Offline imitation as a `Trainer`: any learner, fixed demonstrations, rounds.

The demonstrations are collected once from the expert (or read from a saved
dataset) when the trainer is built, and every seed trains on the same data.
The learner's normalizer is fitted then, once, on the whole dataset. A round
is `updates_per_round` learner updates on minibatches drawn uniformly from
the dataset, one `lax.scan`. With a `ChunkConfig` of more than one step the
minibatches are flattened windows (observation histories and action chunks)
and the policy is `ilax.chunking.chunked` around the learner's.

Each algorithm's train config derives from `OfflineTrainConfig` and adds its
`learner` config; `algorithm(name, config_class, make)` is the registry
entry of a learner module's `make` trained this way.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ilax import chunking
from ilax import config as config_lib
from ilax import data as data_lib
from ilax.algorithms import base, registry
from ilax.algorithms.base import LearnerConfig
from ilax.chunking import ChunkConfig
from ilax.envs.base import Env
from ilax.training import evaluation, updates
from ilax.types import Batch, Learner, LearnerFactory, Policy, Trainer


@dataclasses.dataclass(kw_only=True)
class OfflineTrainConfig:
    """The data and schedule of an offline run; subclasses add `learner`."""

    learner: LearnerConfig
    """The learner's settings (each algorithm's config class fixes the type)."""
    chunk: ChunkConfig = dataclasses.field(default_factory=ChunkConfig)
    """Observation history and action chunks (the default: single steps)."""
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
    updates_per_round: int = 500
    """Learner updates per round (one `lax.scan`)."""
    rounds: int = 20
    """Rounds in a full run; the host loop logs, evaluates and checkpoints
    between rounds."""
    eval_envs: int = 16
    """Environments the learned policy drives in an evaluation."""
    eval_steps: int = 0
    """Control steps of an evaluation; 0 means the task's episode length."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_types(self)
        config_lib.check_fields(
            self,
            positive=(
                "num_demos",
                "batch_size",
                "updates_per_round",
                "rounds",
                "eval_envs",
            ),
            non_negative=("noise_std", "data_seed", "eval_steps"),
        )
        self.chunk.check()


@struct.dataclass
class OfflineRunState:
    """One seed's run: the learner's state and the key of the remaining rounds."""

    train_state: object
    key: jax.Array  # typed key; round r uses fold_in(key, r)
    round: jax.Array  # int32, rounds completed


def demonstrations(
    config: OfflineTrainConfig, env: Env, expert: Policy
) -> data_lib.Dataset:
    """The dataset of `config`: saved (checked against `env`) or collected.

    Loaded from `dataset_path` when set, else collected from `expert`.
    """
    if not config.dataset_path:
        return data_lib.collect(
            env,
            expert,
            jax.random.key(config.data_seed),
            config.num_demos,
            noise_std=config.noise_std,
        )
    dataset = data_lib.load(config.dataset_path)
    for field, size in (
        ("obs", env.observation_size),
        ("privileged", env.privileged_size),
    ):
        width = np.shape(getattr(dataset, field))[1]
        if width != size:
            raise ValueError(
                f"{type(config).__name__}.dataset_path: the dataset's {field!r} has "
                f"size {width}, the task {env.name!r} has {size}"
            )
    return dataset


def active_chunk(config: OfflineTrainConfig) -> ChunkConfig | None:
    """`config.chunk`, or None where it is single-step.

    Single-step means To = Tp = 1 without ensembling: such a run trains on
    plain minibatches and acts step by step, exactly as without chunks.
    """
    chunk = config.chunk
    chunk.check()
    single = chunk.obs_horizon == 1 and chunk.prediction_horizon == 1
    return None if single and not chunk.temporal_ensembling else chunk


def training_view(dataset: data_lib.Dataset, chunk: ChunkConfig | None) -> Batch:
    """Every step of `dataset` as the learner sees it, as one flat `Batch`.

    With a chunk config the rows are flattened windows
    (`ilax.chunking.flatten_window`).
    """
    if chunk is None:
        return Batch(
            obs=dataset.obs, privileged=dataset.privileged, action=dataset.action
        )
    steps = jnp.arange(dataset.num_steps)
    window = data_lib.windows_at(
        dataset, steps, chunk.obs_horizon, chunk.prediction_horizon
    )
    return chunking.flatten_window(window)


def build_learner(config: OfflineTrainConfig, env: Env, make: LearnerFactory):
    """The learner a run of `config` on `env` trains (flat: see `ilax.types`).

    It reads the flattened history `[To * O]` of its input field (`[To * P]`
    for a privileged learner) and predicts flattened chunks `[Tp * A]`.
    """
    chunk = active_chunk(config)
    to, tp = (1, 1) if chunk is None else (chunk.obs_horizon, chunk.prediction_horizon)
    return make(
        config.learner,
        observation_size=to * base.input_size(config.learner, env),
        action_size=env.action_size,
        horizon=tp,
    )


def env_policy(
    config: OfflineTrainConfig, env: Env, learner: Learner, train_state
) -> Policy:
    """The learner's policy as it acts in `env`: chunked when `config` says so."""
    policy = learner.make_policy(train_state)
    chunk = active_chunk(config)
    if chunk is None:
        return policy
    return chunking.chunked(
        policy,
        chunk,
        observation_size=env.observation_size,
        privileged_size=env.privileged_size,
        action_size=env.action_size,
    )


def make_trainer_from_dataset(
    config: OfflineTrainConfig,
    env: Env,
    dataset: data_lib.Dataset,
    learner: Learner,
) -> Trainer:
    """The offline `Trainer` of a learner on a given dataset.

    Args:
      config: data and schedule, `learner` and `chunk`.
      env: the task evaluations run on.
      dataset: the demonstrations.
      learner: built for `config` on `env` (`build_learner`, or the
        registry entry's `make_learner`).

    Raises:
      ValueError: an invalid config field, a batch larger than the dataset,
        or data the learner refuses (naming the field).
    """
    config.check()
    chunk = active_chunk(config)
    if config.batch_size > dataset.num_steps:
        raise ValueError(
            f"{type(config).__name__}.batch_size ({config.batch_size}) is larger than "
            f"the dataset ({dataset.num_steps} steps in {dataset.num_episodes} "
            "episodes)"
        )
    normalizer = learner.fit_normalizer(training_view(dataset, chunk))
    eval_steps = config.eval_steps or env.max_steps

    def sample(data: data_lib.Dataset, key: jax.Array) -> Batch:
        if chunk is None:
            return data_lib.sample_batch(data, key, config.batch_size)
        return chunking.flatten_window(
            data_lib.sample_windows(
                data,
                key,
                config.batch_size,
                chunk.obs_horizon,
                chunk.prediction_horizon,
            )
        )

    def init(key: jax.Array) -> OfflineRunState:
        key_learner, key_run = jax.random.split(key)
        return OfflineRunState(
            train_state=learner.init(key_learner, normalizer),
            key=key_run,
            round=jnp.zeros((), jnp.int32),
        )

    def step(state: OfflineRunState, data: data_lib.Dataset):
        train_state, metrics = updates.scan_updates(
            learner.update,
            state.train_state,
            lambda key: sample(data, key),
            jax.random.fold_in(state.key, state.round),
            config.updates_per_round,
        )
        state = state.replace(train_state=train_state, round=state.round + 1)
        return state, updates.summarize(metrics)

    def policy(state: OfflineRunState) -> Policy:
        return env_policy(config, env, learner, state.train_state)

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluation.evaluator(
            env, policy, num_envs=config.eval_envs, num_steps=eval_steps
        ),
        policy=policy,
        data=dataset,
        num_rounds=config.rounds,
    )


def make_trainer(
    config: OfflineTrainConfig, env: Env, expert: Policy, make: LearnerFactory
) -> Trainer:
    """The offline `Trainer` on demonstrations of `expert` (or a saved set).

    See `make_trainer_from_dataset`; `config.dataset_path` replaces `expert`.

    Raises:
      ValueError: an invalid config field, a batch larger than the dataset or
        a saved dataset of another task's sizes.
      DatasetError: an unreadable dataset.
    """
    config.check()
    dataset = demonstrations(config, env, expert)
    return make_trainer_from_dataset(
        config, env, dataset, build_learner(config, env, make)
    )


def algorithm(
    name: str,
    config_class: type[OfflineTrainConfig],
    make: LearnerFactory,
    loss_metric: str,
) -> registry.Algorithm:
    """The registry entry of an offline algorithm.

    `make`'s learner, trained offline on configs of `config_class`; its
    updates report `loss_metric`.
    """
    return registry.Algorithm(
        name=name,
        config_class=config_class,
        make_trainer=lambda config, env, expert: make_trainer(
            config, env, expert, make
        ),
        make_learner=lambda config, env: build_learner(config, env, make),
        loss_metric=loss_metric,
    )
