"""Offline imitation as a `Trainer`: any learner, fixed demonstrations, chunks.

The demonstrations are collected once from the expert (or read from a saved
dataset) when the trainer is built; every seed trains on the same data. A
chunk of the run is `updates_per_chunk` learner updates on minibatches drawn
uniformly from the dataset, one jitted `lax.scan`. With a `ChunkConfig` the
minibatches are windows (observation histories and action chunks) and the
learner is wrapped by `ilax.chunking.chunk_learner`; without one they are
single steps.

Every learner here keeps a `normalizer` in its train state and reads
`min_std` and `normalize` (and optionally `input`) from its config: the
statistics are fitted once, over the whole dataset, when the trainer is
built, so `init` needs only a row and the dataset is not baked into it.
"""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ilax import chunking
from ilax import config as config_lib
from ilax import data as data_lib
from ilax.algorithms import interactive
from ilax.data.normalizer import fit_normalizer
from ilax.envs.base import Env
from ilax.types import Batch, Learner, Metrics, Policy, Trainer

# make(learner_config, *, observation_size, action_size) -> Learner over flat
# batches: every learner module's `make`.
LearnerFactory = Callable[..., Learner]


@dataclasses.dataclass(kw_only=True)
class OfflineTrainConfig:
    """The data and schedule of an offline run (the learner's fields apart)."""

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
class OfflineRunState:
    """One seed's run: the learner's state and the key of the remaining chunks."""

    train_state: object
    key: jax.Array  # typed key; chunk c uses fold_in(key, chunk)
    chunk: jax.Array  # int32, chunks completed


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


def training_view(dataset: data_lib.Dataset, chunk: chunking.ChunkConfig | None):
    """Every step of `dataset` as the flat learner sees it, as a `Batch`.

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


def active_chunk(config) -> chunking.ChunkConfig | None:
    """`config.chunk`, or None where absent or single-step.

    Single-step means To = Tp = 1 without ensembling: such a run trains on
    plain minibatches, exactly as without a chunk config.
    """
    chunk = getattr(config, "chunk", None)
    if chunk is None:
        return None
    chunk.check()
    single = chunk.obs_horizon == 1 and chunk.prediction_horizon == 1
    return None if single and not chunk.temporal_ensembling else chunk


def build_learners(
    config: OfflineTrainConfig, env: Env, make: LearnerFactory
) -> tuple[Learner, Learner]:
    """The flat learner of `config` and the learner the trainer runs.

    The flat learner reads flattened histories `[To * O]` (or `[To * P]`)
    and predicts flattened chunks `[Tp * A]`; with a chunk config the second
    is `ilax.chunking.chunk_learner` around it (over `Window`s, acting with
    a chunked policy), without one both are the same learner.
    """
    chunk = active_chunk(config)
    to, tp = (1, 1) if chunk is None else (chunk.obs_horizon, chunk.prediction_horizon)
    input_size = (
        env.privileged_size
        if getattr(config.learner, "input", "obs") == "privileged"
        else env.observation_size
    )
    flat = make(
        config.learner,
        observation_size=to * input_size,
        action_size=tp * env.action_size,
    )
    if chunk is None:
        return flat, flat
    return flat, chunking.chunk_learner(
        flat,
        chunk,
        observation_size=env.observation_size,
        privileged_size=env.privileged_size,
        action_size=env.action_size,
    )


def make_trainer_from_dataset(
    config: OfflineTrainConfig,
    env: Env,
    dataset: data_lib.Dataset,
    make: LearnerFactory,
) -> Trainer:
    """The offline `Trainer` of a learner on a given dataset.

    Args:
      config: data and schedule, plus `learner` (the learner's config, whose
        `min_std`, `normalize` and `input` pick and fit the normalizer) and
        optionally `chunk` (a `ChunkConfig`: horizons and execution rule).
      env: the task evaluations run on.
      dataset: the demonstrations.
      make: the learner module's `make`, called with input and action widths
        To * O and Tp * A.

    Raises:
      ValueError: an invalid config field, or a batch larger than the dataset.
    """
    learner_config = config.learner
    chunk = active_chunk(config)
    config.check()
    if config.batch_size > dataset.num_steps:
        raise ValueError(
            f"{type(config).__name__}.batch_size ({config.batch_size}) is larger than "
            f"the dataset ({dataset.num_steps} steps in {dataset.num_episodes} "
            "episodes)"
        )
    input_field = getattr(learner_config, "input", "obs")
    view = training_view(dataset, chunk)
    _, learner = build_learners(config, env, make)
    normalizer = fit_normalizer(
        getattr(view, input_field),
        view.action,
        min_std=learner_config.min_std,
        enabled=learner_config.normalize,
    )
    if chunk is None:
        first_rows = jax.tree.map(lambda x: x[:1], view)
    else:
        first_rows = data_lib.windows_at(
            dataset,
            jnp.zeros((1,), jnp.int32),
            chunk.obs_horizon,
            chunk.prediction_horizon,
        )
    eval_steps = config.eval_steps or env.max_steps

    def sample(data: data_lib.Dataset, key: jax.Array):
        if chunk is None:
            return data_lib.sample_batch(data, key, config.batch_size)
        return data_lib.sample_windows(
            data, key, config.batch_size, chunk.obs_horizon, chunk.prediction_horizon
        )

    def init(key: jax.Array) -> OfflineRunState:
        key_learner, key_run = jax.random.split(key)
        train_state = learner.init(key_learner, first_rows)
        return OfflineRunState(
            train_state=train_state.replace(normalizer=normalizer),
            key=key_run,
            chunk=jnp.zeros((), jnp.int32),
        )

    def step(state: OfflineRunState, data: data_lib.Dataset):
        key_chunk = jax.random.fold_in(state.key, state.chunk)

        def one_update(train_state, index):
            key_batch, key_update = jax.random.split(
                jax.random.fold_in(key_chunk, index)
            )
            return learner.update(train_state, sample(data, key_batch), key_update)

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

    def evaluate(state: OfflineRunState, key: jax.Array) -> Metrics:
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
    return make_trainer_from_dataset(
        config, env, demonstrations(config, env, expert), make
    )
