"""Policy building blocks: batching of per-env functions and action noise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import policies
from ilax.types import Observation


def _observation(batch_shape):
    obs = jnp.arange(np.prod(batch_shape) * 2, dtype=jnp.float32).reshape(
        batch_shape + (2,)
    )
    return Observation(obs=obs, privileged=-obs)


@pytest.mark.parametrize("batch_shape", [(1,), (5,), (2, 3)])
def test_per_env_handles_any_batch_shape(batch_shape):
    def init(key):
        return jax.random.uniform(key, ())

    def step(state, observation, key):
        del key
        return observation.privileged * 2.0, state + 1.0, {"seen": state}

    policy = policies.per_env(step, init)
    state = policy.init(jax.random.key(0), batch_shape)
    assert state.shape == batch_shape
    observation = _observation(batch_shape)
    action, new_state, extras = policy.step(state, observation, jax.random.key(1))
    np.testing.assert_array_equal(action, -2.0 * observation.obs)
    np.testing.assert_array_equal(new_state, state + 1.0)
    np.testing.assert_array_equal(extras["seen"], state)
    if state.size > 1:
        assert len(np.unique(state)) == state.size  # one key per environment


def test_per_env_gives_each_environment_its_own_key():
    policy = policies.stateless(lambda observation, key: jax.random.normal(key, (1,)))
    action, _, _ = policy.step((), _observation((16,)), jax.random.key(2))
    assert len(np.unique(np.asarray(action))) == 16


def test_uniform_random_stays_in_bounds():
    low, high = np.array([-1.0, 0.0], np.float32), np.array([1.0, 0.5], np.float32)
    action, _, _ = policies.uniform_random(low, high).step(
        (), _observation((500,)), jax.random.key(3)
    )
    action = np.asarray(action)
    assert np.all(action >= low) and np.all(action <= high)
    np.testing.assert_allclose(action.mean(axis=0), (low + high) / 2, atol=0.05)


def test_action_noise_keeps_the_clean_label():
    clean = policies.stateless(lambda observation, key: jnp.full((2,), 0.25))
    bounds = (np.full(2, -1.0, np.float32), np.full(2, 1.0, np.float32))
    noisy = policies.with_action_noise(clean, np.array([0.0, 0.2]), *bounds)
    twice = policies.with_action_noise(noisy, 0.1, *bounds)
    action, _, extras = twice.step((), _observation((4000,)), jax.random.key(4))
    np.testing.assert_array_equal(extras["label"], 0.25)
    deviation = np.asarray(action) - 0.25
    # Independent noises add in variance: 0.1^2 and 0.1^2 + 0.2^2.
    np.testing.assert_allclose(
        deviation.std(axis=0), [0.1, np.hypot(0.1, 0.2)], rtol=0.05
    )


def test_action_noise_rejects_negative_std():
    clean = policies.stateless(lambda observation, key: jnp.zeros((1,)))
    with pytest.raises(ValueError, match="std must be >= 0"):
        policies.with_action_noise(clean, -1.0, np.zeros(1), np.ones(1))
