"""Building blocks for `Policy` tuples: per-environment functions, noise.

A `Policy` acts on a batch of environments. Most experts are easier to write
for one environment; `per_env` lifts such a function to any batch shape.
"""

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ilax.types import Observation, Policy


def _flatten(tree, batch_shape):
    size = math.prod(batch_shape)
    return jax.tree.map(
        lambda x: x.reshape((size,) + x.shape[len(batch_shape) :]), tree
    )


def _unflatten(tree, batch_shape):
    return jax.tree.map(lambda x: x.reshape(batch_shape + x.shape[1:]), tree)


def per_env(
    step_fn: Callable[[Any, Observation, jax.Array], tuple[jax.Array, Any, dict]],
    init_fn: Callable[[jax.Array], Any] | None = None,
) -> Policy:
    """Lifts a one-environment policy to a batched `Policy`.

    Args:
      step_fn: `(state, observation, key) -> (action, state, extras)` for one
        environment, where `observation` holds unbatched `obs`/`privileged`.
      init_fn: `key -> state` for one fresh episode; omitted for a stateless
        policy, whose state is `()`.

    Returns:
      A `Policy` whose `step` vmaps `step_fn` over the (flattened) batch, with
      one key per environment split from the key it is given.
    """

    def init(key: jax.Array, batch_shape: tuple[int, ...]):
        if init_fn is None:
            return ()
        keys = jax.random.split(key, math.prod(batch_shape))
        return _unflatten(jax.vmap(init_fn)(keys), batch_shape)

    def step(state, observation: Observation, key: jax.Array):
        batch_shape = observation.obs.shape[:-1]
        keys = jax.random.split(key, math.prod(batch_shape))
        flat = jax.vmap(step_fn)(
            _flatten(state, batch_shape), _flatten(observation, batch_shape), keys
        )
        return _unflatten(flat, batch_shape)

    return Policy(init=init, step=step)


def stateless(act_fn: Callable[[Observation, jax.Array], jax.Array]) -> Policy:
    """A batched `Policy` from `act_fn(observation, key) -> action` for one env."""

    def step_fn(state, observation, key):
        return act_fn(observation, key), state, {}

    return per_env(step_fn)


def uniform_random(low: np.ndarray, high: np.ndarray) -> Policy:
    """Actions drawn uniformly between the bounds, independently each step.

    The whole batch is drawn at once (not per environment), which keeps this
    trivial policy as cheap as the random controls of a bare simulator loop.
    """
    low, high = jnp.asarray(low), jnp.asarray(high)

    def step(state, observation: Observation, key: jax.Array):
        shape = observation.obs.shape[:-1] + low.shape
        action = jax.random.uniform(
            key,
            shape,
            minval=jnp.broadcast_to(low, shape),
            maxval=jnp.broadcast_to(high, shape),
        )
        return action, state, {}

    return Policy(init=lambda key, batch_shape: (), step=step)


def with_action_noise(
    policy: Policy, std: jax.Array | float, low: np.ndarray, high: np.ndarray
) -> Policy:
    """Executes `policy`'s actions plus Gaussian noise, clipped to the bounds.

    The clean action is returned in `extras["label"]`: the data-collection
    rule of DART (Laskey et al. 2017), where the supervisor's executed actions
    are perturbed but its recorded labels stay clean.

    Args:
      policy: the policy to perturb.
      std: noise standard deviation, a scalar or one per action dimension.
      low: lower action bounds `[action_size]`.
      high: upper action bounds `[action_size]`.
    """
    if not isinstance(std, jax.core.Tracer) and np.any(np.asarray(std) < 0):
        raise ValueError(f"with_action_noise: std must be >= 0; got {std}")
    std = jnp.asarray(std, jnp.float32)
    low, high = jnp.asarray(low), jnp.asarray(high)

    def step(state, observation, key):
        key_policy, key_noise = jax.random.split(key)
        action, state, extras = policy.step(state, observation, key_policy)
        noise = jnp.broadcast_to(std, action.shape) * jax.random.normal(
            key_noise, action.shape
        )
        executed = jnp.clip(
            action + noise,
            jnp.broadcast_to(low, action.shape),
            jnp.broadcast_to(high, action.shape),
        )
        # Stacked noise keeps the innermost clean action as the label.
        return executed, state, {"label": action, **extras}

    return Policy(init=policy.init, step=step)
