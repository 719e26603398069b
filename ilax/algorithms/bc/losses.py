"""Behavior cloning losses: pure functions of (normalized) predictions and labels.

Each returns a scalar averaged over the batch. The negative log likelihoods
sum over action dimensions (the log density of the whole action vector);
the squared error averages over them, so it reads as a per-dimension MSE.
"""

import jax
import jax.numpy as jnp

from ilax.networks import (
    Gaussian,
    MixtureOfGaussians,
    gaussian_log_prob,
    mixture_log_prob,
)


def mse_loss(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared error over the batch and action dimensions."""
    return jnp.mean((prediction - target) ** 2)


def gaussian_nll(dist: Gaussian, target: jax.Array) -> jax.Array:
    """Mean over the batch of -log N(target; mean, diag(std^2))."""
    return -jnp.mean(gaussian_log_prob(dist, target))


def mixture_nll(dist: MixtureOfGaussians, target: jax.Array) -> jax.Array:
    """Mean over the batch of -log sum_k w_k N(target; mean_k, diag(std_k^2))."""
    return -jnp.mean(mixture_log_prob(dist, target))
