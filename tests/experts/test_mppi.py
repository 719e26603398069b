import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
from ilax import envs
from ilax.envs import wrappers
from ilax.experts import mppi
from ilax.metrics import summarize
from ilax.types import Observation

NUM_ENVS = 4
# Measured to swing the pendulum up: 32 of 32 episodes (see the report).
PENDULUM_SETTINGS = {"num_samples": 64, "horizon": 30}


@pytest.fixture(scope="module")
def pendulum():
    return envs.make("pendulum")


@pytest.fixture(scope="module")
def policy(pendulum):
    return mppi.make_mppi(pendulum, **PENDULUM_SETTINGS)


@pytest.fixture(scope="module")
def plan_step(policy):
    """The jitted MPPI step; every test below shares its one compilation."""
    return jax.jit(policy.step)


@pytest.fixture(scope="module")
def swing_up(pendulum, policy, plan_step):
    """One pendulum episode of NUM_ENVS environments under MPPI, step by step."""
    batched = wrappers.Vmap(pendulum)
    env_step = jax.jit(batched.step)
    key_reset, key_init, key_plan = jax.random.split(jax.random.key(0), 3)
    state = jax.jit(batched.reset)(jax.random.split(key_reset, NUM_ENVS))
    plan = policy.init(key_init, (NUM_ENVS,))
    for t in range(pendulum.max_steps):
        observation = Observation(state.obs, state.privileged)
        action, plan, extras = plan_step(
            plan, observation, jax.random.fold_in(key_plan, t)
        )
        state = env_step(state, action)
    return state, plan, extras


def test_init_is_the_middle_of_the_action_range(policy):
    plan = policy.init(jax.random.key(1), (3, 2))
    assert plan.shape == (3, 2, PENDULUM_SETTINGS["horizon"], 1)
    np.testing.assert_array_equal(plan, np.zeros(plan.shape))


@pytest.mark.slow  # 200 planning steps: about 20 s on 2 cores
def test_swings_the_pendulum_up(swing_up, pendulum):
    state, plan, extras = swing_up
    assert np.all(state.done) and np.all(state.info["truncated"])
    np.testing.assert_array_equal(state.metrics["success"], np.ones(NUM_ENVS))
    assert plan.shape == (NUM_ENVS, PENDULUM_SETTINGS["horizon"], 1)
    assert np.all(np.abs(plan) <= 1.0)
    # Balanced at the end, the best plan's return is near 0; hanging still
    # it would be about -pi^2 per step, -296 over the horizon.
    assert np.all(extras["best_return"] > -5.0)


def test_step_compiles_once(pendulum, policy, plan_step):
    # One trace for a run of steps: the plan keeps its shape and dtype.
    plan = policy.init(jax.random.key(5), (NUM_ENVS,))
    for t in range(3):
        observation = _observation(pendulum, [np.pi - 0.1 * t, 0.2])
        _, plan, _ = plan_step(plan, observation, jax.random.key(10 + t))
    assert plan_step._cache_size() == 1


def _observation(pendulum, privileged):
    """A batch of NUM_ENVS observations, the shape `plan_step` was built for."""
    privileged = jnp.broadcast_to(jnp.asarray(privileged), (NUM_ENVS, 2))
    return Observation(jnp.zeros((NUM_ENVS, pendulum.observation_size)), privileged)


def test_same_key_same_action_other_key_other_action(pendulum, policy, plan_step):
    observation = _observation(pendulum, [np.pi - 0.3, 0.5])
    plan = policy.init(jax.random.key(2), (NUM_ENVS,))
    first = plan_step(plan, observation, jax.random.key(3))
    again = plan_step(plan, observation, jax.random.key(3))
    other = plan_step(plan, observation, jax.random.key(4))
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    # The environments of a batch draw their own noise.
    assert not np.array_equal(first[0][0], first[0][1])


def test_plan_is_shifted_by_one_step(pendulum, plan_step):
    observation = _observation(pendulum, [0.5, 0.0])
    ramp = jnp.linspace(-0.9, 0.9, PENDULUM_SETTINGS["horizon"])[None, :, None]
    ramp = jnp.broadcast_to(ramp, (NUM_ENVS, PENDULUM_SETTINGS["horizon"], 1))
    action, plan, _ = plan_step(ramp, observation, jax.random.key(5))
    # The executed action is the refined plan's first entry; the rest moves
    # forward one step and the last entry is repeated.
    assert action.shape == (NUM_ENVS, 1)
    np.testing.assert_array_equal(plan[:, -1], plan[:, -2])
    assert not np.array_equal(plan, ramp)


def test_invalid_settings_name_the_field(pendulum):
    with pytest.raises(ValueError, match=r"MppiConfig\.horizon.*0"):
        mppi.make_mppi(pendulum, horizon=0)
    with pytest.raises(ValueError, match="num_sample"):
        mppi.make_mppi(pendulum, num_sample=8)


def test_needs_state_from_privileged():
    opaque = types.SimpleNamespace(unwrapped=types.SimpleNamespace(name="opaque"))
    with pytest.raises(ValueError, match="state_from_privileged"):
        mppi.make_mppi(opaque)


@pytest.mark.slow
def test_swings_the_cartpole_up():
    # Measured with the defaults (horizon 40, 128 samples): 16 of 16
    # episodes, mean return 166.6 (the analytic expert's is 153.6).
    env = envs.make("cartpole")
    policy = mppi.make_mppi(env)
    run = jax.jit(functools.partial(ilax.rollout, env, policy), static_argnums=(1, 2))
    _, log = run(jax.random.key(6), NUM_ENVS, env.max_steps)
    summary = summarize(log)
    assert summary["episode/num_episodes"] == NUM_ENVS
    assert summary["episode/success"] == 1.0
    assert summary["episode/length"] == env.max_steps
