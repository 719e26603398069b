"""BC's early stopping: the kept state is the best check's, exactly."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.algorithms import bc
from ilax.training import updates
from ilax.types import Batch


def data(rows=40):
    x = jax.random.normal(jax.random.key(0), (rows, 2))
    noise = 0.3 * jax.random.normal(jax.random.key(1), (rows, 1))
    return Batch(x, x, jnp.tanh(x[:, :1]) + noise)


def fit(num_updates):
    # A large network on 28 noisy rows overfits: held-out error turns up.
    learner = bc.make(
        bc.BCConfig(hidden_sizes=(128, 128), learning_rate=3e-3),
        observation_size=2,
        action_size=1,
    )
    run = jax.jit(
        lambda key: updates.fit_early_stopping(
            learner, data(), key, num_updates=num_updates, batch_size=16, check_every=50
        )
    )
    return run(jax.random.key(2))


def test_the_kept_state_is_the_one_with_the_lowest_held_out_error():
    state, metrics = fit(1000)
    errors = np.asarray(metrics["validation/action_mse"])
    best = int(metrics["validation/best_check"])
    assert errors.shape == (20,) and best == int(np.argmin(errors))
    assert errors[-1] > errors[best]  # it overfits, so stopping matters
    # Training only as far as the best check gives the kept state, bit for bit
    # (block i uses fold_in(key, i) either way).
    again, _ = fit(50 * (best + 1))
    chex.assert_trees_all_equal(again.params, state.params)


def test_counts_that_do_not_divide_are_refused():
    learner = bc.make(bc.BCConfig(), observation_size=2, action_size=1)
    with pytest.raises(ValueError, match="num_updates a multiple of check_every"):
        updates.fit_early_stopping(
            learner,
            data(),
            jax.random.key(0),
            num_updates=120,
            batch_size=8,
            check_every=50,
        )
