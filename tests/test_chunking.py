"""Chunked policies: histories, receding horizon, temporal ensembling, episodes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import chunking, rollout
from ilax.chunking import ChunkConfig
from ilax.types import Observation, Window
from tests.fake_env import CountdownEnv


def drive(policy, observations, key):
    """Steps `policy` through `observations` [T, B, O]; returns actions, extras."""
    state = policy.init(key, observations.shape[1:2])
    actions, predicted = [], []
    for t, obs in enumerate(observations):
        action, state, extras = policy.step(
            state, Observation(obs=obs, privileged=obs), jax.random.fold_in(key, t)
        )
        actions.append(action)
        predicted.append(extras["chunk/predicted"])
    return np.asarray(jnp.stack(actions)), np.asarray(jnp.stack(predicted))


def make(predict, **fields):
    return chunking.chunked_policy(
        predict,
        ChunkConfig(**fields),
        observation_size=1,
        privileged_size=1,
        action_size=1,
    )


def ramp_from_last_obs(history, key):
    """Chunk j = 10 * (current observation) + j."""
    del key
    tp = 4
    last = history.obs[:, -1, :]  # [B, 1]
    return 10.0 * last[:, None, :] + jnp.arange(tp, dtype=jnp.float32)[None, :, None]


def test_receding_horizon_executes_ta_actions_then_predicts_again(key):
    observations = jnp.arange(8, dtype=jnp.float32).reshape(8, 1, 1)
    policy = make(ramp_from_last_obs, prediction_horizon=4, action_horizon=3)
    actions, predicted = drive(policy, observations, key)
    # Predicted at t = 0 (obs 0), 3 (obs 3), 6 (obs 6); Ta = 3 of each chunk.
    np.testing.assert_allclose(actions[:, 0, 0], [0, 1, 2, 30, 31, 32, 60, 61])
    np.testing.assert_array_equal(predicted[:, 0], [1, 0, 0, 1, 0, 0, 1, 0])


def test_history_repeats_the_first_observation_then_slides(key):
    observations = jnp.arange(1, 6, dtype=jnp.float32).reshape(5, 1, 1)

    def oldest_first(history, key):
        return history.obs  # [B, To = 3, 1] used as the chunk (Tp = 3)

    policy = make(oldest_first, obs_horizon=3, prediction_horizon=3, action_horizon=1)
    actions, _ = drive(policy, observations, key)
    # Histories: [1,1,1], [1,1,2], [1,2,3], [2,3,4], [3,4,5]; action = oldest.
    np.testing.assert_allclose(actions[:, 0, 0], [1, 1, 1, 2, 3])


@pytest.mark.parametrize("decay", [0.0, 0.01, 0.5])
def test_temporal_ensembling_weights_older_predictions_by_exp_minus_m_i(key, decay):
    steps, tp = 7, 4
    observations = jnp.arange(steps, dtype=jnp.float32).reshape(steps, 1, 1)
    policy = make(
        ramp_from_last_obs,
        prediction_horizon=tp,
        action_horizon=1,
        temporal_ensembling=True,
        ensembling_decay=decay,
    )
    actions, predicted = drive(policy, observations, key)
    expected = []
    for t in range(steps):
        made_at = np.arange(max(0, t - tp + 1), t + 1)  # oldest first, i = 0
        values = 10.0 * made_at + (t - made_at)
        weights = np.exp(-decay * np.arange(len(made_at)))
        expected.append(np.sum(weights * values) / np.sum(weights))
    np.testing.assert_allclose(actions[:, 0, 0], expected, rtol=1e-6)
    np.testing.assert_array_equal(predicted, 1.0)


def test_rollout_restarts_the_chunk_of_an_ended_episode_only():
    # CountdownEnv episodes last 3..7 steps and restart their count at 0. A
    # chunk predicted at count c holds c, c+1, ...: the executed action equals
    # the count only if every episode starts with its own fresh chunk.
    env = CountdownEnv()

    def count_ramp(history, key):
        del key
        count = history.obs[:, -1, 0]
        return (count[:, None] + jnp.arange(6, dtype=jnp.float32)[None])[..., None]

    policy = chunking.chunked_policy(
        count_ramp,
        ChunkConfig(obs_horizon=2, prediction_horizon=6, action_horizon=6),
        observation_size=3,
        privileged_size=3,
        action_size=1,
    )
    run = jax.jit(lambda k: rollout(env, policy, k, 8, 30))
    trajectory, log = run(jax.random.key(3))
    assert int(np.sum(log.done)) > 8  # several episodes ended in every env
    np.testing.assert_allclose(trajectory.action[..., 0], trajectory.obs[..., 0])


def test_receding_horizon_runs_the_predictor_only_when_a_chunk_is_used_up(key):
    calls = []

    def counting(history, key):
        jax.debug.callback(lambda: calls.append(1))
        return ramp_from_last_obs(history, key)

    policy = make(counting, prediction_horizon=4, action_horizon=4)
    step = jax.jit(policy.step)
    state = policy.init(key, (2,))
    obs = jnp.zeros((2, 1))
    for t in range(8):
        _, state, _ = step(state, Observation(obs, obs), jax.random.fold_in(key, t))
    jax.effects_barrier()
    assert len(calls) == 2  # steps 0 and 4 only


def test_flatten_window_is_row_major_in_time():
    window = Window(
        obs=jnp.arange(2 * 3 * 2, dtype=jnp.float32).reshape(2, 3, 2),
        privileged=jnp.zeros((2, 3, 1)),
        action=jnp.arange(2 * 4 * 2, dtype=jnp.float32).reshape(2, 4, 2),
        action_mask=jnp.array([[True] * 4, [True, True, False, False]]),
    )
    batch = chunking.flatten_window(window)
    assert batch.obs.shape == (2, 6) and batch.action.shape == (2, 8)
    np.testing.assert_array_equal(batch.action[1, 2:4], window.action[1, 1])
    np.testing.assert_array_equal(batch.obs[0, 4:6], window.obs[0, 2])
    # The padding mark stays per chunk step, for learners that weigh steps.
    np.testing.assert_array_equal(batch.action_mask, window.action_mask)


def test_bad_horizons_name_the_field():
    with pytest.raises(ValueError, match="action_horizon.*prediction_horizon"):
        ChunkConfig(prediction_horizon=4, action_horizon=8).check()
    with pytest.raises(ValueError, match="obs_horizon"):
        ChunkConfig(obs_horizon=0).check()
