"""The conditional GAN learner: config errors, its two players, its policy, a run.

The contract every learner meets (purity, shapes, non-finite steps, vmap,
checkpoints) is tests/algorithms/test_conformance.py's.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import config as config_lib
from ilax.algorithms import gan
from ilax.metrics import mode_mass
from ilax.training import updates
from ilax.types import Batch, Observation

SMALL = gan.GANConfig(hidden_sizes=(64, 64))
MODES = jnp.array([[1.0], [-1.0]])
_C = jnp.linspace(-1.0, 1.0, 1000)[:, None]


def _bimodal(key, rows=4096):
    """c ~ U[-1, 1], x = +1 or -1 with probability 1/2 whatever c, noise 0.01."""
    key_c, key_sign, key_noise = jax.random.split(key, 3)
    c = jax.random.uniform(key_c, (rows, 1), minval=-1.0, maxval=1.0)
    sign = jnp.where(jax.random.bernoulli(key_sign, 0.5, (rows, 1)), 1.0, -1.0)
    noise = 0.01 * jax.random.normal(key_noise, (rows, 1))
    return Batch(obs=c, privileged=c, action=sign + noise)


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"noise_size": 0}, "GANConfig.noise_size must be a positive int; got 0"),
        ({"discriminator_steps": 0}, "GANConfig.discriminator_steps"),
        ({"generator_loss": "wasserstein"}, "GANConfig.generator_loss"),
        ({"adam_b1": 1.0}, "GANConfig.adam_b1"),
        ({"generator_learning_rate": 0.0}, "GANConfig.generator_learning_rate"),
    ],
)
def test_bad_configs_name_the_field(overrides, match):
    config = config_lib.replace(SMALL, **overrides)
    with pytest.raises(ValueError, match=match):
        gan.make(config, observation_size=1, action_size=1)


def test_bad_sizes_name_the_field():
    with pytest.raises(ValueError, match="observation_size must be a positive int"):
        gan.make(SMALL, observation_size=0, action_size=1)


def test_a_non_finite_label_discards_both_players_steps():
    config = config_lib.replace(SMALL, discriminator_steps=3)
    learner = gan.make(config, observation_size=1, action_size=1)
    data = _bimodal(jax.random.key(0), rows=64)
    state = learner.init(jax.random.key(1), learner.fit_normalizer(data))
    update = jax.jit(learner.update)
    # A NaN in an action reaches only the discriminator's loss; the whole
    # update, generator included, must be discarded.
    poisoned = data._replace(action=data.action.at[3, 0].set(jnp.nan))
    new, metrics = update(state, poisoned, jax.random.key(2))
    assert float(metrics["train/nonfinite"]) == 1.0
    assert set(new.params) == set(gan.PLAYERS) == set(new.opt_state)
    chex.assert_trees_all_equal(new.params, state.params)
    chex.assert_trees_all_equal(new.opt_state, state.opt_state)
    new, metrics = update(new, data, jax.random.key(3))
    assert float(metrics["train/nonfinite"]) == 0.0
    assert set(metrics) == {
        "gan/discriminator_loss",
        "gan/generator_loss",
        "gan/d_real",
        "gan/d_fake",
        "train/nonfinite",
    }
    # Three discriminator steps, one generator step, each on its own optimizer.
    assert int(new.opt_state["discriminator"][0].count) == 3
    assert int(new.opt_state["generator"][0].count) == 1


def test_policy_shapes_for_a_flattened_chunk():
    data = Batch(jnp.ones((16, 3)), jnp.ones((16, 3)), jnp.ones((16, 8)))
    learner = gan.make(SMALL, observation_size=3, action_size=2, horizon=4)
    state = learner.init(jax.random.key(0), learner.fit_normalizer(data))
    step = jax.jit(learner.make_policy(state).step)
    obs = Observation(jnp.zeros((2, 5, 3)), jnp.zeros((2, 5, 3)))
    first, _, _ = step((), obs, jax.random.key(1))
    again, _, _ = step((), obs, jax.random.key(1))
    assert first.shape == (2, 5, 8)
    np.testing.assert_array_equal(first, again)
    # One noise draw per environment: 10 identical observations, 10 actions.
    assert len(np.unique(np.asarray(first).reshape(10, 8)[:, 0])) == 10


@pytest.fixture(scope="module")
def trained():
    data = _bimodal(jax.random.key(10))
    learner = gan.make(SMALL, observation_size=1, action_size=1)
    state, metrics = jax.jit(
        lambda key: updates.fit(learner, data, key, num_updates=2000, batch_size=256)
    )(jax.random.key(0))
    actions, _, _ = jax.jit(learner.make_policy(state).step)(
        (), Observation(_C, _C), jax.random.key(100)
    )
    return metrics, actions


def test_gan_samples_both_modes(trained):
    metrics, actions = trained
    assert float(metrics["train/nonfinite"].sum()) == 0.0
    # Measured (seeds 0-2): d_real 0.52-0.54 and d_fake 0.46-0.48 over the
    # last 100 updates, near the equilibrium's 1/2.
    for name in ("gan/d_real", "gan/d_fake"):
        assert 0.35 < float(metrics[name][-100:].mean()) < 0.65
    mass = np.asarray(mode_mass(actions, MODES, 0.25))
    # Measured (seeds 0-2, 2000 updates): 0.47-0.51 of the samples within 0.25
    # of each mode, 1-2% between them (|a| < 0.5); minimax generator loss,
    # seed 0: 0.51 and 0.45. BC-MSE predicts ~0 (tests/algorithms/vae).
    assert np.all((mass > 0.3) & (mass < 0.7)), mass
    assert float(jnp.mean(jnp.abs(actions) < 0.5)) < 0.1
    a = np.asarray(actions)[:, 0]
    for part in (a[:500], a[500:]):  # both modes across the conditioning range
        assert np.mean(part > 0) > 0.25 and np.mean(part < 0) > 0.25
