"""Demonstration collection on an MJX task, with and without DART noise."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
from ilax import data, policies


def _damping_expert():
    """Torque against the angular velocity: reads privileged (qpos, qvel)."""
    return policies.stateless(
        lambda observation, key: jnp.clip(-0.5 * observation.privileged[1:], -1.0, 1.0)
    )


@functools.cache
def _env():
    return ilax.envs.make("pendulum", episode_length=30)


@functools.cache
def _collected():
    env = _env()
    expert = _damping_expert()
    clean = data.collect(env, expert, jax.random.key(0), 8)
    cache_size = data.collect_trajectory._cache_size()
    noisy = data.collect(env, expert, jax.random.key(1), 8, noise_std=0.3)
    noisier = data.collect(env, expert, jax.random.key(2), 8, noise_std=0.5)
    return clean, noisy, noisier, cache_size, data.collect_trajectory._cache_size()


def test_episodes_run_to_the_time_limit_and_end_truncated():
    clean = _collected()[0]
    assert clean.num_episodes == 8 and clean.num_steps == 8 * 30
    np.testing.assert_array_equal(clean.episode_length, 30)
    ends = np.asarray(clean.episode_start + clean.episode_length - 1)
    assert np.all(np.asarray(clean.truncated)[ends])
    assert np.sum(np.asarray(clean.truncated)) == 8
    assert not np.any(np.asarray(clean.terminated))


def test_clean_collection_executes_its_labels():
    clean = _collected()[0]
    np.testing.assert_array_equal(clean.action, clean.executed_action)
    # The label is the expert's action at the recorded privileged state.
    expected = np.clip(-0.5 * np.asarray(clean.privileged)[:, 1:], -1.0, 1.0)
    np.testing.assert_allclose(clean.action, expected, rtol=1e-6)


def test_noise_perturbs_execution_but_labels_stay_clean():
    noisy = _collected()[1]
    label, executed = np.asarray(noisy.action), np.asarray(noisy.executed_action)
    expected_label = np.clip(-0.5 * np.asarray(noisy.privileged)[:, 1:], -1.0, 1.0)
    np.testing.assert_allclose(label, expected_label, rtol=1e-6)
    inside = np.abs(executed) < 1.0  # away from the clip at the bounds
    spread = np.std((executed - label)[inside])
    # 240 draws of N(0, 0.3): the sample std lies within 0.3 +- 0.05 w.h.p.
    assert 0.25 < spread < 0.35
    assert np.all(np.abs(executed) <= 1.0)


def test_new_keys_and_noise_levels_do_not_recompile():
    _, _, _, after_first, after_all = _collected()
    assert after_first == after_all


def test_collect_rejects_bad_arguments():
    env, expert = _env(), _damping_expert()
    with pytest.raises(ValueError, match="num_episodes must be >= 1; got 0"):
        data.collect(env, expert, jax.random.key(0), 0)
    with pytest.raises(ValueError, match=r"noise_std must be >= 0.*got -0.1"):
        data.collect(env, expert, jax.random.key(0), 2, noise_std=-0.1)
    with pytest.raises(ValueError, match=r"of shape \(1,\); got"):
        data.collect(env, expert, jax.random.key(0), 2, noise_std=np.ones(3))
    with pytest.raises(ValueError, match="no time limit"):
        data.collect(env.unwrapped, expert, jax.random.key(0), 2)
