"""AIRL's structured discriminator: its logit by hand, training, export, checks."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.algorithms import airl, ppo, registry
from ilax.algorithms.airl import AIRLRows, shaped
from ilax.algorithms.gail.discriminator import Transitions
from ilax.envs.wrappers import TimeLimit
from ilax.networks import mlp
from ilax.training import onpolicy
from tests.fake_env import CountdownEnv


def rows_around(key, center, rows=256, terminated=None):
    keys = jax.random.split(key, 4)
    return Transitions(
        obs=center + jax.random.normal(keys[0], (rows, 2)),
        action=center + jax.random.normal(keys[1], (rows, 1)),
        next_obs=center + 0.5 + jax.random.normal(keys[2], (rows, 2)),
        terminated=terminated,
    )


def make(expert, gamma=0.9, **fields):
    config = airl.ShapedRewardConfig(hidden_sizes=(16,), **fields)
    return shaped.make(
        config, observation_size=2, action_size=1, gamma=gamma, expert=expert
    )


@pytest.mark.parametrize("state_only", [True, False])
def test_logit_is_the_shaped_reward_minus_the_log_density_by_hand(state_only):
    expert = rows_around(jax.random.key(0), 1.0)
    model = make(expert, state_only=state_only)
    params = model.discriminator.init(jax.random.key(1)).params
    terminated = jnp.arange(8) % 3 == 0
    rows = rows_around(jax.random.key(2), 0.0, rows=8, terminated=terminated)
    log_prob = jax.random.normal(jax.random.key(3), (8,))

    def standardized(x, of):
        of = np.asarray(of, np.float64)
        return (np.asarray(x) - of.mean(0)) / np.maximum(of.std(0), 1e-2)

    obs = standardized(rows.obs, expert.obs)
    next_obs = standardized(rows.next_obs, expert.obs)
    action = standardized(rows.action, expert.action)
    g_input = obs if state_only else np.concatenate([obs, action], -1)
    g = mlp(g_input.shape[1], 1, hidden_sizes=(16,), activation="relu")
    h = mlp(2, 1, hidden_sizes=(16,), activation="relu")
    reward = np.asarray(g.apply(params["reward"], jnp.asarray(g_input)))[:, 0]
    potential = np.asarray(h.apply(params["potential"], jnp.asarray(obs)))[:, 0]
    next_potential = np.asarray(h.apply(params["potential"], jnp.asarray(next_obs)))
    next_potential = np.where(terminated, 0.0, next_potential[:, 0])
    expected = reward + 0.9 * next_potential - potential - np.asarray(log_prob)
    airl_rows = AIRLRows(rows, log_prob)
    state = model.discriminator.init(jax.random.key(1))
    np.testing.assert_allclose(
        model.discriminator.logit(params, airl_rows), expected, rtol=1e-4, atol=1e-5
    )
    # The policy's reward is log D - log(1 - D), the logit itself; the
    # exported reward is g alone.
    np.testing.assert_allclose(
        model.discriminator.reward(state, airl_rows), expected, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        model.learned_reward(params, rows), reward, rtol=1e-4, atol=1e-5
    )


def test_updates_separate_expert_from_policy_rows_and_reward_the_expert():
    expert = rows_around(jax.random.key(0), 1.0)
    policy = rows_around(jax.random.key(1), -1.0)
    zeros = jnp.zeros((256,))
    model = make(expert, learning_rate=3e-3)
    disc = model.discriminator
    state = disc.init(jax.random.key(2))
    update = jax.jit(disc.update)
    for i in range(200):
        state, metrics = update(
            state, AIRLRows(expert, zeros), AIRLRows(policy, zeros), jax.random.key(i)
        )
    assert float(metrics["discriminator/expert_accuracy"]) > 0.9
    assert float(metrics["discriminator/policy_accuracy"]) > 0.9
    learned = model.learned_reward(state.params, expert).mean()
    assert float(learned) > float(model.learned_reward(state.params, policy).mean())
    # The same rows, scored as more likely under the policy, look less expert.
    likely = AIRLRows(expert, zeros + 5.0)
    assert np.all(
        disc.logit(state.params, likely)
        < disc.logit(state.params, AIRLRows(expert, zeros))
    )


def test_expert_transitions_of_another_task_are_named():
    expert = rows_around(jax.random.key(0), 1.0)
    with pytest.raises(ValueError, match=r"airl: .*'obs' must have shape \[N, 3\]"):
        shaped.make(
            airl.ShapedRewardConfig(),
            observation_size=3,
            action_size=1,
            gamma=0.99,
            expert=expert,
        )


def small_run(**fields):
    """The countdown task and a small PPO run config (cheap to compile)."""
    config = registry.get("ppo").default_config()
    learner = dataclasses.replace(
        config.learner, hidden_sizes=(8,), epochs=1, num_minibatches=1
    )
    return TimeLimit(CountdownEnv(), 10), dataclasses.replace(
        config, learner=learner, **fields
    )


def test_a_reward_model_is_handed_the_collecting_policys_density():
    # A reward model that reports how far the `log_prob` it is handed is from
    # the behaviour's own log-probabilities of the samples it executed
    # unclipped: zero only if it is the density of the policy that collected
    # (not of the updated one), in the second iteration as in the first.
    env, config = small_run(num_envs=8, unroll_length=16)
    learner = onpolicy.build_learner(config, env, ppo.make)

    def relabel(model_state, trajectory, data, key, log_prob):
        density = log_prob(trajectory.obs, trajectory.action)
        inside = jnp.all(trajectory.extras["raw_action"] == trajectory.action, -1)
        gap = jnp.where(inside, jnp.abs(density - trajectory.extras["log_prob"]), 0.0)
        metrics = {"check/gap": jnp.max(gap), "check/inside": jnp.sum(inside)}
        return model_state, trajectory.reward, metrics

    model = onpolicy.RewardModel(init=lambda key: (), relabel=relabel)
    trainer = onpolicy.make_trainer(config, env, learner, model)
    step = jax.jit(trainer.step)
    state = trainer.init(jax.random.key(0))
    for _ in range(2):
        state, metrics = step(state)
        assert float(metrics["check/inside"]) > 16
        assert float(metrics["check/gap"]) < 1e-4


def test_the_exported_reward_replaces_the_tasks_in_a_fresh_run():
    # A frozen reward of transitions (here: minus the squared next
    # observation) relabels every step a fresh PPO run collects: the policy
    # step reports how far the rewards it sees are from it.
    env, config = small_run(num_envs=4, unroll_length=8, normalize_rewards=False)
    learner = onpolicy.build_learner(config, env, ppo.make)

    def reward(transitions):
        return -jnp.sum(transitions.next_obs**2, -1)

    def checked_update(state, trajectory, key):
        state, metrics = learner.update(state, trajectory, key)
        expected = -jnp.sum(trajectory.next_obs**2, -1)
        metrics["check/gap"] = jnp.max(jnp.abs(trajectory.reward - expected))
        metrics["check/spread"] = jnp.std(expected)
        return state, metrics

    trainer = onpolicy.make_trainer(
        config,
        env,
        learner._replace(update=checked_update),
        airl.retraining_reward(reward),
    )
    _, metrics = jax.jit(trainer.step)(trainer.init(jax.random.key(0)))
    assert float(metrics["check/gap"]) < 1e-5
    assert float(metrics["check/spread"]) > 0.1
