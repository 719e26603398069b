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


@struct.dataclass
class RunningNormalizer:
    """Per-feature statistics of every observation seen so far (on-policy RL).

    A reinforcement learner sees its data as it goes, so it cannot fit a
    `Normalizer` once; it folds each batch of observations into a running
    count, mean and variance instead (Chan et al.'s parallel update, exact
    for any batch sizes). Until the first batch it is the identity.
    """

    count: jax.Array  # [] float32, observations folded in
    mean: jax.Array  # [O]
    var: jax.Array  # [O] population variance

    @classmethod
    def create(cls, size: int) -> "RunningNormalizer":
        """The identity normalizer of `size` features."""
        return cls(
            count=jnp.zeros((), jnp.float32),
            mean=jnp.zeros((size,), jnp.float32),
            var=jnp.ones((size,), jnp.float32),
        )

    def update(self, batch: jax.Array) -> "RunningNormalizer":
        """Folds `batch` `[..., O]` in; an empty batch changes nothing."""
        x = jnp.asarray(batch, jnp.float32).reshape(-1, self.mean.shape[0])
        n = jnp.float32(x.shape[0])
        if x.shape[0] == 0:
            return self
        batch_mean = jnp.mean(x, axis=0)
        batch_var = jnp.var(x, axis=0)
        total = self.count + n
        delta = batch_mean - self.mean
        mean = self.mean + delta * (n / total)
        # Sums of squared deviations of both parts, plus the spread between means.
        squares = (
            self.var * self.count + batch_var * n + delta**2 * (self.count * n / total)
        )
        # The first batch replaces the identity's unit variance outright.
        return RunningNormalizer(count=total, mean=mean, var=squares / total)

    def normalize(self, raw: jax.Array, *, min_std: float, clip: float) -> jax.Array:
        """`raw` `[..., O]` standardized (std floored at `min_std`), clipped."""
        std = jnp.maximum(jnp.sqrt(self.var), min_std)
        z = normalize(jnp.asarray(raw, jnp.float32), self.mean, std)
        return jnp.clip(z, -clip, clip)
