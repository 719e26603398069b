"""Pure environment wrappers: time limit, batching and auto-reset.

They compose in a fixed order, `AutoReset(Vmap(TimeLimit(env)))`: the time
limit works on one environment, `Vmap` batches it, and `AutoReset` restarts
the environments of a batch whose episodes ended.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ilax.envs.base import Env, State


class Wrapper(Env):
    """Forwards everything to the wrapped environment."""

    def __init__(self, env: Env):
        self.env = env

    def reset(self, key: jax.Array) -> State:
        return self.env.reset(key)

    def step(self, state: State, action: jax.Array) -> State:
        return self.env.step(state, action)

    @property
    def observation_size(self) -> int:
        return self.env.observation_size

    @property
    def privileged_size(self) -> int:
        return self.env.privileged_size

    @property
    def action_size(self) -> int:
        return self.env.action_size

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.env.action_bounds

    @property
    def unwrapped(self) -> Env:
        return self.env.unwrapped

    @property
    def name(self) -> str:
        return self.env.name

    def __getattr__(self, attr):
        # Reached only for attributes not found on the wrapper itself.
        if attr == "env":
            raise AttributeError(attr)
        return getattr(self.env, attr)


class TimeLimit(Wrapper):
    """Truncates episodes after `max_steps` control steps.

    `info["steps"]` counts the steps of the current episode. A step that both
    reaches the limit and terminates is reported as terminated only, so
    `terminated` and `truncated` never hold together.
    """

    def __init__(self, env: Env, max_steps: int):
        if max_steps < 1:
            raise ValueError(f"TimeLimit.max_steps must be >= 1; got {max_steps}")
        super().__init__(env)
        self.max_steps = int(max_steps)

    def reset(self, key: jax.Array) -> State:
        state = self.env.reset(key)
        return state.replace(info={**state.info, "steps": jnp.zeros((), jnp.int32)})

    def step(self, state: State, action: jax.Array) -> State:
        state = self.env.step(state, action)
        steps = state.info["steps"] + 1
        terminated = state.info["terminated"]
        truncated = state.info["truncated"] | ((steps >= self.max_steps) & ~terminated)
        info = {**state.info, "steps": steps, "truncated": truncated}
        return state.replace(done=terminated | truncated, info=info)


class Vmap(Wrapper):
    """Batches an environment over a leading axis.

    `reset` takes a `[B]` array of keys; `step` takes `[B, action_size]`
    actions and checks their shape at trace time.
    """

    def reset(self, keys: jax.Array) -> State:
        if keys.ndim != 1:
            raise ValueError(
                f"Vmap.reset: expected a 1-D array of keys [num_envs]; got shape "
                f"{keys.shape}"
            )
        return jax.vmap(self.env.reset)(keys)

    def step(self, state: State, action: jax.Array) -> State:
        expected = state.done.shape + (self.env.action_size,)
        if jnp.shape(action) != expected:
            raise ValueError(
                f"{self.env.name}: batched action must have shape {expected} "
                f"[num_envs, action_size]; got {jnp.shape(action)}"
            )
        return jax.vmap(self.env.step)(state, action)


class AutoReset(Wrapper):
    """Restarts the environments of a batch whose episodes ended.

    Wraps a batched (`Vmap`) environment. After a step, `reward`, `done`,
    `metrics` and `info["terminated"/"truncated"]` describe the step just
    taken; observation, privileged state, simulator data and the rest of
    `info` belong to the fresh episode. The observation the step produced is
    kept in `info["final_obs"]`.

    Each environment restarts with a fresh key, `fold_in(episode_key, n)` for
    its n-th episode, so its episodes differ and do not depend on when the
    other environments of the batch finish. `info["episode_key"]` holds the
    key's raw data (uint32), which selects and checkpoints handle like any
    array. Resets are computed only on steps where some environment finished
    (`lax.cond` over the batch).
    """

    _STEP_KEYS = ("terminated", "truncated")

    def reset(self, keys: jax.Array) -> State:
        episode_keys = jax.random.key_data(
            jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, 1)
        )
        state = self.env.reset(jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, 0))
        num_envs = keys.shape[0]
        info = {
            **state.info,
            "episode_key": episode_keys,
            "episode": jnp.zeros((num_envs,), jnp.int32),
            "final_obs": state.obs,
        }
        return state.replace(info=info)

    def step(self, state: State, action: jax.Array) -> State:
        state = self.env.step(state, action)
        state = state.replace(info={**state.info, "final_obs": state.obs})
        return jax.lax.cond(jnp.any(state.done), self._reset_done, lambda s: s, state)

    def _reset_done(self, state: State) -> State:
        done = state.done
        episode = state.info["episode"] + done.astype(jnp.int32)
        episode_keys = jax.random.wrap_key_data(state.info["episode_key"])
        keys = jax.vmap(jax.random.fold_in)(episode_keys, episode)
        fresh = self.env.reset(keys)

        def pick(new, old):
            mask = done.reshape(done.shape + (1,) * (new.ndim - done.ndim))
            return jnp.where(mask, new, old)

        info = {
            key: pick(fresh.info[key], state.info[key])
            for key in fresh.info
            if key not in self._STEP_KEYS
        }
        info.update({key: state.info[key] for key in self._STEP_KEYS})
        info.update(
            episode_key=state.info["episode_key"],
            episode=episode,
            final_obs=state.info["final_obs"],
        )
        return state.replace(
            obs=pick(fresh.obs, state.obs),
            privileged=pick(fresh.privileged, state.privileged),
            data=jax.tree.map(pick, fresh.data, state.data),
            info=info,
        )
