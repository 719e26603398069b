"""The conditional VAE learner: config errors, its metrics, its policy, a bimodal run.

The contract every learner meets (purity, shapes, non-finite steps, vmap,
checkpoints) is tests/algorithms/test_conformance.py's.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import config as config_lib
from ilax.algorithms import bc, vae
from ilax.metrics import mode_mass
from ilax.training import updates
from ilax.types import Batch, Observation

# kl_weight 0.1: at 1 the posterior collapses on this data (see the slow test).
SMALL = vae.VAEConfig(hidden_sizes=(64, 64), kl_weight=0.1)
MODES = jnp.array([[1.0], [-1.0]])


def _bimodal(key, rows=4096):
    """c ~ U[-1, 1], x = +1 or -1 with probability 1/2 whatever c, noise 0.01."""
    key_c, key_sign, key_noise = jax.random.split(key, 3)
    c = jax.random.uniform(key_c, (rows, 1), minval=-1.0, maxval=1.0)
    sign = jnp.where(jax.random.bernoulli(key_sign, 0.5, (rows, 1)), 1.0, -1.0)
    return Batch(
        obs=c,
        privileged=c,
        action=sign + 0.01 * jax.random.normal(key_noise, (rows, 1)),
    )


def _train(config, data, seed, steps=2000, make=vae.make):
    learner = make(config, observation_size=1, action_size=1)
    state, metrics = jax.jit(
        lambda key: updates.fit(learner, data, key, num_updates=steps, batch_size=256)
    )(jax.random.key(seed))
    actions, _, _ = jax.jit(learner.make_policy(state).step)(
        (), Observation(_C, _C), jax.random.key(seed + 100)
    )
    return state, metrics, actions


_C = jnp.linspace(-1.0, 1.0, 1000)[:, None]


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"latent_size": 0}, "VAEConfig.latent_size must be > 0; got 0"),
        ({"latent_size": -3}, "VAEConfig.latent_size"),
        ({"kl_weight": -1.0}, "VAEConfig.kl_weight"),
        ({"input": "image"}, "VAEConfig.input"),
        ({"hidden_sizes": (0,)}, "VAEConfig.hidden_sizes"),
    ],
)
def test_bad_configs_name_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        vae.make(
            config_lib.replace(SMALL, **overrides), observation_size=1, action_size=1
        )


def test_bad_sizes_name_the_field():
    with pytest.raises(ValueError, match="action_size must be a positive int; got 0"):
        vae.make(SMALL, observation_size=1, action_size=0)
    with pytest.raises(ValueError, match="horizon must be a positive int; got 0"):
        vae.make(SMALL, observation_size=1, action_size=1, horizon=0)


def test_loss_is_reconstruction_plus_weighted_kl():
    learner = vae.make(SMALL, observation_size=1, action_size=1)
    data = _bimodal(jax.random.key(0), rows=64)
    state = learner.init(jax.random.key(1), learner.fit_normalizer(data))
    _, metrics = jax.jit(learner.update)(state, data, jax.random.key(3))
    assert set(metrics) == {
        "vae/loss",
        "vae/reconstruction",
        "vae/kl",
        "vae/grad_norm",
        "train/nonfinite",
    }
    np.testing.assert_allclose(
        metrics["vae/loss"],
        metrics["vae/reconstruction"] + 0.1 * metrics["vae/kl"],
        rtol=1e-6,
    )


def test_policy_shapes_for_a_flattened_chunk():
    # An action chunk of Tp = 4 steps of A = 2, flattened to 8.
    data = Batch(jnp.ones((16, 3)), jnp.ones((16, 3)), jnp.ones((16, 8)))
    for prior_sample in (True, False):
        config = config_lib.replace(SMALL, prior_sample=prior_sample)
        learner = vae.make(config, observation_size=3, action_size=2, horizon=4)
        state = learner.init(jax.random.key(0), learner.fit_normalizer(data))
        step = jax.jit(learner.make_policy(state).step)
        obs = Observation(jnp.zeros((2, 5, 3)), jnp.zeros((2, 5, 3)))
        first, _, _ = step((), obs, jax.random.key(1))
        second, _, _ = step((), obs, jax.random.key(2))
        assert first.shape == (2, 5, 8)
        flat = np.asarray(first).reshape(10, 8)
        if prior_sample:  # one latent draw per environment
            assert len(np.unique(flat[:, 0])) == 10
        else:  # z = 0: every environment and key gives the same action
            np.testing.assert_array_equal(first, second)
            assert len(np.unique(flat[:, 0])) == 1


@pytest.fixture(scope="module")
def trained():
    return _train(SMALL, _bimodal(jax.random.key(10)), seed=0)


def test_cvae_samples_both_modes(trained):
    state, metrics, actions = trained
    assert float(metrics["train/nonfinite"].sum()) == 0.0
    # Measured (seeds 0-2, 2000 steps): reconstruction 0.15-0.18 over the
    # first 100 steps, 0.014-0.016 over the last; KL 0.95-0.96 nats.
    assert float(metrics["vae/reconstruction"][-100:].mean()) < 0.05
    mass = np.asarray(mode_mass(actions, MODES, 0.25))
    # Measured (seeds 0-2): 0.40-0.45 of the samples within 0.25 of each mode,
    # 7-9.5% between them (|a| < 0.5); BC-MSE predicts ~0 (test below).
    assert np.all((mass > 0.25) & (mass < 0.75)), mass
    assert float(jnp.mean(jnp.abs(actions) < 0.5)) < 0.2
    a = np.asarray(actions)[:, 0]
    for part in (a[:500], a[500:]):  # both modes across the conditioning range
        assert np.mean(part > 0) > 0.25 and np.mean(part < 0) > 0.25


def test_bc_mse_averages_the_modes():
    config = bc.BCConfig(hidden_sizes=(64, 64))
    _, _, actions = _train(
        config, _bimodal(jax.random.key(10)), seed=0, steps=500, make=bc.make
    )
    # Measured: |action| < 0.1 everywhere, no sample within 0.25 of a mode.
    np.testing.assert_array_equal(mode_mass(actions, MODES, 0.25), [0.0, 0.0])


@pytest.mark.slow
def test_unit_kl_weight_collapses_the_posterior():
    config = config_lib.replace(SMALL, kl_weight=1.0)
    _, metrics, actions = _train(config, _bimodal(jax.random.key(10)), seed=0)
    # Measured (seed 0): KL 0.005 nats, reconstruction 0.496 (the mean's 0.5),
    # every sample within 0.5 of 0.
    assert float(metrics["vae/kl"][-100:].mean()) < 0.05
    assert float(jnp.mean(jnp.abs(actions) < 0.5)) > 0.9
