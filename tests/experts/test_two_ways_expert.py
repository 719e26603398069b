"""The two-ways expert: success, a fair random side, one side per episode."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
import ilax.experts
from ilax import metrics
from ilax.types import Observation, Policy


def _reporting_side(policy: Policy) -> Policy:
    """The expert, with its side (its policy state) copied into the extras."""

    def step(state, observation, key):
        action, state, extras = policy.step(state, observation, key)
        return action, state, {**extras, "side": state}

    return Policy(init=policy.init, step=step)


@pytest.fixture(scope="module")
def env():
    return ilax.envs.make("two_ways")


@pytest.fixture(scope="module")
def episodes(env):
    """64 environments for 2.5 episode lengths, auto-reset (about 230 episodes)."""
    expert = _reporting_side(ilax.experts.make(env))
    run = jax.jit(functools.partial(ilax.rollout, env, expert), static_argnums=(1, 2))
    num_steps = env.config.episode_length * 5 // 2
    return jax.device_get(run(jax.random.key(0), 64, num_steps))


def test_expert_reaches_the_goal(episodes):
    # Measured over 1,000 episodes: success 1.000, no collision, mean return
    # 1.84, mean length 78 of the 120 allowed steps.
    _, log = episodes
    summary = metrics.summarize(log)
    assert summary["episode/num_episodes"] >= 150
    assert summary["episode/success"] >= 0.95
    assert summary["episode/collision"] == 0.0


def test_expert_picks_each_side_about_half_the_time(episodes):
    # Measured over 1,000 episodes: left 0.494.
    _, log = episodes
    sides = log.metrics["side"][log.done]
    assert set(np.unique(sides)) == {-1.0, 1.0}
    assert abs(np.mean(sides == -1.0) - 0.5) < 0.12


def test_expert_keeps_one_side_per_episode_and_redraws_it(episodes):
    trajectory, log = episodes
    chosen = trajectory.extras["side"]  # [T, B] the side after each step
    redrawn = 0
    for env_index in range(chosen.shape[1]):
        ends = np.flatnonzero(log.done[:, env_index])
        starts = np.concatenate([[0], ends[:-1] + 1])
        for start, end in zip(starts, ends, strict=True):
            episode = chosen[start : end + 1, env_index]
            # One side throughout, and the side the task measured.
            assert np.all(episode == episode[0])
            assert episode[0] == log.metrics["side"][end, env_index]
        sides = log.metrics["side"][ends, env_index]
        redrawn += np.any(sides != sides[0])
    # Each environment's episodes draw their sides afresh: with about 3.6
    # episodes each, most of the 64 environments see both sides.
    assert redrawn > 32


def _run_from(env, privileged, side, num_steps):
    """Runs the expert from given states with given initial sides, no reset."""
    task = env.unwrapped
    expert = ilax.experts.make(env)

    @jax.jit
    def run(privileged, side, key):
        state = jax.vmap(task.state_from_privileged)(privileged)

        def body(carry, t):
            state, side = carry
            observation = Observation(state.obs, state.privileged)
            action, side, _ = expert.step(side, observation, jax.random.fold_in(key, t))
            next_state = jax.vmap(task.step)(state, action)
            # Freeze finished episodes so their outcome can be read at the end.
            state = jax.tree.map(
                lambda new, old: jnp.where(
                    state.done.reshape(state.done.shape + (1,) * (new.ndim - 1)),
                    old,
                    new,
                ),
                next_state,
                state,
            )
            return (state, side), None

        return jax.lax.scan(body, (state, side), jnp.arange(num_steps))[0][0]

    return jax.device_get(run(privileged, side, jax.random.key(3)))


def test_expert_goes_round_on_the_side_it_is_on(env):
    # Mirror pairs of states already on one side (below, beside and level
    # with the obstacle, moving either way), each with the expert's own draw
    # set to the other side.
    right = np.array(
        [
            [0.45, -0.3, 0.0, 0.0],
            [0.2, -0.6, -0.3, 0.2],
            [0.55, -0.05, 0.0, -0.4],
            [0.35, -0.25, -0.2, 0.0],
            [0.12, -0.7, 0.0, 0.0],
        ],
        np.float32,
    )
    left = right * np.array([-1.0, 1.0, -1.0, 1.0], np.float32)
    privileged = np.concatenate([right, left])
    drawn = np.repeat(np.array([-1.0, 1.0], np.float32), len(right))
    state = _run_from(env, privileged, drawn, env.config.episode_length)
    np.testing.assert_array_equal(state.metrics["success"], 1.0)
    np.testing.assert_array_equal(state.info["side"], -drawn)


def test_expert_heads_for_the_goal_above_the_obstacle(env):
    expert = ilax.experts.make(env)
    privileged = jnp.array([[0.1, 0.45, 0.0, 0.0], [-0.5, 0.1, 0.0, 0.0]])
    action, side, _ = jax.jit(expert.step)(
        jnp.array([1.0, 1.0]), Observation(privileged, privileged), jax.random.key(4)
    )
    to_goal = jnp.array([[0.0, 0.8]]) - privileged[:, :2]
    cosine = jnp.sum(action * to_goal, -1) / (
        jnp.linalg.norm(action, axis=-1) * jnp.linalg.norm(to_goal, axis=-1)
    )
    # At rest the action is the commanded velocity scaled: straight at the goal.
    np.testing.assert_allclose(cosine, 1.0, atol=1e-5)
    # Above the centre line the side is the one the mass is on.
    np.testing.assert_array_equal(side, [1.0, -1.0])


@pytest.mark.slow
def test_expert_over_a_thousand_episodes(env):
    # Measured: success 1.000, left fraction 0.494, collisions 0.
    expert = ilax.experts.make(env)
    run = jax.jit(
        functools.partial(ilax.rollout, env, expert, auto_reset=False),
        static_argnums=(1, 2),
    )
    _, log = jax.device_get(run(jax.random.key(5), 1000, env.config.episode_length))
    summary = metrics.summarize(log)
    assert summary["episode/num_episodes"] == 1000
    assert summary["episode/success"] >= 0.98
    left = np.mean(log.metrics["side"][log.done] == -1.0)
    assert abs(left - 0.5) < 0.05


@pytest.mark.slow
def test_expert_from_anywhere_in_the_arena(env):
    # Uniform states at least 0.1 m outside the obstacle (closer, a mass
    # rushing in at 0.7 m/s cannot stop in time), speeds up to 0.5 m/s per
    # axis, random draws. Measured on the 1,758 such states of 2,000 draws:
    # success 1.000, and every start clearly on a side below the centre line
    # passed on that side.
    key_position, key_velocity, key_side = jax.random.split(jax.random.key(6), 3)
    corner = jnp.array([0.95, 1.15])
    position = jax.random.uniform(
        key_position, (2000, 2), minval=-corner, maxval=corner
    )
    velocity = jax.random.uniform(key_velocity, (2000, 2), minval=-0.5, maxval=0.5)
    drawn = jnp.where(jax.random.bernoulli(key_side, shape=(2000,)), 1.0, -1.0)
    privileged = np.asarray(jnp.concatenate([position, velocity], -1))
    outside = np.linalg.norm(privileged[:, :2], axis=-1) > 0.4
    state = _run_from(env, privileged[outside], np.asarray(drawn)[outside], 150)
    assert np.mean(state.metrics["success"]) >= 0.98
    x, y = privileged[outside, 0], privileged[outside, 1]
    clearly = (np.abs(x) > 0.1) & (y < 0)
    np.testing.assert_array_equal(state.info["side"][clearly], np.sign(x[clearly]))
