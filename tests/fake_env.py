"""A plain-JAX environment with random episode lengths, for wrapper tests.

Each episode draws a target count in [3, 8); the state counts steps and the
episode terminates when the count reaches the target. The observation is
(count, target, episode tag), so tests can tell episodes apart.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ilax.envs.base import Env, State


class CountdownEnv(Env):
    name = "countdown"

    def reset(self, key):
        key_target, key_tag = jax.random.split(key)
        target = jax.random.randint(key_target, (), 3, 8).astype(jnp.float32)
        tag = jax.random.uniform(key_tag, ())
        obs = jnp.stack([jnp.zeros(()), target, tag])
        return State.create(
            data=jnp.zeros(()),
            obs=obs,
            privileged=obs,
            reward=0.0,
            terminated=False,
            metrics={"counter": jnp.zeros(())},
            info={},
        )

    def step(self, state, action):
        count = state.obs[0] + 1.0
        obs = state.obs.at[0].set(count)
        return State.create(
            data=state.data,
            obs=obs,
            privileged=obs,
            reward=1.0 + action[0],
            terminated=count >= state.obs[1],
            metrics={"counter": count},
            info=state.info,
        )

    observation_size = 3
    privileged_size = 3
    action_size = 1

    @property
    def action_bounds(self):
        return np.array([-1.0], np.float32), np.array([1.0], np.float32)
