"""Advantages and value targets: GAE, and the statistics around them.

`gae` is generalized advantage estimation (Schulman et al. 2016) over a
time-major batch, with termination and truncation handled apart: a
truncated episode (time limit) bootstraps from the value of its final
observation, a terminated one does not. The policy-gradient learners
(`ilax.algorithms.policy_gradient`) compute their advantages with it.
"""

import jax
import jax.numpy as jnp


def gae(
    reward: jax.Array,
    value: jax.Array,
    next_value: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    *,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalized advantage estimation over a time-major batch `[T, B]`.

    Step t's TD error bootstraps from `next_value[t]` (the value of the
    observation that step produced, before any reset) unless the episode
    terminated there; the accumulation stops at every episode end
    (`done` = terminated or truncated), so a time limit bootstraps and never
    leaks into the next episode. Past the last step the advantage is 0.

    Returns:
      `(advantage, target)`, each `[T, B]`; `target = advantage + value`.
    """
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    continues = 1.0 - done.astype(jnp.float32)
    delta = reward + gamma * next_value * not_terminated - value

    def backward(later, step):
        delta_t, continues_t = step
        advantage = delta_t + gamma * lam * continues_t * later
        return advantage, advantage

    _, advantage = jax.lax.scan(
        backward, jnp.zeros_like(value[0]), (delta, continues), reverse=True
    )
    return advantage, advantage + value


def explained_variance(prediction: jax.Array, target: jax.Array) -> jax.Array:
    """1 - Var(target - prediction) / Var(target); 1 is perfect, 0 a constant's."""
    return 1.0 - jnp.var(target - prediction) / jnp.maximum(jnp.var(target), 1e-8)


def normalize_advantage(advantage: jax.Array) -> jax.Array:
    """Zero mean, unit std over the rows (std floored at 1e-8)."""
    return (advantage - jnp.mean(advantage)) / jnp.maximum(jnp.std(advantage), 1e-8)
