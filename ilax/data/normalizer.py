"""Feature standardization shared by every learner that regresses actions.

A `Normalizer` holds the per-feature mean and (floored) std of the field a
policy reads and of the actions. Learners fit it once, in `init`, and keep it
in their train state, so a restored state acts exactly like the saved one.
"""

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Normalizer:
    """Per-feature statistics that standardize inputs and actions."""

    obs_mean: jax.Array  # [O] of the field the policy reads
    obs_std: jax.Array  # [O]
    action_mean: jax.Array  # [A]
    action_std: jax.Array  # [A]

    def normalize_inputs(self, raw: jax.Array) -> jax.Array:
        """The policy's input field [..., O], as float32, standardized."""
        return normalize(jnp.asarray(raw, jnp.float32), self.obs_mean, self.obs_std)

    def normalize_actions(self, raw: jax.Array) -> jax.Array:
        """Actions [..., A], as float32, standardized."""
        return normalize(
            jnp.asarray(raw, jnp.float32), self.action_mean, self.action_std
        )

    def denormalize_actions(self, action: jax.Array) -> jax.Array:
        """Standardized actions [..., A] back in raw units."""
        return denormalize(action, self.action_mean, self.action_std)


def _leading(stat: jax.Array, x: jax.Array) -> jax.Array:
    # Explicit broadcasting: feature statistics [F] against inputs [..., F].
    return jnp.broadcast_to(stat, x.shape)


def normalize(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """`(x - mean) / std` over the last axis of `x`."""
    return (x - _leading(mean, x)) / _leading(std, x)


def denormalize(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """`x * std + mean` over the last axis of `x`."""
    return x * _leading(std, x) + _leading(mean, x)


def fit_normalizer(
    inputs: jax.Array, actions: jax.Array, *, min_std: float, enabled: bool = True
) -> Normalizer:
    """Mean and floored std of each column; the identity if not `enabled`."""

    def stats(x):
        x = jnp.asarray(x, jnp.float32)
        if not enabled:
            return jnp.zeros(x.shape[-1]), jnp.ones(x.shape[-1])
        return jnp.mean(x, axis=0), jnp.maximum(jnp.std(x, axis=0), min_std)

    obs_mean, obs_std = stats(inputs)
    action_mean, action_std = stats(actions)
    return Normalizer(obs_mean, obs_std, action_mean, action_std)
