"""The diffusion learner: config errors, its average, a bimodal learning run.

The contract every learner meets (purity, shapes, non-finite steps, vmap,
checkpoints) is tests/algorithms/test_conformance.py's.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import config as config_lib
from ilax.algorithms import diffusion
from ilax.training import updates
from ilax.types import Batch, Observation

SMALL = diffusion.DiffusionConfig(hidden_sizes=(64, 64))


def _bimodal(key, rows=4096):
    """c ~ U[-1, 1], x = +1 or -1 with probability 1/2, whatever c."""
    key_c, key_sign = jax.random.split(key)
    c = jax.random.uniform(key_c, (rows, 1), minval=-1.0, maxval=1.0)
    x = jnp.where(jax.random.bernoulli(key_sign, 0.5, (rows, 1)), 1.0, -1.0)
    return Batch(obs=c, privileged=c, action=x)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"schedule": "quadratic"}, "DiffusionConfig.schedule"),
        ({"sampler": "euler"}, "DiffusionConfig.sampler"),
        ({"ema_decay": 1.0}, "DiffusionConfig.ema_decay"),
        ({"sampler": "ddim", "ddim_steps": 200}, "DiffusionConfig.ddim_steps"),
        ({"time_embedding": 7}, "DiffusionConfig.time_embedding"),
        ({"schedule": "linear", "beta_end": 1.5}, "DiffusionConfig.beta_end"),
        # Ho's betas at T = 100 leave alpha_T = 0.36: refused, naming fields.
        ({"schedule": "linear"}, "alpha_T = 0.36.*beta_end"),
    ],
)
def test_bad_configs_name_the_field(overrides, match):
    config = config_lib.replace(SMALL, **overrides)
    with pytest.raises(ValueError, match=match):
        diffusion.make(config, observation_size=1, action_size=1)


def test_a_skipped_step_leaves_the_average_too():
    learner = diffusion.make(SMALL, observation_size=1, action_size=1)
    data = _bimodal(jax.random.key(0), rows=64)
    state = learner.init(jax.random.key(1), learner.fit_normalizer(data))
    assert isinstance(state, diffusion.DiffusionState)
    chex.assert_trees_all_equal(state.ema_params, state.params)
    update = jax.jit(learner.update)
    poisoned = data._replace(action=data.action.at[3, 0].set(jnp.inf))
    new, metrics = update(state, poisoned, jax.random.key(2))
    assert float(metrics["train/nonfinite"]) == 1.0
    chex.assert_trees_all_equal(new.ema_params, state.ema_params)
    new, metrics = update(state, data, jax.random.key(3))
    assert float(metrics["train/nonfinite"]) == 0.0
    assert set(metrics) == {"diffusion/loss", "diffusion/grad_norm", "train/nonfinite"}
    # The average moved by (1 - decay) of the step: decay * old + (1 - d) * new.
    expected = jax.tree.map(
        lambda old, p: SMALL.ema_decay * old + (1 - SMALL.ema_decay) * p,
        state.ema_params,
        new.params,
    )
    chex.assert_trees_all_close(new.ema_params, expected, rtol=1e-6)


@pytest.fixture(scope="module")
def trained():
    data = _bimodal(jax.random.key(10))
    learner = diffusion.make(SMALL, observation_size=1, action_size=1)
    return jax.jit(
        lambda key: updates.fit(learner, data, key, num_updates=2000, batch_size=256)
    )(jax.random.key(11))


def test_learner_samples_both_modes(trained):
    state, metrics = trained
    # Measured: loss 0.64 over the first 100 steps, 0.21 over the last 100.
    assert float(metrics["diffusion/loss"][-100:].mean()) < 0.35
    assert float(metrics["train/nonfinite"].sum()) == 0.0
    learner = diffusion.make(SMALL, observation_size=1, action_size=1)
    c = jnp.linspace(-1.0, 1.0, 1000)[:, None]
    policy = learner.make_policy(state)
    action, _, _ = jax.jit(policy.step)((), Observation(c, c), jax.random.key(12))
    a = np.asarray(action)[:, 0]
    assert action.shape == (1000, 1)
    near_plus, near_minus = np.mean(np.abs(a - 1) < 0.25), np.mean(np.abs(a + 1) < 0.25)
    # Measured (seeds 0 and 2, 2000 steps): 0.47 to 0.51 of the actions near
    # each mode, 0.2% to 0.9% between them (|a| < 0.5), where BC-MSE would
    # predict the mean, ~0, at every c.
    assert near_plus > 0.35 and near_minus > 0.35, (near_plus, near_minus)
    assert np.mean(np.abs(a) < 0.5) < 0.05
    # Both modes at every part of the conditioning range, not split by c.
    for part in (a[:500], a[500:]):
        assert np.mean(part > 0) > 0.3 and np.mean(part < 0) > 0.3


def test_policy_is_deterministic_per_key(trained):
    state, _ = trained
    config = config_lib.replace(SMALL, sampler="ddim", ddim_steps=5)
    policy = diffusion.make(config, observation_size=1, action_size=1).make_policy(
        state
    )
    c = jnp.zeros((2, 3, 1))  # any batch shape
    step = jax.jit(policy.step)
    first, _, _ = step((), Observation(c, c), jax.random.key(13))
    again, _, _ = step((), Observation(c, c), jax.random.key(13))
    assert first.shape == (2, 3, 1)
    np.testing.assert_array_equal(first, again)
    # One key per environment: the 6 identical observations get distinct draws.
    assert len(np.unique(np.asarray(first))) == 6
