"""BC losses against hand-computed values."""

import math

import jax.numpy as jnp
import numpy as np

from ilax.algorithms import bc
from ilax.networks import Gaussian, MixtureOfGaussians

LOG_SQRT_TWO_PI = 0.5 * math.log(2 * math.pi)


def test_mse_averages_over_batch_and_dimensions():
    prediction = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    target = jnp.array([[0.0, 0.0], [0.0, 3.0]])
    # Squared errors 1, 4, 0, 9 -> mean 3.5.
    np.testing.assert_allclose(bc.mse_loss(prediction, target), 3.5)


def test_gaussian_nll_sums_dimensions_and_averages_the_batch():
    dist = Gaussian(
        mean=jnp.zeros((2, 2)), log_std=jnp.array([[0.0, math.log(2.0)]] * 2)
    )
    target = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    row0 = (0.5 * 1.0 + LOG_SQRT_TWO_PI) + (0.5 * 1.0 + math.log(2.0) + LOG_SQRT_TWO_PI)
    row1 = LOG_SQRT_TWO_PI + (math.log(2.0) + LOG_SQRT_TWO_PI)
    np.testing.assert_allclose(bc.gaussian_nll(dist, target), (row0 + row1) / 2, 1e-6)


def test_mixture_nll_by_hand():
    # Two equally weighted unit Gaussians at -1 and +1, labels at -1 and 3.
    dist = MixtureOfGaussians(
        logits=jnp.zeros((2, 2)),
        mean=jnp.broadcast_to(jnp.array([[-1.0], [1.0]]), (2, 2, 1)),
        log_std=jnp.zeros((2, 2, 1)),
    )
    target = jnp.array([[-1.0], [3.0]])

    def density(x):
        return sum(
            0.5 * math.exp(-0.5 * (x - m) ** 2) / math.sqrt(2 * math.pi)
            for m in (-1.0, 1.0)
        )

    expected = -(math.log(density(-1.0)) + math.log(density(3.0))) / 2
    np.testing.assert_allclose(bc.mixture_nll(dist, target), expected, rtol=1e-6)
