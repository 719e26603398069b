"""Aggregate-and-refit: the one routine DAgger, DART and teacher/student share.

New expert-labelled rows join the on-device buffer of everything labelled so
far, and the learner takes a fixed number of minibatch updates on the whole
buffer (warm-started from its current parameters, which converges in far
fewer updates than training from scratch every iteration).
"""

import jax
import jax.numpy as jnp

from ilax.data import buffer as buffer_lib
from ilax.types import Batch, Learner, Metrics, TrainState


def refit(
    learner: Learner,
    train_state: TrainState,
    buffer: buffer_lib.Buffer,
    key: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
) -> tuple[TrainState, Metrics]:
    """`num_updates` learner updates on minibatches drawn from `buffer`.

    Returns the new train state and the update metrics averaged over the
    updates, except `train/nonfinite`, which is the count of skipped updates.
    """
    if num_updates < 1:
        raise ValueError(f"refit: num_updates must be at least 1; got {num_updates}")
    if batch_size < 1:
        raise ValueError(f"refit: batch_size must be at least 1; got {batch_size}")

    # Keys by fold_in over the update index rather than scanning over split
    # keys: jax's key-reuse checker wrongly flags a vmapped scan over keys.
    def one_update(state, index):
        key_batch, key_update = jax.random.split(jax.random.fold_in(key, index))
        batch = buffer_lib.sample(buffer, key_batch, batch_size)
        return learner.update(state, batch, key_update)

    train_state, metrics = jax.lax.scan(
        one_update, train_state, jnp.arange(num_updates, dtype=jnp.int32)
    )
    summary = {name: jnp.mean(values) for name, values in metrics.items()}
    if "train/nonfinite" in metrics:
        summary["train/nonfinite"] = jnp.sum(metrics["train/nonfinite"])
    return train_state, summary


def aggregate_and_refit(
    learner: Learner,
    train_state: TrainState,
    buffer: buffer_lib.Buffer,
    rows: Batch,
    key: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
) -> tuple[TrainState, buffer_lib.Buffer, Metrics]:
    """Adds labelled `rows` to `buffer`, then refits the learner on all of it."""
    buffer = buffer_lib.add(buffer, rows)
    train_state, metrics = refit(
        learner,
        train_state,
        buffer,
        key,
        num_updates=num_updates,
        batch_size=batch_size,
    )
    metrics["labels/total"] = buffer.total_added.astype(jnp.float32)
    return train_state, buffer, metrics
