"""The batched rollout: episode bookkeeping, policy state, jit and vmap."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np

import ilax
from ilax import policies
from ilax.metrics import summarize
from ilax.rollout import rollout, start, unroll
from ilax.types import Policy
from tests.fake_env import CountdownEnv


def _counting_policy() -> Policy:
    """Acts 0.5 and reports how many steps it has taken since its state began."""

    def init(key, batch_shape):
        del key
        return jnp.zeros(batch_shape, jnp.int32)

    def step(state, observation, key):
        del key
        action = jnp.full(observation.obs.shape[:-1] + (1,), 0.5)
        return action, state + 1, {"count": state}

    return Policy(init=init, step=step)


@functools.cache
def _countdown_rollout(num_envs=3, num_steps=40, auto_reset=True):
    fn = functools.partial(
        rollout,
        CountdownEnv(),
        _counting_policy(),
        num_envs=num_envs,
        num_steps=num_steps,
        auto_reset=auto_reset,
    )
    return jax.device_get(jax.jit(fn)(jax.random.key(0)))


def test_episode_log_matches_a_reference_loop():
    trajectory, log = _countdown_rollout()
    num_steps, num_envs = trajectory.reward.shape
    for e in range(num_envs):
        running_return, running_length, episodes = 0.0, 0, 0
        for t in range(num_steps):
            running_return += trajectory.reward[t, e]
            running_length += 1
            done = trajectory.terminated[t, e] or trajectory.truncated[t, e]
            assert log.done[t, e] == done
            if done:
                np.testing.assert_allclose(log.episode_return[t, e], running_return)
                assert log.length[t, e] == running_length
                # The countdown ends when the count reaches the target.
                assert running_length == trajectory.obs[t, e, 1]
                assert log.metrics["counter"][t, e] == running_length
                running_return, running_length = 0.0, 0
                episodes += 1
        assert episodes >= 40 // 8


def test_policy_state_restarts_with_each_episode():
    trajectory, _ = _countdown_rollout()
    # The policy's own step count equals the env's count since its reset.
    np.testing.assert_array_equal(trajectory.extras["count"], trajectory.obs[..., 0])


def test_next_obs_is_the_final_obs_at_episode_ends():
    trajectory, log = _countdown_rollout()
    done = log.done
    np.testing.assert_array_equal(
        trajectory.next_obs[done][:, 0], trajectory.next_obs[done][:, 1]
    )
    running = ~done[:-1]
    np.testing.assert_array_equal(
        trajectory.next_obs[:-1][running], trajectory.obs[1:][running]
    )


def test_without_auto_reset_each_env_logs_one_episode():
    trajectory, log = _countdown_rollout(auto_reset=False)
    np.testing.assert_array_equal(log.done.sum(axis=0), 1)
    summary = summarize(jax.tree.map(jnp.asarray, log))
    assert summary["episode/num_episodes"] == 3
    np.testing.assert_allclose(
        summary["episode/length"], trajectory.obs[0, :, 1].mean()
    )
    np.testing.assert_allclose(
        summary["episode/return"], 1.5 * trajectory.obs[0, :, 1].mean()
    )


def test_rollout_compiles_once_and_is_deterministic():
    env = CountdownEnv()
    policy = policies.uniform_random(*env.action_bounds)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(key):
        return rollout(env, policy, key, 4, 12)

    first = run(jax.random.key(1))
    again = run(jax.random.key(1))
    other = run(jax.random.key(2))
    chex.assert_trees_all_equal(first, again)
    assert not np.array_equal(first[0].action, other[0].action)


def test_vmap_over_seeds_equals_separate_runs():
    env = CountdownEnv()
    policy = policies.uniform_random(*env.action_bounds)
    run = functools.partial(rollout, env, policy, num_envs=2, num_steps=15)
    batched = jax.jit(jax.vmap(run))(jax.random.split(jax.random.key(3), 2))
    singles = jax.random.split(jax.random.key(3), 2)
    for i, key in enumerate(singles):
        single = jax.jit(run)(key)
        chex.assert_trees_all_close(jax.tree.map(lambda x, i=i: x[i], batched), single)


def test_unroll_continues_where_it_stopped():
    env = CountdownEnv()
    policy = _counting_policy()
    key_start, key_first, key_second = jax.random.split(jax.random.key(4), 3)
    state = start(env, policy, key_start, 2)
    middle, first, _ = unroll(env, policy, state, key_first, 5)
    _, second, log = unroll(env, policy, middle, key_second, 9)
    np.testing.assert_array_equal(second.obs[0], middle.env.obs)
    # Policy state and episode lengths carry over: counts keep matching the
    # environment's, and an episode spanning both calls has its full length.
    np.testing.assert_array_equal(second.extras["count"], second.obs[..., 0])
    np.testing.assert_array_equal(log.length[log.done], second.obs[..., 1][log.done])


def _poisoned_zero_policy(poison_env: int, poison_step: int) -> Policy:
    """Zero torque, except a NaN action for one env at one step (-1: never)."""

    def init(key, batch_shape):
        del key
        return jnp.zeros(batch_shape, jnp.int32)

    def step(state, observation, key):
        del key
        batch = observation.obs.shape[0]
        nan_now = (jnp.arange(batch) == poison_env) & (state == poison_step)
        action = jnp.where(nan_now[:, None], jnp.nan, jnp.zeros((batch, 1)))
        return action, state + 1, {}

    return Policy(init=init, step=step)


def test_nan_action_ends_only_that_episode():
    env = ilax.envs.make("pendulum", episode_length=20)
    run = jax.jit(
        # Six steps: the poisoned env's next episode would get its NaN at step 7.
        functools.partial(rollout, env, num_envs=2, num_steps=6),
        static_argnums=0,
    )
    key = jax.random.key(5)
    trajectory, log = run(_poisoned_zero_policy(0, 3), key)
    clean, _ = run(_poisoned_zero_policy(-1, 3), jax.random.clone(key))
    assert bool(trajectory.truncated[3, 0]) and not bool(trajectory.terminated[3, 0])
    assert float(log.metrics["nan"][3, 0]) == 1.0 and bool(log.done[3, 0])
    assert np.all(np.isfinite(np.asarray(trajectory.obs)))
    assert np.all(np.isfinite(np.asarray(trajectory.reward)))
    # The other environment never noticed.
    np.testing.assert_array_equal(trajectory.obs[:, 1], clean.obs[:, 1])
    summary = summarize(log)
    assert summary["episode/num_episodes"] == 1 and summary["episode/nan"] == 1.0
