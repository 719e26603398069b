"""Every registered policy learner (PPO, TRPO, GAIL) against the on-policy contract.

The companion of `test_conformance.py` for the algorithms whose learner is a
`PolicyLearner`: each test runs once per such algorithm, with its default
config on the countdown task, shrunk only in size (a small network, few
environments and steps), so a new reinforcement learner is covered by
registering it. A round is a whole iteration (collect, then a policy step);
the tests check it is pure and traced once, that seeds vmapped equal seeds
run alone, that a checkpoint of the run state resumes it exactly, and that
both policies keep each environment to itself.
"""

import dataclasses
import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import policies
from ilax.algorithms import gail, registry
from ilax.envs.wrappers import TimeLimit
from ilax.training import checkpoints
from ilax.types import Observation, PolicyLearner
from tests.fake_env import CountdownEnv

# airl_ppo is AIRL's reward model (covered by airl) on PPO's adversarial run
# (covered by gail_ppo): the slow tier checks the combination.
SLOW = ("airl_ppo",)
# The vmap-over-seeds equivalence compiles three seeds and a loop (15-20 s a
# learner on 2 cores): the default run keeps it for ppo, trpo and gail (the
# adversarial trainer); airl (gail's trainer with another reward model) and
# gail_ppo (gail's trainer on ppo's step) check it in the slow tier.
SLOW_VMAP = (*SLOW, "airl", "gail_ppo")


def _names(slow) -> list:
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in slow else name
        for name in registry.names()
        if registry.get(name).learner_type is PolicyLearner
    ]


NAMES = _names(SLOW)
ROUNDS = 2


# Sizes of the learner configs, by field name, wherever a config has them.
SMALL = {
    "hidden_sizes": (16, 16),
    "epochs": 2,
    "num_minibatches": 2,
    "value_epochs": 2,
    "value_minibatches": 2,
    "cg_iterations": 3,
}


def shrunk(config, **more):
    """`config` with the `SMALL` sizes of the fields it has, and `more`."""
    names = {field.name for field in dataclasses.fields(config)}
    small = {name: value for name, value in SMALL.items() if name in names}
    return dataclasses.replace(config, **small, **more)


def tiny(config):
    config = shrunk(
        config,
        learner=shrunk(config.learner),
        num_envs=4,
        unroll_length=8,
        eval_envs=3,
        eval_steps=12,
    )
    if isinstance(config, gail.AdversarialConfig):  # 2 episodes, every 2nd step
        config = shrunk(
            config,
            discriminator=shrunk(config.discriminator),
            num_demos=2,
            subsample=2,
        )
    return config


def expert():
    # Reads the privileged state like the analytic experts.
    return policies.stateless(lambda obs, key: jnp.tanh(obs.privileged[:1] - 4.0))


@functools.cache
def trainer(name: str):
    algorithm = registry.get(name)
    config = tiny(algorithm.default_config())
    env = TimeLimit(CountdownEnv(), 10)
    demonstrator = expert() if algorithm.needs_expert else None
    return algorithm, config, env, algorithm.make_trainer(config, env, demonstrator)


@functools.cache
def jitted(name: str):
    _, _, _, t = trainer(name)

    def step(state, data):
        return t.step(state, data)

    step.__name__ = f"step_{name}"  # chex counts traces per name
    return jax.jit(t.init), jax.jit(chex.assert_max_traces(n=1)(step))


def run(name: str, key: jax.Array, rounds: int = ROUNDS):
    init, step = jitted(name)
    data = trainer(name)[3].data
    state, history = init(key), []
    for _ in range(rounds):
        state, metrics = step(state, data)
        history.append(metrics)
    return state, jax.tree.map(lambda *xs: jnp.stack(xs), *history)


@pytest.mark.parametrize("name", NAMES)
def test_the_learner_is_a_policy_learner(name):
    algorithm, config, env, _ = trainer(name)
    assert isinstance(algorithm.make_learner(config, env), PolicyLearner)


@pytest.mark.parametrize("name", NAMES)
def test_rounds_are_pure_and_do_not_retrace(name):
    algorithm = registry.get(name)
    first = run(name, jax.random.key(1))
    again = run(name, jax.random.key(1))
    chex.assert_trees_all_equal(first, again)
    other, _ = run(name, jax.random.key(2))  # no second trace
    differ = jax.tree.map(
        lambda a, b: bool(jnp.any(a != b)),
        first[0].train_state.params,
        other.train_state.params,
    )
    assert any(jax.tree.leaves(differ))
    state, metrics = first
    assert algorithm.loss_metric in metrics
    assert int(state.iteration) == ROUNDS
    assert np.all(np.asarray(metrics["train/nonfinite"]) == 0.0)
    assert np.all(np.asarray(metrics["env_steps"]) == [32.0, 64.0])
    for name_, values in metrics.items():
        if not name_.startswith("rollout/"):  # NaN means no episode ended
            assert np.all(np.isfinite(values)), name_


@pytest.mark.parametrize("name", _names(SLOW_VMAP))
def test_vmap_over_three_seeds_equals_a_loop(name):
    _, _, _, t = trainer(name)

    def whole(key, data):
        state = t.init(key)
        for _ in range(ROUNDS):
            state, metrics = t.step(state, data)
        return state, metrics

    keys = jax.random.split(jax.random.key(3), 3)
    together = jax.jit(jax.vmap(whole, in_axes=(0, None)))(keys, t.data)
    keys = jax.random.split(jax.random.key(3), 3)
    for seed in range(3):
        state, metrics = run(name, keys[seed])
        seed_state, seed_metrics = jax.tree.map(lambda x, s=seed: x[s], together)
        chex.assert_trees_all_close(
            seed_metrics, jax.tree.map(lambda x: x[-1], metrics), rtol=1e-4, atol=1e-5
        )
        # Adam turns float reassociation noise into steps of up to the
        # learning rate (see test_conformance.py); seeds mixed up by vmap
        # would differ by the scale of the initialization.
        chex.assert_trees_all_close(
            seed_state.train_state, state.train_state, rtol=1e-4, atol=1e-3
        )
        chex.assert_trees_all_equal(seed_state.rollout.env.obs, state.rollout.env.obs)


@pytest.mark.parametrize("name", NAMES)
def test_a_checkpoint_of_the_run_resumes_it_exactly(name, tmp_path):
    state, _ = run(name, jax.random.key(4), rounds=1)
    with checkpoints.Checkpointer(tmp_path) as checkpointer:
        checkpointer.save(1, state, {"algo": name})
        restored, _ = checkpointer.restore(jax.eval_shape(lambda: state))
    chex.assert_trees_all_equal(restored, state)
    _, step = jitted(name)
    data = trainer(name)[3].data
    chex.assert_trees_all_equal(step(restored, data), step(state, data))


@pytest.mark.parametrize("name", NAMES)
def test_both_policies_keep_each_environment_to_itself(name):
    algorithm, config, env, t = trainer(name)
    state, _ = run(name, jax.random.key(5), rounds=1)
    learner = algorithm.make_learner(config, env)
    train_state = state.train_state
    batch_shape = (5,)
    for policy in (learner.make_behaviour(train_state), t.policy(state)):
        step = jax.jit(policy.step)
        policy_state = policy.init(jax.random.key(6), batch_shape)
        obs = jax.random.normal(jax.random.key(7), batch_shape + (3,))
        other = (
            jax.random.normal(jax.random.key(8), batch_shape + (3,)).at[0].set(obs[0])
        )
        key = jax.random.key(9)
        action, _, extras = step(policy_state, Observation(obs, obs), key)
        other_action, _, _ = step(
            policy_state, Observation(other, other), jax.random.clone(key)
        )
        assert action.shape == batch_shape + (env.action_size,)
        low, high = env.action_bounds
        action = np.asarray(action)
        assert np.all((low <= action) & (action <= high))
        np.testing.assert_array_equal(other_action[0], action[0])
    assert set(extras) == set()  # the deterministic policy has no extras
    evaluation = jax.jit(t.evaluate)(state, jax.random.key(10))
    assert float(evaluation["eval/num_episodes"]) >= 3
    assert np.isfinite(float(evaluation["eval/return"]))


@pytest.mark.parametrize("name", NAMES)
def test_log_prob_is_the_behaviours_density_of_its_actions(name):
    algorithm, config, env, _ = trainer(name)
    state, _ = run(name, jax.random.key(11), rounds=1)
    learner = algorithm.make_learner(config, env)
    policy = learner.make_behaviour(state.train_state)
    obs = jax.random.normal(jax.random.key(12), (64, env.observation_size))
    action, _, extras = policy.step((), Observation(obs, obs), jax.random.key(13))
    density = learner.log_prob(state.train_state, obs, action)
    assert density.shape == (64,)
    # Where the sample was not clipped, the executed action is the sample.
    inside = np.all(np.asarray(extras["raw_action"] == action), axis=-1)
    assert inside.sum() > 8
    np.testing.assert_allclose(
        np.asarray(density)[inside], np.asarray(extras["log_prob"])[inside], rtol=1e-5
    )
