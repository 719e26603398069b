"""Action distributions as NamedTuples of arrays with pure functions over them.

`Gaussian` is a diagonal Gaussian over the last axis; `MixtureOfGaussians`
mixes K such Gaussians. Both are pytrees, so networks can return them from
inside `jit`/`vmap`. `log_prob`, `sample` and `mode` dispatch on the type for
learners that accept either.
"""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

_HALF_LOG_TWO_PI = 0.5 * math.log(2.0 * math.pi)


class Gaussian(NamedTuple):
    """A diagonal Gaussian over the last axis."""

    mean: jax.Array  # [..., A]
    log_std: jax.Array  # [..., A]


class MixtureOfGaussians(NamedTuple):
    """A mixture of K diagonal Gaussians over the last axis."""

    logits: jax.Array  # [..., K] unnormalized log weights of the components
    mean: jax.Array  # [..., K, A]
    log_std: jax.Array  # [..., K, A]


def gaussian_log_prob(dist: Gaussian, x: jax.Array) -> jax.Array:
    """Log density of `x` `[..., A]`, summed over the last axis: `[...]`."""
    z = (x - dist.mean) * jnp.exp(-dist.log_std)
    return jnp.sum(-0.5 * z**2 - dist.log_std - _HALF_LOG_TWO_PI, axis=-1)


def gaussian_entropy(dist: Gaussian) -> jax.Array:
    """Entropy of the diagonal Gaussian, summed over the last axis: `[...]`."""
    return jnp.sum(dist.log_std + _HALF_LOG_TWO_PI + 0.5, axis=-1)


def gaussian_sample(dist: Gaussian, key: jax.Array) -> jax.Array:
    """One draw per batch entry, `[..., A]`."""
    noise = jax.random.normal(key, dist.mean.shape, dist.mean.dtype)
    return dist.mean + jnp.exp(dist.log_std) * noise


def gaussian_mode(dist: Gaussian) -> jax.Array:
    """The mean, `[..., A]`."""
    return dist.mean


def mixture_weights(dist: MixtureOfGaussians) -> jax.Array:
    """Component probabilities, `[..., K]`."""
    return jax.nn.softmax(dist.logits, axis=-1)


def mixture_log_prob(dist: MixtureOfGaussians, x: jax.Array) -> jax.Array:
    """Log density of `x` `[..., A]` under the mixture, `[...]`.

    log sum_k w_k N(x; mu_k, sigma_k), computed with logsumexp so that far
    outliers keep a finite gradient toward the nearest component.
    """
    per_component = gaussian_log_prob(
        Gaussian(dist.mean, dist.log_std), x[..., None, :]
    )
    log_weights = jax.nn.log_softmax(dist.logits, axis=-1)
    return jax.nn.logsumexp(log_weights + per_component, axis=-1)


def mixture_sample(dist: MixtureOfGaussians, key: jax.Array) -> jax.Array:
    """Picks a component by weight, then draws from it: `[..., A]`."""
    key_component, key_noise = jax.random.split(key)
    component = jax.random.categorical(key_component, dist.logits, axis=-1)
    chosen = _select_component(dist, component)
    return gaussian_sample(chosen, key_noise)


def mixture_mode(dist: MixtureOfGaussians) -> jax.Array:
    """The mean of the most probable component, `[..., A]`.

    Not the mixture's density maximum in general, but the action a
    multimodal policy should take: one mode, never the average of two.
    """
    return _select_component(dist, jnp.argmax(dist.logits, axis=-1)).mean


def _select_component(dist: MixtureOfGaussians, component: jax.Array) -> Gaussian:
    index = component[..., None, None]

    def take(values):
        return jnp.take_along_axis(values, index, axis=-2)[..., 0, :]

    return Gaussian(take(dist.mean), take(dist.log_std))


def log_prob(dist: Gaussian | MixtureOfGaussians, x: jax.Array) -> jax.Array:
    """`gaussian_log_prob` or `mixture_log_prob`, by the type of `dist`."""
    if isinstance(dist, MixtureOfGaussians):
        return mixture_log_prob(dist, x)
    return gaussian_log_prob(dist, x)


def sample(dist: Gaussian | MixtureOfGaussians, key: jax.Array) -> jax.Array:
    """`gaussian_sample` or `mixture_sample`, by the type of `dist`."""
    if isinstance(dist, MixtureOfGaussians):
        return mixture_sample(dist, key)
    return gaussian_sample(dist, key)


def mode(dist: Gaussian | MixtureOfGaussians) -> jax.Array:
    """`gaussian_mode` or `mixture_mode`, by the type of `dist`."""
    if isinstance(dist, MixtureOfGaussians):
        return mixture_mode(dist)
    return gaussian_mode(dist)
