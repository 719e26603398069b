"""The normalizer: fitted statistics, the std floor, identity, round trip."""

import jax
import jax.numpy as jnp
import numpy as np

from ilax.data.normalizer import denormalize, fit_normalizer, normalize


def test_fit_floors_constant_features_and_round_trips():
    inputs = jnp.array([[1.0, 5.0], [3.0, 5.0]])  # column 1 is constant
    actions = jnp.array([[0.0], [4.0]])
    n = fit_normalizer(inputs, actions, min_std=0.01)
    np.testing.assert_allclose(n.obs_mean, [2.0, 5.0])
    np.testing.assert_allclose(n.obs_std, [1.0, 0.01])  # floored, not 0
    np.testing.assert_allclose(n.action_std, [2.0])
    z = normalize(inputs, n.obs_mean, n.obs_std)
    np.testing.assert_allclose(z, [[-1.0, 0.0], [1.0, 0.0]])
    # Leading axes broadcast against the per-feature statistics.
    batch = jax.random.normal(jax.random.key(0), (3, 4, 1))
    back = denormalize(
        normalize(batch, n.action_mean, n.action_std), n.action_mean, n.action_std
    )
    np.testing.assert_allclose(back, batch, rtol=1e-6, atol=1e-6)


def test_disabled_normalizer_is_the_identity():
    n = fit_normalizer(
        jnp.full((5, 3), 7.0), jnp.full((5, 2), -2.0), min_std=0.1, enabled=False
    )
    np.testing.assert_array_equal(n.obs_mean, np.zeros(3))
    np.testing.assert_array_equal(n.action_std, np.ones(2))
