"""The normalizer: fitted statistics, the std floor, identity, round trip."""

import jax
import jax.numpy as jnp
import numpy as np

from ilax.data.normalizer import (
    RunningNormalizer,
    denormalize,
    fit_normalizer,
    normalize,
)


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


def test_running_normalizer_matches_the_statistics_of_all_batches_at_once():
    rng = np.random.default_rng(0)
    parts = [
        rng.normal(size=(n, 3)) * np.array([1.0, 5.0, 0.1]) + np.array([2.0, -1.0, 0.0])
        for n in (7, 1, 30)
    ]
    running = RunningNormalizer.create(3)
    np.testing.assert_array_equal(
        running.normalize(np.ones((2, 3)), min_std=1e-2, clip=10.0), np.ones((2, 3))
    )
    for part in parts:
        running = running.update(part)
    running = running.update(np.zeros((0, 3)))  # an empty batch changes nothing
    everything = np.concatenate(parts)
    assert float(running.count) == 38.0
    np.testing.assert_allclose(running.mean, everything.mean(0), atol=1e-5)
    np.testing.assert_allclose(running.var, everything.var(0), rtol=1e-4)
    # Standardized with the floored std, then clipped.
    x = np.array([[2.0, -1.0, 50.0]])
    expected = (x - everything.mean(0)) / np.maximum(everything.std(0), 0.5)
    np.testing.assert_allclose(
        running.normalize(x, min_std=0.5, clip=10.0),
        np.clip(expected, -10.0, 10.0),
        rtol=1e-4,
        atol=1e-5,
    )
    assert float(running.normalize(x, min_std=0.5, clip=3.0)[0, 2]) == 3.0
