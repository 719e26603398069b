"""GAIL's discriminator and expert data: rewards by hand, separation, checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import data as data_lib
from ilax.algorithms import gail
from ilax.algorithms.gail import adversarial, discriminator
from ilax.algorithms.gail.discriminator import Transitions


def gaussian_rows(key, center, rows=256):
    keys = jax.random.split(key, 3)
    return Transitions(
        obs=center + jax.random.normal(keys[0], (rows, 2)),
        action=center + jax.random.normal(keys[1], (rows, 1)),
        next_obs=-center + jax.random.normal(keys[2], (rows, 2)),
    )


def make(expert, **fields):
    config = gail.DiscriminatorConfig(hidden_sizes=(32, 32), **fields)
    return discriminator.make(config, observation_size=2, action_size=1, expert=expert)


def test_rewards_and_entropy_match_their_definitions():
    expert = gaussian_rows(jax.random.key(0), 1.0)
    rows = gaussian_rows(jax.random.key(1), 0.0, rows=8)
    for reward, of_d in (
        ("neg_log_one_minus_d", lambda d: -np.log(1.0 - d)),
        ("log_d", np.log),
    ):
        disc = make(expert, reward=reward)
        state = disc.init(jax.random.key(2))
        d = np.asarray(jax.nn.sigmoid(disc.logit(state.params, rows)), np.float64)
        np.testing.assert_allclose(disc.reward(state, rows), of_d(d), rtol=1e-5)
    logit = jnp.array([-30.0, -1.0, 0.0, 2.0, 40.0])
    p = np.asarray(jax.nn.sigmoid(logit), np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = -(p * np.log(p) + (1 - p) * np.log1p(-p))
    expected = np.nan_to_num(expected)
    np.testing.assert_allclose(
        discriminator.bernoulli_entropy(logit), expected, atol=1e-6
    )


@pytest.mark.parametrize("state_only", [False, True])
def test_updates_separate_expert_from_policy_transitions(state_only):
    expert = gaussian_rows(jax.random.key(0), 1.0)
    policy = gaussian_rows(jax.random.key(1), -1.0)
    disc = make(expert, state_only=state_only, learning_rate=3e-3)
    state = disc.init(jax.random.key(2))
    update = jax.jit(disc.update)
    for i in range(200):
        state, metrics = update(state, expert, policy, jax.random.key(i))
    # The Bayes classifier of these Gaussians is right 96% (s, a) and 98%
    # (s, s') of the time; the untrained one about half.
    assert float(metrics["discriminator/expert_accuracy"]) > 0.9
    assert float(metrics["discriminator/policy_accuracy"]) > 0.9
    # The expert is rewarded more than the policy.
    assert float(jnp.mean(disc.reward(state, expert))) > float(
        jnp.mean(disc.reward(state, policy))
    )
    # A state-only discriminator ignores the actions; one of (s, a) does not.
    other = policy._replace(action=policy.action + 5.0)
    same = np.allclose(
        disc.logit(state.params, other), disc.logit(state.params, policy)
    )
    assert same == state_only


def test_gradient_penalty_is_added_and_a_non_finite_step_is_skipped():
    expert = gaussian_rows(jax.random.key(0), 1.0)
    policy = gaussian_rows(jax.random.key(1), -1.0)
    plain, penalized = make(expert), make(expert, gradient_penalty=10.0)
    state = plain.init(jax.random.key(2))
    _, without = plain.update(state, expert, policy, jax.random.key(3))
    _, with_penalty = penalized.update(state, expert, policy, jax.random.key(3))
    gap = float(with_penalty["discriminator/loss"] - without["discriminator/loss"])
    assert gap > 0.0
    poisoned = policy._replace(obs=policy.obs.at[4, 0].set(jnp.nan))
    new, metrics = plain.update(state, expert, poisoned, jax.random.key(4))
    assert float(metrics["train/nonfinite"]) == 1.0
    jax.tree.map(np.testing.assert_array_equal, new.params, state.params)


def test_expert_transitions_of_another_task_are_named():
    expert = gaussian_rows(jax.random.key(0), 1.0)
    with pytest.raises(
        ValueError, match=r"'obs' must have shape \[N, 3\].*got \(256, 2\)"
    ):
        discriminator.make(
            gail.DiscriminatorConfig(), observation_size=3, action_size=1, expert=expert
        )


def test_subsampling_keeps_every_kth_step_from_an_offset_per_episode():
    lengths = [7, 5, 9]
    episodes = []
    for e, length in enumerate(lengths):
        steps = np.arange(length, dtype=np.float32)
        visited = np.arange(length + 1, dtype=np.float32)  # the final one last
        episodes.append(
            {
                "obs": np.stack([visited, np.full(length + 1, e, np.float32)], 1),
                "privileged": np.zeros((length + 1, 1), np.float32),
                "action": steps[:, None] * 10,
                "executed_action": steps[:, None] * 10,
                "reward": np.zeros(length, np.float32),
                "terminated": np.zeros(length, bool),
                "truncated": np.arange(length) == length - 1,
            }
        )
    dataset = data_lib.from_episodes(episodes)
    rows = adversarial.subsampled_transitions(dataset, 3, seed=5)
    offsets = np.random.default_rng(5).integers(0, 3, size=3)
    expected_steps = np.concatenate(
        [np.arange(o, n, 3) for o, n in zip(offsets, lengths, strict=True)]
    )
    np.testing.assert_array_equal(rows.obs[:, 0], expected_steps)
    np.testing.assert_array_equal(rows.action[:, 0], expected_steps * 10)
    # The successor of each kept step, the episode's final observation last.
    np.testing.assert_array_equal(rows.next_obs[:, 0], expected_steps + 1)
    with pytest.raises(
        ValueError, match=r"subsample \(6\) must be at most .* \(5 steps\)"
    ):
        adversarial.subsampled_transitions(dataset, 6, seed=0)
