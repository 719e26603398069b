"""Conditional VAE losses: the pieces of the negative ELBO, as pure functions.

Per-sample terms sum over their feature dimensions (the log density of the
whole action or latent vector); `negative_elbo` averages them over the batch.
"""

import jax
import jax.numpy as jnp


def reparameterize(mean: jax.Array, log_var: jax.Array, key: jax.Array) -> jax.Array:
    """A draw of N(mean, diag(exp(log_var))) that gradients flow through.

    z = mean + exp(log_var / 2) * eps with eps ~ N(0, I).
    """
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * log_var) * eps


def gaussian_kl(mean: jax.Array, log_var: jax.Array) -> jax.Array:
    """[...] KL(N(mean, diag(exp(log_var))) || N(0, I)), summed over the last axis.

    Per dimension 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2).
    """
    return 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var, axis=-1)


def reconstruction_nll(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """[...] -log N(target; prediction, I) without its constant, over the last axis.

    A unit-variance Gaussian likelihood: half the summed squared error. The
    dropped term, D/2 log(2 pi), does not depend on the parameters.
    """
    return 0.5 * jnp.sum(jnp.square(prediction - target), axis=-1)


def negative_elbo(
    prediction: jax.Array,
    target: jax.Array,
    mean: jax.Array,
    log_var: jax.Array,
    kl_weight: float,
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """Batch mean of reconstruction + kl_weight * KL, and the two terms' means.

    Args:
      prediction: [B, D] the decoder's mean at the reparameterized z.
      target: [B, D] the data x.
      mean: [B, L] the encoder's posterior mean.
      log_var: [B, L] the encoder's posterior log-variance.
      kl_weight: the KL's weight (1 gives the negative ELBO itself).

    Returns:
      `(loss, (reconstruction, kl))`, all scalars.
    """
    reconstruction = jnp.mean(reconstruction_nll(prediction, target))
    kl = jnp.mean(gaussian_kl(mean, log_var))
    return reconstruction + kl_weight * kl, (reconstruction, kl)
