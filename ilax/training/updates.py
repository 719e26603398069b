"""A block of learner updates as one `lax.scan`: the loop every trainer runs.

Offline training, DAgger's refits and the experiments' own training all take
a fixed number of minibatch updates in a row; `scan_updates` is that loop,
with the keys drawn the one way that jax's key-reuse checker accepts under
`vmap` over seeds, and `summarize` reduces its stacked metrics. `fit` is the
whole of a learner's life on data held in memory: normalizer, init, updates.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ilax.types import Batch, Learner, Metrics, Observation

NONFINITE = "train/nonfinite"


def scan_updates(
    update: Callable[[Any, Batch, jax.Array], tuple[Any, Metrics]],
    state: Any,
    sample: Callable[[jax.Array], Batch],
    key: jax.Array,
    num_updates: int,
) -> tuple[Any, Metrics]:
    """`num_updates` calls of `update`, each on a fresh minibatch of `sample`.

    Update i draws its minibatch with the first and takes its step with the
    second half of `split(fold_in(key, i))`. Keys come from `fold_in` over
    the update index rather than from a scan over split keys: jax's
    key-reuse checker (jax 0.10) flags a scan over a key array once seeds
    are vmapped.

    Args:
      update: a learner's `update(state, batch, key)`.
      state: the train state to start from.
      sample: `key -> Batch`, a minibatch of the training data.
      key: a typed key for the whole block.
      num_updates: a static count, at least 1.

    Returns:
      The final state and the metrics of every update, stacked
      `[num_updates]`.

    Raises:
      ValueError: `num_updates` below 1.
    """
    if num_updates < 1:
        raise ValueError(f"scan_updates: num_updates must be >= 1; got {num_updates}")

    def one_update(state, index):
        key_batch, key_update = jax.random.split(jax.random.fold_in(key, index))
        return update(state, sample(key_batch), key_update)

    return jax.lax.scan(one_update, state, jnp.arange(num_updates, dtype=jnp.uint32))


def summarize(metrics: Metrics) -> Metrics:
    """Means over the updates of a block, except `train/nonfinite`, summed.

    `train/nonfinite` then counts the skipped updates of the block.
    """
    summary = {name: jnp.mean(values) for name, values in metrics.items()}
    if NONFINITE in metrics:
        summary[NONFINITE] = jnp.sum(metrics[NONFINITE])
    return summary


def fit(
    learner: Learner,
    data: Batch,
    key: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
) -> tuple[Any, Metrics]:
    """A learner trained on `data`: its normalizer, init, then the updates.

    The normalizer is fitted on all of `data`; update i draws `batch_size`
    rows uniformly with replacement. Pure: jit it with the counts static, or
    vmap it over keys for seeds.

    Args:
      learner: the learner.
      data: every training row, a flat `Batch` (`action_mask` rows are
        sampled with the others).
      key: a typed key; the first half of its split initializes the learner,
        the second drives `scan_updates`.
      num_updates: updates to take.
      batch_size: rows per minibatch.

    Returns:
      The final train state and the metrics of every update, `[num_updates]`.
    """
    key_init, key_run = jax.random.split(key)
    state = learner.init(key_init, learner.fit_normalizer(data))
    num_rows = data.action.shape[0]

    def sample(key):
        rows = jax.random.randint(key, (batch_size,), 0, num_rows)
        return jax.tree.map(lambda x: x[rows], data)

    return scan_updates(learner.update, state, sample, key_run, num_updates)


def fit_early_stopping(
    learner: Learner,
    data: Batch,
    key: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
    check_every: int,
    validation_fraction: float = 0.3,
) -> tuple[Any, Metrics]:
    """`fit` on part of `data`, keeping the state that did best on the rest.

    The rows are shuffled; `validation_fraction` of them (at least one) are
    held out and the learner trains on the others. Every `check_every`
    updates its policy acts on the held-out inputs, and the state whose
    actions came closest to the held-out labels (mean squared error) is the
    one returned: BC's early stopping as Ho & Ermon ran it (a 70/30 split).
    Pure: jit it with the counts static.

    Returns:
      The kept train state and the metrics: `validation/action_mse` per
      check `[num_updates // check_every]` and `validation/best_check`.

    Raises:
      ValueError: `num_updates` not a positive multiple of `check_every`, or
        fewer than 2 rows.
    """
    num_rows = data.action.shape[0]
    if num_rows < 2 or check_every < 1 or num_updates % check_every:
        raise ValueError(
            f"fit_early_stopping: needs >= 2 rows and num_updates a multiple of "
            f"check_every; got {num_rows} rows, {num_updates} and {check_every}"
        )
    key_split, key_init, key_run, key_act = jax.random.split(key, 4)
    held_out = max(1, int(round(validation_fraction * num_rows)))
    order = jax.random.permutation(key_split, num_rows)
    validation = jax.tree.map(lambda x: x[order[:held_out]], data)
    train = jax.tree.map(lambda x: x[order[held_out:]], data)
    state = learner.init(key_init, learner.fit_normalizer(train))
    train_rows = num_rows - held_out

    def sample(key):
        rows = jax.random.randint(key, (batch_size,), 0, train_rows)
        return jax.tree.map(lambda x: x[rows], train)

    def error(state, key):
        # A stochastic policy is judged by one draw per row.
        key_init, key_step = jax.random.split(key)
        policy = learner.make_policy(state)
        policy_state = policy.init(key_init, (held_out,))
        observation = Observation(validation.obs, validation.privileged)
        action, _, _ = policy.step(policy_state, observation, key_step)
        return jnp.mean((action - validation.action) ** 2)

    def block(carry, index):
        state, best, best_error = carry
        state, _ = scan_updates(
            learner.update,
            state,
            sample,
            jax.random.fold_in(key_run, index),
            check_every,
        )
        current = error(state, jax.random.fold_in(key_act, index + 1))
        better = current < best_error
        best = jax.tree.map(lambda new, old: jnp.where(better, new, old), state, best)
        return (state, best, jnp.minimum(current, best_error)), current

    start = (state, state, error(state, jax.random.fold_in(key_act, 0)))
    checks = num_updates // check_every
    (_, best, _), errors = jax.lax.scan(
        block, start, jnp.arange(checks, dtype=jnp.uint32)
    )
    metrics = {
        "validation/action_mse": errors,
        "validation/best_check": jnp.argmin(errors),
    }
    return best, metrics
