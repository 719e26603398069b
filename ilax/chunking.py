"""Action chunks: observation histories, receding horizon and temporal ensembling.

A chunked policy sees the last `obs_horizon` (To) observations and predicts
the next `prediction_horizon` (Tp) actions at once. Two ways to execute them:

- receding horizon (Diffusion Policy, Chi et al. 2023): execute the first
  `action_horizon` (Ta) actions of a chunk open-loop, then predict again;
- temporal ensembling (ACT, Zhao et al. 2023): predict every step and act
  with a weighted average of every stored chunk's prediction for the current
  step, with weight exp(-m i) where i = 0 is the oldest prediction.

The observation history, the chunks and their ages live in the per-environment
`PolicyState`, so a batch of environments with episodes ending at different
steps never mixes them (the rollout re-initializes the state of an ended
episode). A chunk predictor is an ordinary flat learner: its inputs are the
flattened history `[To * O]` and its outputs the flattened chunk `[Tp * A]`
(`flatten_window` builds its training batches), and `chunked` turns its
policy into one that acts on single observations.
"""

import dataclasses

import jax
import jax.numpy as jnp
from flax import struct

from ilax import config as config_lib
from ilax.types import Batch, Observation, Policy, Window


@dataclasses.dataclass(kw_only=True)
class ChunkConfig:
    """How a chunked policy observes and executes its action chunks."""

    obs_horizon: int = 1
    """To: observations the predictor sees (the current one and To - 1
    before it; at an episode's start the first observation is repeated)."""
    prediction_horizon: int = 1
    """Tp: actions predicted at once, the first for the current step."""
    action_horizon: int = 1
    """Ta: actions executed from each chunk before predicting again
    (1 <= Ta <= Tp); unused with temporal ensembling, which predicts every
    step."""
    temporal_ensembling: bool = False
    """Predict every step and average the stored chunks' actions for the
    current step (ACT) instead of executing Ta actions open-loop."""
    ensembling_decay: float = 0.01
    """m in the weights exp(-m i) of temporal ensembling, i = 0 for the
    oldest prediction (ACT's 0.01 weighs older predictions slightly more)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_types(self)
        owner = type(self).__name__
        config_lib.check_fields(
            self,
            positive=("obs_horizon", "prediction_horizon", "action_horizon"),
            non_negative=("ensembling_decay",),
        )
        if self.action_horizon > self.prediction_horizon:
            raise ValueError(
                f"{owner}.action_horizon (Ta) must be <= prediction_horizon (Tp = "
                f"{self.prediction_horizon}): a chunk holds only Tp actions; got "
                f"{self.action_horizon}"
            )


def flatten_window(window: Window) -> Batch:
    """A `Batch` of flattened windows: obs `[B, To * O]`, action `[B, Tp * A]`.

    `action[:, j * A:(j + 1) * A]` is the label j steps ahead. Labels past an
    episode's end repeat its last action (see `Window`), and `action_mask`
    `[B, Tp]` keeps the window's mark of them: a learner that ignores it is
    taught to hold still there, as Diffusion Policy pads its chunks; ACT
    leaves them out of its loss.
    """
    batch = window.obs.shape[0]
    return Batch(
        obs=window.obs.reshape(batch, -1),
        privileged=window.privileged.reshape(batch, -1),
        action=window.action.reshape(batch, -1),
        action_mask=window.action_mask,
    )


@struct.dataclass
class ChunkState:
    """Per-environment state of a chunked policy, each field `[B, ...]`."""

    history: Observation  # obs [B, To, O], privileged [B, To, P]
    chunks: jax.Array  # [B, K, Tp, A]; K = Tp with ensembling, else 1
    age: jax.Array  # [B, K] int32: index in chunk k of the current step; -1 empty
    started: jax.Array  # [B] bool: the history holds this episode's observations


def chunked_policy(
    predict,
    config: ChunkConfig,
    *,
    observation_size: int,
    privileged_size: int,
    action_size: int,
) -> Policy:
    """A `Policy` that executes the chunks of `predict` (see the module docstring).

    Args:
      predict: `predict(history, key) -> chunks` over the batch: `history`
        is an `Observation` of `[B, To, O]` / `[B, To, P]` arrays, the
        result `[B, Tp, A]`.
      config: horizons and execution rule; read once here.
      observation_size: O.
      privileged_size: P.
      action_size: A, one step's action width.

    Returns:
      The policy; its `extras["chunk/predicted"]` is 1.0 on steps where the
      predictor ran for that environment. With receding horizon the
      predictor runs only on steps where some environment needs a new chunk
      (a batch-level `lax.cond`), so Ta = 8 costs an eighth of Ta = 1.

    Raises:
      ValueError: an invalid config field.
    """
    config.check()
    to, tp, ta = config.obs_horizon, config.prediction_horizon, config.action_horizon
    ensembling = config.temporal_ensembling
    slots = tp if ensembling else 1

    def init(key: jax.Array, batch_shape: tuple[int, ...]) -> ChunkState:
        del key  # nothing random: an empty history and no chunks
        return ChunkState(
            history=Observation(
                obs=jnp.zeros(batch_shape + (to, observation_size)),
                privileged=jnp.zeros(batch_shape + (to, privileged_size)),
            ),
            chunks=jnp.zeros(batch_shape + (slots, tp, action_size)),
            age=jnp.full(batch_shape + (slots,), -1, jnp.int32),
            started=jnp.zeros(batch_shape, bool),
        )

    def push(history: jax.Array, new: jax.Array, started: jax.Array) -> jax.Array:
        # At an episode's start the history is the first observation repeated.
        shifted = jnp.concatenate([history[..., 1:, :], new[..., None, :]], axis=-2)
        filled = jnp.broadcast_to(new[..., None, :], history.shape)
        return jnp.where(started[..., None, None], shifted, filled)

    def step(state: ChunkState, observation: Observation, key: jax.Array):
        history = Observation(
            obs=push(state.history.obs, observation.obs, state.started),
            privileged=push(
                state.history.privileged, observation.privileged, state.started
            ),
        )
        if ensembling:
            needs = jnp.ones(state.started.shape, bool)
        else:
            needs = (state.age[..., 0] < 0) | (state.age[..., 0] >= ta)
        # The key crosses the cond as raw data: under vmap (seeds) the cond
        # becomes a select, and jax's key-reuse checker (jax 0.10) then counts
        # a key used in one branch as consumed twice.
        impl = jax.random.key_impl(key)
        fresh = jax.lax.cond(
            jnp.any(needs),
            lambda data: predict(
                history, jax.random.wrap_key_data(data, impl=impl)
            ).astype(state.chunks.dtype),
            lambda data: jnp.zeros(state.chunks.shape[:-3] + (tp, action_size)),
            jax.random.key_data(key),
        )
        if ensembling:
            older = state.age[..., :-1]
            chunks = jnp.concatenate(
                [fresh[..., None, :, :], state.chunks[..., :-1, :, :]], axis=-3
            )
            age = jnp.concatenate(
                [
                    jnp.zeros(older.shape[:-1] + (1,), jnp.int32),
                    older,  # advanced already when stored
                ],
                axis=-1,
            )
        else:
            chunks = jnp.where(
                needs[..., None, None, None], fresh[..., None, :, :], state.chunks
            )
            age = jnp.where(needs[..., None], 0, state.age)
        valid = (age >= 0) & (age < tp)
        index = jnp.clip(age, 0, tp - 1)
        # actions[..., k, :] is chunk k's prediction for the current step.
        actions = jnp.take_along_axis(chunks, index[..., None, None], axis=-2)[
            ..., 0, :
        ]
        # exp(-m i) with i counted from the oldest valid prediction: relative
        # to the oldest, a prediction `age` steps old weighs exp(-m (a_max - age)).
        oldest = jnp.max(jnp.where(valid, age, 0), axis=-1, keepdims=True)
        weight = jnp.where(
            valid, jnp.exp(-config.ensembling_decay * (oldest - age)), 0.0
        )
        action = jnp.sum(weight[..., None] * actions, axis=-2) / jnp.sum(
            weight, axis=-1, keepdims=True
        )
        next_state = ChunkState(
            history=history,
            chunks=chunks,
            age=jnp.where(age >= 0, age + 1, -1),
            started=jnp.ones_like(state.started),
        )
        return action, next_state, {"chunk/predicted": needs.astype(jnp.float32)}

    return Policy(init=init, step=step)


def chunked(
    flat_policy: Policy,
    config: ChunkConfig,
    *,
    observation_size: int,
    privileged_size: int,
    action_size: int,
) -> Policy:
    """The chunked policy of a flat learner's policy (see the module docstring).

    Args:
      flat_policy: a learner's policy over flattened histories: it reads an
        `Observation` of `[B, To * O]` / `[B, To * P]` arrays and returns
        `[B, Tp * A]` chunks; it must be stateless (its state `()`).
      config: horizons and execution rule.
      observation_size: O.
      privileged_size: P.
      action_size: A, one step's action width.

    Returns:
      A `Policy` over `[B]`-batched single observations that keeps each
      environment's history and executes the chunks (`chunked_policy`).
    """

    def predict(history: Observation, key: jax.Array) -> jax.Array:
        batch_shape = history.obs.shape[:-2]
        flat = Observation(
            obs=history.obs.reshape(batch_shape + (-1,)),
            privileged=history.privileged.reshape(batch_shape + (-1,)),
        )
        chunk, _, _ = flat_policy.step((), flat, key)
        return chunk.reshape(batch_shape + (config.prediction_horizon, action_size))

    return chunked_policy(
        predict,
        config,
        observation_size=observation_size,
        privileged_size=privileged_size,
        action_size=action_size,
    )
