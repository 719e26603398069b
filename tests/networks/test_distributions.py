"""Distributions: hand-computed densities, modes and sample statistics."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ilax import networks
from ilax.networks import Gaussian, MixtureOfGaussians

LOG_SQRT_TWO_PI = 0.5 * math.log(2 * math.pi)


def test_gaussian_log_prob_by_hand():
    dist = Gaussian(mean=jnp.array([1.0, -2.0]), log_std=jnp.log(jnp.array([2.0, 1.0])))
    x = jnp.array([2.0, -2.0])
    # First dimension: z = (2 - 1) / 2 = 0.5; second: z = 0.
    expected = (-0.5 * 0.5**2 - math.log(2.0) - LOG_SQRT_TWO_PI) + (-LOG_SQRT_TWO_PI)
    np.testing.assert_allclose(networks.gaussian_log_prob(dist, x), expected, rtol=1e-6)
    assert networks.log_prob(dist, x).shape == ()


def test_gaussian_log_prob_is_batched_over_leading_axes():
    dist = Gaussian(jnp.zeros((4, 3, 2)), jnp.zeros((4, 3, 2)))
    out = networks.gaussian_log_prob(dist, jnp.ones((4, 3, 2)))
    np.testing.assert_allclose(out, np.full((4, 3), 2 * (-0.5 - LOG_SQRT_TWO_PI)))


def _two_components():
    # Weights 1/4 and 3/4, means 0 and 2, stds 1 and 1/2, in one dimension.
    return MixtureOfGaussians(
        logits=jnp.array([0.0, math.log(3.0)]),
        mean=jnp.array([[0.0], [2.0]]),
        log_std=jnp.log(jnp.array([[1.0], [0.5]])),
    )


def test_mixture_log_prob_by_hand():
    def normal_pdf(x, mean, std):
        return math.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))

    expected = math.log(
        0.25 * normal_pdf(1.0, 0.0, 1.0) + 0.75 * normal_pdf(1.0, 2.0, 0.5)
    )
    dist = _two_components()
    got = networks.mixture_log_prob(dist, jnp.array([1.0]))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(
        networks.log_prob(dist, jnp.array([1.0])), expected, rtol=1e-6
    )
    np.testing.assert_allclose(networks.mixture_weights(dist), [0.25, 0.75], rtol=1e-6)


def test_mixture_log_prob_stays_finite_far_from_every_component():
    got = networks.mixture_log_prob(_two_components(), jnp.array([1e3]))
    grad = jax.grad(lambda m: networks.mixture_log_prob(m, jnp.array([1e3])))(
        _two_components()
    )
    assert bool(jnp.isfinite(got)) and bool(jnp.all(jnp.isfinite(grad.mean)))


def test_one_component_mixture_is_its_gaussian():
    mean, log_std = jnp.array([[0.3, -1.0]]), jnp.array([[0.1, -0.4]])
    mixture = MixtureOfGaussians(jnp.array([0.7]), mean, log_std)
    x = jnp.array([0.5, 0.5])
    np.testing.assert_allclose(
        networks.mixture_log_prob(mixture, x),
        networks.gaussian_log_prob(Gaussian(mean[0], log_std[0]), x),
        rtol=1e-6,
    )


def test_modes():
    np.testing.assert_array_equal(networks.mixture_mode(_two_components()), [2.0])
    np.testing.assert_array_equal(networks.mode(_two_components()), [2.0])
    batch = MixtureOfGaussians(
        logits=jnp.array([[5.0, 0.0], [0.0, 5.0]]),
        mean=jnp.array([[[1.0, 1.0], [2.0, 2.0]], [[3.0, 3.0], [4.0, 4.0]]]),
        log_std=jnp.zeros((2, 2, 2)),
    )
    np.testing.assert_array_equal(networks.mixture_mode(batch), [[1, 1], [4, 4]])
    gaussian = Gaussian(jnp.array([0.5]), jnp.array([3.0]))
    np.testing.assert_array_equal(networks.mode(gaussian), [0.5])


def test_gaussian_samples_have_the_right_moments():
    dist = Gaussian(
        jnp.broadcast_to(jnp.array([1.0, -3.0]), (20_000, 2)),
        jnp.broadcast_to(jnp.log(jnp.array([0.5, 2.0])), (20_000, 2)),
    )
    draws = networks.sample(dist, jax.random.key(0))
    assert draws.shape == (20_000, 2)
    # Standard errors: 0.5 / sqrt(2e4) = 0.0035 and 0.014; 4 sigma margins.
    np.testing.assert_allclose(draws.mean(0), [1.0, -3.0], atol=0.06)
    np.testing.assert_allclose(draws.std(0), [0.5, 2.0], rtol=0.03)


def test_mixture_samples_pick_components_by_weight():
    single = _two_components()
    dist = jax.tree.map(lambda x: jnp.broadcast_to(x, (20_000,) + x.shape), single)
    draws = networks.sample(dist, jax.random.key(1))
    assert draws.shape == (20_000, 1)
    near_second = np.mean(np.asarray(draws[:, 0]) > 1.0)
    # P(x > 1) = 0.25 * P(N(0,1) > 1) + 0.75 * P(N(2, 0.25) > 1)
    #          = 0.25 * 0.15866 + 0.75 * 0.97725 = 0.77260; sd of the
    # estimate sqrt(p (1 - p) / 2e4) = 0.003.
    assert abs(near_second - 0.77260) < 0.012
