"""The resolved-rate reacher expert: success, bounds, privileged-only input."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
import ilax.experts
from ilax import metrics
from ilax.types import Observation

TASKS = ("reacher2", "reacher3")


def _evaluate(task, num_envs, **overrides):
    """One full episode in each of `num_envs` environments; (trajectory, log)."""
    env = ilax.envs.make(task, **overrides)
    expert = ilax.experts.make(env)
    run = jax.jit(
        functools.partial(ilax.rollout, env, expert, auto_reset=False),
        static_argnums=(1, 2),
    )
    return env, jax.device_get(
        run(jax.random.key(0), num_envs, env.config.episode_length)
    )


@pytest.fixture(scope="module", params=TASKS)
def episodes(request):
    return _evaluate(request.param, 64)


def test_expert_reaches_the_target(episodes):
    # Measured over 1,000 episodes: success 1.000 (reacher2) and 0.998
    # (reacher3), mean return -2.81 and -2.39.
    _, (_, log) = episodes
    summary = metrics.summarize(log)
    assert log.done.sum() == 64
    assert summary["episode/success"] >= 0.95
    assert summary["episode/distance"] < 0.01


def test_actions_stay_in_bounds_and_settle(episodes):
    env, (trajectory, _) = episodes
    low, high = env.action_bounds
    assert np.all(trajectory.action >= low) and np.all(trajectory.action <= high)
    # Far from the target it uses the motors' full range; on the target at
    # the end it needs little torque.
    assert np.max(np.abs(trajectory.action[0])) == 1.0
    assert np.mean(np.abs(trajectory.action[-1])) < 0.1


def test_expert_reads_only_the_privileged_state():
    env = ilax.envs.make("reacher3")
    expert = ilax.experts.make(env)
    key_state, key_obs, key_act, key_blank = jax.random.split(jax.random.key(1), 4)
    privileged = jax.random.uniform(key_state, (8, 8), minval=-1.0, maxval=1.0)
    step = jax.jit(expert.step)
    noise = jax.random.normal(key_obs, (8, env.observation_size))
    action, _, _ = step((), Observation(noise, privileged), key_act)
    blank, _, _ = step((), Observation(jnp.zeros_like(noise), privileged), key_blank)
    np.testing.assert_array_equal(action, blank)


def test_two_link_expert_rests_on_the_target():
    env = ilax.envs.make("reacher2")
    expert = ilax.experts.make(env)
    qpos = jnp.array([0.7, -1.2])
    tip = ilax.envs.reacher.fingertip_position(qpos, env.unwrapped.link_lengths)
    privileged = jnp.concatenate([qpos, jnp.zeros(2), tip])[None]
    obs = jnp.zeros((1, env.observation_size))
    action, _, _ = expert.step((), Observation(obs, privileged), jax.random.key(2))
    np.testing.assert_allclose(action, 0.0, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_expert_over_a_thousand_episodes(task):
    # Measured: success 1.000 / 0.998 (reacher2 / reacher3).
    _, (_, log) = _evaluate(task, 1000)
    assert metrics.summarize(log)["episode/success"] >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_expert_from_any_posture_and_speed(task):
    # Every bend and joint speeds up to 5 rad/s, as a learner might leave the
    # arm. Measured: success 0.999 / 0.998 (reacher2 / reacher3).
    _, (_, log) = _evaluate(task, 1000, initial_bend=np.pi, initial_speed=5.0)
    assert metrics.summarize(log)["episode/success"] >= 0.98
