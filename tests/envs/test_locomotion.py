"""Hopper, HalfCheetah, Walker2d and Ant on MJX checked against Gymnasium's v5 envs.

On CPU these tasks step MuJoCo's C engine by default (`impl="auto"`); this
module checks their MJX backend, the default elsewhere, and
`tests/envs/test_mujoco_c.py` the C engine.

Each task compiles two functions once (reset, and a scanned episode from a
privileged state), shared by every test of this module.
"""

import functools
from typing import NamedTuple

import gymnasium as gym
import jax
import mujoco
import numpy as np
import pytest
from mujoco import mjx

import ilax.envs
from ilax.envs import locomotion
from tests.tiers import task_params

N_STEPS = 25
# Along this action sequence, float32 rounding flips an Ant ankle's contact
# at step 16 and its velocity jumps apart by 0.27, while float64 MJX stays
# within 1e-5 of Gymnasium over all 25 steps: Ant is compared over 15 steps.
COMPARED_STEPS = {"ant": 15}

GYM_IDS = {
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
    "ant": "Ant-v5",
}
TASKS = {
    "hopper": (locomotion.Hopper, locomotion.HopperConfig),
    "halfcheetah": (locomotion.HalfCheetah, locomotion.HalfCheetahConfig),
    "walker2d": (locomotion.Walker2d, locomotion.Walker2dConfig),
    "ant": (locomotion.Ant, locomotion.AntConfig),
}
# Largest gaps to Gymnasium (float64 MuJoCo) measured over the compared steps
# of random actions up to 1.2x the control range, float32 MJX on a 2-core
# x86 CPU: observation 5.0e-6, 4.3e-3, 1.0e-4, 1.4e-3 and reward 4.8e-7,
# 1.8e-4, 9.0e-6, 6.1e-5 (hopper, halfcheetah, walker2d, ant). The gap grows
# along the trajectory as contacts amplify float32 rounding; float64 MJX
# stays within 1e-5 of Gymnasium. The tolerances leave a margin of about 10x.
OBS_ATOL = {"hopper": 1e-4, "halfcheetah": 5e-2, "walker2d": 2e-3, "ant": 2e-2}
REWARD_ATOL = {"hopper": 1e-5, "halfcheetah": 2e-3, "walker2d": 2e-4, "ant": 1e-3}


class Harness(NamedTuple):
    env: locomotion.LocomotionEnv
    reset: object  # jitted env.reset
    episode: object  # jitted (privileged, actions[N_STEPS]) -> per-step records


# Ant is compared with elliptic friction cones on both sides. With Gymnasium's
# pyramidal cones the two diverge at the first contact of a steep ankle: for a
# capsule within 30 degrees of the floor normal, MJX picks a fixed tangent
# frame where MuJoCo aligns it with the capsule, and a pyramid's friction
# depends on that frame. With elliptic cones and isotropic friction the frame
# does not matter, so everything of ours (observation, contact forces,
# rewards, health) is compared exactly.
ELLIPTIC_CONES = {"ant"}


@functools.cache
def harness(name: str) -> Harness:
    env_cls, config_cls = TASKS[name]
    env = env_cls(config_cls(impl="jax"))  # MJX: the C engine has its own tests
    if name in ELLIPTIC_CONES:
        env.mj_model.opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
        env.mjx_model = mjx.put_model(env.mj_model, impl=env.config.impl)

    def episode(privileged, actions):
        def body(state, action):
            state = env.step(state, action)
            record = (
                state.obs,
                state.privileged,
                state.reward,
                state.info["terminated"],
                state.metrics,
            )
            return state, record

        return jax.lax.scan(body, env.state_from_privileged(privileged), actions)[1]

    return Harness(env, jax.jit(env.reset), jax.jit(episode))


def gym_env_at(name: str, privileged: np.ndarray):
    """Gymnasium's own environment, set to `privileged` = (qpos, qvel)."""
    env = gym.make(GYM_IDS[name]).unwrapped
    if name in ELLIPTIC_CONES:
        env.model.opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    env.reset(seed=0)
    nq = env.model.nq
    privileged = np.asarray(privileged, np.float64)
    env.set_state(privileged[:nq], privileged[nq:])
    return env


@pytest.mark.parametrize("name", task_params(TASKS))
def test_sizes_and_bounds_match_gymnasium(name):
    env = harness(name).env
    gym_env = gym.make(GYM_IDS[name])
    assert (env.observation_size,) == gym_env.observation_space.shape
    assert (
        env.observation_size
        == {"hopper": 11, "halfcheetah": 17, "walker2d": 17, "ant": 105}[name]
    )
    low, high = env.action_bounds
    np.testing.assert_array_equal(low, gym_env.action_space.low)
    np.testing.assert_array_equal(high, gym_env.action_space.high)
    assert env.privileged_size == env.mj_model.nq + env.mj_model.nv
    assert env.dt == pytest.approx(gym_env.unwrapped.dt)


@pytest.mark.parametrize("name", task_params(TASKS))
def test_matches_gymnasium_step_for_step(name):
    h = harness(name)
    state = h.reset(jax.random.key(1))
    gym_env = gym_env_at(name, state.privileged)
    np.testing.assert_allclose(state.obs, gym_env._get_obs(), atol=1e-6)

    # Actions beyond the control range check MuJoCo's clamping and that the
    # control cost is on the raw action.
    low, high = h.env.action_bounds
    rng = np.random.default_rng(0)
    actions = rng.uniform(1.2 * low, 1.2 * high, (N_STEPS, h.env.action_size))
    actions = actions.astype(np.float32)
    obs, privileged, reward, terminated, metrics = h.episode(state.privileged, actions)

    for t, action in enumerate(actions[: COMPARED_STEPS.get(name, N_STEPS)]):
        gym_obs, gym_reward, gym_terminated, _, gym_info = gym_env.step(action)
        where = f"{name} step {t}"
        np.testing.assert_allclose(obs[t], gym_obs, atol=OBS_ATOL[name], err_msg=where)
        gym_state = np.concatenate([gym_env.data.qpos, gym_env.data.qvel])
        np.testing.assert_allclose(
            privileged[t], gym_state, atol=OBS_ATOL[name], err_msg=where
        )
        assert reward[t] == pytest.approx(gym_reward, abs=REWARD_ATOL[name]), where
        assert bool(terminated[t]) == gym_terminated, where
        for key, value in metrics.items():
            if key in gym_info:
                assert value[t] == pytest.approx(
                    gym_info[key], abs=REWARD_ATOL[name]
                ), f"{where} metric {key}"
    # The reward terms are all reported and sum to the reward.
    expected = {"halfcheetah": 2, "ant": 4}.get(name, 3)
    terms = [v for k, v in metrics.items() if k.startswith("reward_")]
    assert len(terms) == expected
    np.testing.assert_allclose(sum(terms), reward, atol=1e-5)


def _unhealthy(name, privileged):
    """A state that breaks one health rule, and stays broken for a step."""
    nq = harness(name).env.mj_model.nq
    if name == "hopper":
        # Upward root velocity beyond the state range (100): only the
        # unclipped state vector shows it (the observation clips at 10).
        return privileged.at[nq + 1].set(150.0)
    if name == "walker2d":
        return privileged.at[1].set(2.5)  # torso above the z range (0.8, 2)
    return privileged.at[2].set(1.5)  # ant: torso above the z range (0.2, 1)


@pytest.mark.parametrize("name", task_params(["hopper", "walker2d", "ant"]))
def test_unhealthy_state_terminates(name):
    h = harness(name)
    state = h.reset(jax.random.key(2))
    bad = _unhealthy(name, state.privileged)
    actions = np.zeros((N_STEPS, h.env.action_size), np.float32)
    obs, _, reward, terminated, metrics = h.episode(bad, actions)
    assert bool(terminated[0])
    assert float(metrics["reward_survive"][0]) == 0.0
    gym_env = gym_env_at(name, bad)
    _, gym_reward, gym_terminated, _, _ = gym_env.step(actions[0])
    assert gym_terminated
    assert float(reward[0]) == pytest.approx(gym_reward, abs=1e-3)
    if name == "hopper":
        assert float(obs[0, 5 + 1]) == 10.0  # qvel[1], clipped

    # The same state without the violation is healthy.
    _, _, _, terminated, metrics = h.episode(state.privileged, actions)
    assert not bool(terminated[0])
    assert float(metrics["reward_survive"][0]) == 1.0


@pytest.mark.parametrize("name", task_params(TASKS))
def test_reset_noise_stays_within_scale(name):
    h = harness(name)
    env = h.env
    nq = env.mj_model.nq
    scale = env.config.reset_noise_scale
    keys = jax.random.split(jax.random.key(3), 32)
    privileged = np.stack([h.reset(key).privileged for key in keys])
    qpos_noise = privileged[:, :nq] - env.mj_model.qpos0
    qvel = privileged[:, nq:]
    assert np.all(np.abs(qpos_noise) <= scale + 1e-6)  # float32 rounding
    assert np.abs(qpos_noise).max() > 0.9 * scale  # uniform over the full width
    if name in ("halfcheetah", "ant"):
        # Gymnasium draws these velocities from a normal law of std `scale`.
        assert np.abs(qvel).max() > scale
        assert 0.8 * scale < qvel.std() < 1.2 * scale
    else:
        assert np.all(np.abs(qvel) <= scale)
        assert np.abs(qvel).max() > 0.9 * scale


def test_tasks_are_registered_with_gymnasium_defaults():
    assert {"hopper", "halfcheetah", "walker2d", "ant"} <= set(ilax.envs.names())
    config = ilax.envs.default_config("ant")
    assert (config.timestep, config.n_substeps) == (0.01, 5)
    assert config.episode_length == 1000
    assert config.ctrl_cost_weight == 0.5 and config.contact_cost_weight == 5e-4
    hopper = ilax.envs.default_config("hopper")
    assert (hopper.timestep, hopper.n_substeps) == (0.002, 4)
    assert hopper.healthy_angle_range == (-0.2, 0.2)


@pytest.mark.parametrize(
    "name, overrides, field",
    [
        ("hopper", {"healthy_z_range": (1.0, 0.5)}, "healthy_z_range"),
        ("walker2d", {"healthy_angle_range": (1.0,)}, "healthy_angle_range"),
        ("ant", {"contact_force_range": (1.0, -1.0)}, "contact_force_range"),
        ("ant", {"impl": "warp"}, "impl"),
        ("halfcheetah", {"reset_noise_scale": -0.1}, "reset_noise_scale"),
    ],
)
def test_invalid_config_names_the_field(name, overrides, field):
    with pytest.raises(ValueError, match=field):
        ilax.envs.make(name, **overrides)
