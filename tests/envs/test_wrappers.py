"""Semantics of TimeLimit, Vmap and AutoReset on a plain-JAX countdown task."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.envs import wrappers
from tests.fake_env import CountdownEnv


def _run(env, keys, num_steps):
    """Steps a batched env with zero actions; returns the states after each step."""

    @jax.jit
    def run(keys):
        state = env.reset(keys)

        def body(state, _):
            state = env.step(state, jnp.zeros((keys.shape[0], 1)))
            return state, state

        return jax.lax.scan(body, state, None, length=num_steps)[1]

    return jax.device_get(run(keys))


def test_time_limit_truncates_and_keeps_flags_disjoint():
    # Targets are in [3, 8); a limit of 5 both truncates long episodes and
    # coincides with termination where the target is exactly 5.
    env = wrappers.Vmap(wrappers.TimeLimit(CountdownEnv(), max_steps=5))
    keys = jax.random.split(jax.random.key(0), 64)
    states = _run(env, keys, 5)
    target = states.obs[0, :, 1]
    steps = np.arange(1, 6)[:, None]
    terminated, truncated = states.info["terminated"], states.info["truncated"]
    np.testing.assert_array_equal(terminated, steps >= target[None])
    np.testing.assert_array_equal(truncated, (steps == 5) & (target[None] > 5))
    assert not np.any(terminated & truncated)
    np.testing.assert_array_equal(states.done, terminated | truncated)
    assert set(np.unique(target)) >= {3.0, 5.0, 7.0}  # all three cases occurred


def test_time_limit_rejects_nonpositive_limit():
    with pytest.raises(ValueError, match="max_steps must be >= 1; got 0"):
        wrappers.TimeLimit(CountdownEnv(), 0)


def test_auto_reset_keeps_final_obs_and_starts_fresh_episodes():
    env = wrappers.AutoReset(wrappers.Vmap(CountdownEnv()))
    keys = jax.random.split(jax.random.key(1), 4)
    states = _run(env, keys, 40)
    for e in range(4):
        done = states.done[:, e]
        final = states.info["final_obs"][:, e]
        obs = states.obs[:, e]
        # Where an episode ended, the kept final observation has reached the
        # target, and the new observation is a fresh episode at count 0.
        np.testing.assert_array_equal(final[done, 0], final[done, 1])
        np.testing.assert_array_equal(obs[done, 0], 0.0)
        np.testing.assert_array_equal(final[~done], obs[~done])
        # Every episode of this env has its own random tag.
        tags = obs[done, 2]
        assert len(np.unique(tags)) == len(tags) >= 5
        np.testing.assert_array_equal(states.info["episode"][-1, e], done.sum())


def test_auto_reset_streams_do_not_depend_on_other_envs():
    env = wrappers.AutoReset(wrappers.Vmap(CountdownEnv()))
    keys = jax.random.split(jax.random.key(2), 3)
    other = jax.random.split(jax.random.key(3), 3)
    mixed = jnp.concatenate([keys[:1], other[1:]])
    first = _run(env, keys, 30)
    second = _run(env, mixed, 30)
    np.testing.assert_array_equal(first.obs[:, 0], second.obs[:, 0])
    assert not np.array_equal(first.obs[:, 1], second.obs[:, 1])


def test_vmap_rejects_wrong_action_shape_and_dtype():
    env = wrappers.Vmap(CountdownEnv())
    state = env.reset(jax.random.split(jax.random.key(4), 2))
    with pytest.raises(ValueError, match=r"shape \(2, 1\) \[num_envs, action_size\]"):
        env.step(state, jnp.zeros((2, 3)))


def test_vmap_rejects_unbatched_keys():
    with pytest.raises(ValueError, match="1-D array of keys"):
        wrappers.Vmap(CountdownEnv()).reset(jax.random.key(0))


def test_wrappers_forward_attributes():
    inner = CountdownEnv()
    env = wrappers.AutoReset(wrappers.Vmap(wrappers.TimeLimit(inner, 9)))
    assert env.unwrapped is inner
    assert env.max_steps == 9
    assert env.action_size == 1
    assert env.name == "countdown"
    with pytest.raises(AttributeError):
        _ = env.no_such_attribute


def test_weak_types_do_not_cause_recompilation():
    env = wrappers.AutoReset(wrappers.Vmap(wrappers.TimeLimit(CountdownEnv(), 4)))
    step = jax.jit(env.step)
    state = env.reset(jax.random.split(jax.random.key(5), 2))
    for _ in range(6):
        state = step(state, jnp.zeros((2, 1)))
    assert step._cache_size() == 1
