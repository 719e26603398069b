"""Every registered task honours the Env contract inside a jitted rollout."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
from ilax.envs.base import State
from tests.tiers import GENERIC_SLOW, task_params

TASKS = ilax.envs.names()
NUM_ENVS, NUM_STEPS = 3, 6


@functools.cache
def _rollout(task):
    # Short episodes so that auto-reset happens inside the rollout.
    env = ilax.envs.make(task, episode_length=4)
    policy = ilax.policies.uniform_random(*env.action_bounds)

    @jax.jit
    def run(key):
        return ilax.rollout(env, policy, key, NUM_ENVS, NUM_STEPS)

    first = jax.device_get(run(jax.random.key(0)))
    second = jax.device_get(run(jax.random.key(1)))
    return env, first, second, run._cache_size()


@pytest.mark.parametrize("task", task_params(TASKS, GENERIC_SLOW))
def test_rollout_shapes_and_finiteness(task):
    env, (trajectory, log), _, _ = _rollout(task)
    sizes = {
        "obs": env.observation_size,
        "next_obs": env.observation_size,
        "privileged": env.privileged_size,
        "action": env.action_size,
    }
    for name, size in sizes.items():
        assert getattr(trajectory, name).shape == (NUM_STEPS, NUM_ENVS, size), name
    for name in ("obs", "next_obs", "privileged", "reward"):
        assert np.all(np.isfinite(getattr(trajectory, name))), name
    assert trajectory.obs.dtype == np.float32
    assert trajectory.terminated.dtype == np.bool_
    assert not np.any(trajectory.terminated & trajectory.truncated)
    # Episodes of 4 steps end by step 4 at the latest, each logged once.
    assert np.all(log.done[:4].any(axis=0))
    assert float(np.max(log.metrics["nan"])) == 0.0
    for name, values in log.metrics.items():
        assert values.shape == (NUM_STEPS, NUM_ENVS), name


@pytest.mark.parametrize("task", task_params(TASKS, GENERIC_SLOW))
def test_new_keys_give_new_episodes_without_recompiling(task):
    _, (first, _), (second, _), compiled = _rollout(task)
    assert not np.array_equal(first.obs[0], second.obs[0])
    assert compiled == 1


@pytest.mark.parametrize("task", task_params(TASKS, GENERIC_SLOW))
def test_reset_and_step_states_share_one_structure(task):
    env = ilax.envs.make(task).unwrapped
    reset = jax.eval_shape(env.reset, jax.random.key(0))
    action = jax.ShapeDtypeStruct((env.action_size,), jnp.float32)
    stepped = jax.eval_shape(env.step, reset, action)
    assert isinstance(stepped, State)
    # Identical structure, shapes, dtypes and weak types: otherwise a scanned
    # rollout would retrace.
    assert jax.tree.structure(reset) == jax.tree.structure(stepped)
    for a, b in zip(jax.tree.leaves(reset), jax.tree.leaves(stepped), strict=True):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)


@pytest.mark.parametrize("task", task_params(TASKS, GENERIC_SLOW))
def test_action_bounds_and_wrong_actions(task):
    env = ilax.envs.make(task)
    low, high = env.action_bounds
    assert low.shape == high.shape == (env.action_size,) and np.all(low < high)
    state = jax.eval_shape(env.reset, jax.random.key(0))
    with pytest.raises(
        ValueError, match=rf"action must have shape \({env.action_size},\)"
    ):
        jax.eval_shape(env.step, state, jnp.zeros((env.action_size + 1,)))
    with pytest.raises(TypeError, match="floating dtype"):
        jax.eval_shape(env.step, state, jnp.zeros((env.action_size,), jnp.int32))
