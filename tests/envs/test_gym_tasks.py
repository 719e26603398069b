"""The Gymnasium-parity tasks ("gym/...") checked against Gymnasium itself.

Every task runs the same random actions from the same initial state as
Gymnasium's own environment, two ways:

- free-running: both sides step their own state for a whole episode (until
  Gymnasium's termination, or the episode's length). ilax computes in
  float32, Gymnasium in float64, and the rounding grows along the way,
  fastest where the dynamics are unstable (Pendulum-v1 passing upright) or
  stiff (a joint hitting its limit), so these tolerances are measured;
- one step from the same state: before every step Gymnasium is set to
  ilax's previous privileged state, so each transition (observation,
  privileged state, reward, reward terms, termination) is compared over 200
  steps, past termination (fallen poles, spinning links, joint limits).
  Steps on which no joint limit is active in Gymnasium agree to float32
  rounding. On a step with an active limit, MuJoCo's soft limit constraint
  (a stiff spring on the penetration depth) scales the float32 rounding of
  that depth, so a force-driven value can part by up to 1e-3.

Each task runs as `ilax.envs.make` builds it by default: on CPU,
InvertedPendulum and Swimmer step MuJoCo's C engine (`impl="auto"`), the
other MuJoCo tasks MJX. The measured gaps below are MJX's; the C engine's
are smaller (float32 rounding of the state only). MJX on InvertedPendulum
and Swimmer is compared with the C engine in `tests/envs/test_mujoco_c.py`.

Pendulum-v1 also runs in float64 (`jax.enable_x64`), where it reproduces
Gymnasium's whole trajectory to 1e-11: the same operations in the same
order and precision. Each task compiles its reset and one scanned episode
once, shared by the tests of this module.
"""

import functools
import inspect
from typing import NamedTuple

import gymnasium as gym
import jax
import numpy as np
import pytest
from gymnasium.envs.classic_control.pendulum import PendulumEnv

import ilax.envs
from ilax import config as config_lib

GYM_IDS = {
    "gym/Pendulum-v1": "Pendulum-v1",
    "gym/InvertedPendulum-v5": "InvertedPendulum-v5",
    "gym/InvertedDoublePendulum-v5": "InvertedDoublePendulum-v5",
    "gym/Reacher-v5": "Reacher-v5",
    "gym/Swimmer-v5": "Swimmer-v5",
}
TASKS = list(GYM_IDS)
MJX_TASKS = TASKS[1:]
TERMINATING = ("gym/InvertedPendulum-v5", "gym/InvertedDoublePendulum-v5")
N_STEPS = 200
SEEDS = (0, 1, 2)
# Random actions reach this multiple of the action range: beyond it, to
# check the clipping (Pendulum's, MuJoCo's ctrl clamp) and that a control
# cost is on the raw action.
ACTION_OVERSHOOT = 1.2

# Tolerances, (observation and privileged state, reward and reward terms),
# about 5x the largest gaps measured over SEEDS (float32 ilax against
# float64 Gymnasium, 2-core x86 CPU), which are, free-running:
#   Pendulum-v1               4.3e-2, 5.1e-2  (200 steps; passes upright)
#   InvertedPendulum-v5       6.7e-7, 0       (until termination, 4-5 steps)
#   InvertedDoublePendulum-v5 1.4e-6, 9.5e-7  (until termination, 5-6 steps)
#   Reacher-v5                1.9e-4, 2.3e-6  (50 steps, joint limits hit)
#   Swimmer-v5                6.6e-4, 1.3e-4  (200 steps)
# one step from the same state, without / with an active joint limit:
#   Pendulum-v1               4.8e-7,          4.4e-6
#   InvertedPendulum-v5       2.7e-7 / 7.0e-5, 0
#   InvertedDoublePendulum-v5 2.8e-5 / 1.2e-3, 2.0e-5  (1.2e-3: qfrc_constraint)
#   Reacher-v5                2.8e-6 / 9.9e-4, 4.1e-7
#   Swimmer-v5                4.6e-6 / 1.6e-5, 2.2e-6
FREE_ATOL = {
    "gym/Pendulum-v1": (0.25, 0.25),
    "gym/InvertedPendulum-v5": (5e-6, 0.0),
    "gym/InvertedDoublePendulum-v5": (1e-5, 5e-6),
    "gym/Reacher-v5": (1e-3, 2e-5),
    "gym/Swimmer-v5": (5e-3, 1e-3),
}
STEP_ATOL = {
    "gym/Pendulum-v1": (2e-6, 2e-5),
    "gym/InvertedPendulum-v5": (2e-6, 0.0),
    "gym/InvertedDoublePendulum-v5": (1e-4, 1e-4),
    "gym/Reacher-v5": (2e-5, 2e-6),
    "gym/Swimmer-v5": (2e-5, 1e-5),
}
LIMIT_ATOL = {
    "gym/InvertedPendulum-v5": 5e-4,
    "gym/InvertedDoublePendulum-v5": 1e-2,
    "gym/Reacher-v5": 5e-3,
    "gym/Swimmer-v5": 1e-4,
}


class Harness(NamedTuple):
    env: ilax.envs.Env  # unwrapped
    reset: object  # jitted env.reset
    episode: object  # jitted (privileged, actions[N_STEPS]) -> Records


class Records(NamedTuple):
    obs: np.ndarray  # [T, observation_size]
    privileged: np.ndarray  # [T, privileged_size]
    reward: np.ndarray  # [T]
    terminated: np.ndarray  # [T]
    metrics: dict  # name -> [T]


@functools.cache
def harness(name: str) -> Harness:
    env = ilax.envs.make(name).unwrapped

    def episode(privileged, actions):
        def body(state, action):
            state = env.step(state, action)
            return state, Records(
                state.obs,
                state.privileged,
                state.reward,
                state.info["terminated"],
                state.metrics,
            )

        return jax.lax.scan(body, env.state_from_privileged(privileged), actions)[1]

    return Harness(env, jax.jit(env.reset), jax.jit(episode))


def random_actions(env, seed: int, steps: int = N_STEPS) -> np.ndarray:
    low, high = env.action_bounds
    rng = np.random.default_rng(seed)
    actions = rng.uniform(
        ACTION_OVERSHOOT * low, ACTION_OVERSHOOT * high, (steps, env.action_size)
    )
    return actions.astype(np.float32)


class Rollout(NamedTuple):
    start: np.ndarray  # privileged state after reset
    start_obs: np.ndarray  # observation after reset
    actions: np.ndarray  # [N_STEPS, action_size]
    ours: Records


@functools.cache
def rollout(name: str, seed: int) -> Rollout:
    """ilax's episode from a reset with seed `seed` under random actions."""
    h = harness(name)
    state = h.reset(jax.random.key(seed))
    start = np.asarray(state.privileged)
    actions = random_actions(h.env, seed)
    ours = Records(*jax.device_get(h.episode(start, actions)))
    return Rollout(start, np.asarray(state.obs), actions, ours)


def gym_env(name: str):
    env = gym.make(GYM_IDS[name]).unwrapped
    env.reset(seed=0)
    return env


def set_gym_state(env, privileged: np.ndarray) -> None:
    privileged = np.asarray(privileged, np.float64)
    if isinstance(env, PendulumEnv):
        env.state = privileged.copy()
    else:
        nq = env.model.nq
        env.set_state(privileged[:nq], privileged[nq:])


def gym_state(env) -> np.ndarray:
    if isinstance(env, PendulumEnv):
        return np.asarray(env.state, np.float64)
    return np.concatenate([env.data.qpos, env.data.qvel])


class GymStep(NamedTuple):
    obs: np.ndarray
    state: np.ndarray  # qpos, qvel (th, thdot for Pendulum-v1)
    reward: float
    terminated: bool
    info: dict
    limited: bool  # a joint limit was active at the step's start or end


def gym_rollout(name, start, actions, restarts=None) -> list[GymStep]:
    """Gymnasium's transition for every action, from privileged state `start`.

    With `restarts` (ilax's privileged states), Gymnasium is set to
    `restarts[t - 1]` before step t: one step from the same state each time.
    """
    env = gym_env(name)
    set_gym_state(env, start)
    steps = []
    for t, action in enumerate(actions):
        if restarts is not None and t > 0:
            set_gym_state(env, restarts[t - 1])
        limited = _limit_active(env)
        obs, reward, terminated, _, info = env.step(action)
        limited |= _limit_active(env)
        steps.append(GymStep(obs, gym_state(env), reward, terminated, info, limited))
    return steps


def _limit_active(env) -> bool:
    # These models have no contacts: every constraint row is a joint limit.
    return not isinstance(env, PendulumEnv) and env.data.nefc > 0


def compare(name, ours: Records, theirs: list, steps, atol: tuple[float, float]):
    """Compares ilax's records with Gymnasium's at the given step indices."""
    state_atol, reward_atol = atol
    for t in steps:
        step, where = theirs[t], f"{name} step {t}"
        np.testing.assert_allclose(
            ours.obs[t], step.obs, atol=state_atol, err_msg=where
        )
        np.testing.assert_allclose(
            ours.privileged[t], step.state, atol=state_atol, err_msg=where
        )
        assert ours.reward[t] == pytest.approx(step.reward, abs=reward_atol), where
        assert bool(ours.terminated[t]) == step.terminated, where
        for key, value in step.info.items():
            if key in ours.metrics:
                assert ours.metrics[key][t] == pytest.approx(value, abs=reward_atol), (
                    f"{where} metric {key}"
                )


def compared_steps(name: str, theirs: list[GymStep]) -> int:
    """Steps of the episode: through Gymnasium's termination, or the time limit."""
    limit = min(N_STEPS, ilax.envs.default_config(name).episode_length)
    for t, step in enumerate(theirs[:limit]):
        if step.terminated:
            return t + 1
    return limit


@pytest.mark.parametrize("name", TASKS)
def test_sizes_bounds_and_time_limit_match_gymnasium(name):
    env = ilax.envs.make(name)
    gym_wrapped = gym.make(GYM_IDS[name])
    assert (env.observation_size,) == gym_wrapped.observation_space.shape
    low, high = env.action_bounds
    np.testing.assert_array_equal(low, gym_wrapped.action_space.low)
    np.testing.assert_array_equal(high, gym_wrapped.action_space.high)
    assert env.dt == pytest.approx(gym_wrapped.unwrapped.dt)
    assert env.max_steps == gym_wrapped.spec.max_episode_steps
    state = gym_state(gym_env(name))
    assert env.privileged_size == state.size
    assert env.unwrapped.name == name  # the expert registry looks tasks up by it


@pytest.mark.parametrize("name", TASKS)
def test_defaults_are_gymnasiums_constructor_defaults(name):
    config = ilax.envs.default_config(name)
    gym_cls = type(gym_env(name))
    fields = set(config_lib.field_names(config))
    checked = 0
    for parameter in inspect.signature(gym_cls.__init__).parameters.values():
        field = "n_substeps" if parameter.name == "frame_skip" else parameter.name
        if field in fields:
            assert getattr(config, field) == parameter.default, field
            checked += 1
    assert checked >= 1
    if name in MJX_TASKS:
        assert config.timestep == gym_env(name).model.opt.timestep


@pytest.mark.parametrize("name", TASKS)
def test_free_rollout_matches_gymnasium(name):
    terminated_somewhere = False
    for seed in SEEDS:
        start, start_obs, actions, ours = rollout(name, seed)
        gym_start = gym_env(name)
        set_gym_state(gym_start, start)
        np.testing.assert_allclose(start_obs, gym_start._get_obs(), atol=1e-6)
        theirs = gym_rollout(name, start, actions)
        steps = compared_steps(name, theirs)
        compare(name, ours, theirs, range(steps), FREE_ATOL[name])
        terminated_somewhere |= bool(ours.terminated[steps - 1])
    # Random actions topple the pendulums: the termination rule is compared.
    assert terminated_somewhere == (name in TERMINATING)


@pytest.mark.parametrize("name", TASKS)
def test_every_step_matches_gymnasium_from_the_same_state(name):
    for seed in SEEDS:
        start, _, actions, ours = rollout(name, seed)
        theirs = gym_rollout(name, start, actions, restarts=ours.privileged)
        free = [t for t, step in enumerate(theirs) if not step.limited]
        limited = [t for t, step in enumerate(theirs) if step.limited]
        compare(name, ours, theirs, free, STEP_ATOL[name])
        if limited:
            atol = (LIMIT_ATOL[name], STEP_ATOL[name][1])
            compare(name, ours, theirs, limited, atol)


@pytest.mark.parametrize("name", TASKS)
def test_reward_terms_sum_to_the_reward(name):
    ours = rollout(name, 0).ours
    terms = {k: v for k, v in ours.metrics.items() if k != "nan"}
    for key in terms:
        # Each metric is a term of the reward, or kinematics Gymnasium logs.
        assert key.startswith(("reward_", "distance_", "velocity_", "x_")), key
    total = sum(v for k, v in terms.items() if not k.startswith("x_"))
    np.testing.assert_allclose(total, ours.reward, rtol=1e-6, atol=1e-5)


def test_pendulum_matches_gymnasium_to_rounding_in_float64():
    name = "gym/Pendulum-v1"
    env = harness(name).env
    with jax.enable_x64(True):
        for seed in SEEDS:
            start = np.asarray(env.reset(jax.random.key(seed)).privileged)
            assert start.dtype == np.float64
            actions = random_actions(env, seed)
            # The jitted episode compiles anew for float64 inputs.
            states = harness(name).episode(start, actions)
            theirs = gym_rollout(name, start, actions)
            # Measured: bit for bit over the first 6-16 steps, then one-ulp
            # differences (XLA's sin against NumPy's) grow to 3.4e-12.
            np.testing.assert_allclose(
                states.privileged, [step.state for step in theirs], rtol=0, atol=1e-9
            )


def test_pendulum_reset_draws_gymnasiums_ranges():
    env = harness("gym/Pendulum-v1").env
    keys = jax.random.split(jax.random.key(4), 256)
    states = np.asarray(jax.vmap(env.reset)(keys).privileged)
    for column, bound in enumerate((np.pi, 1.0)):
        values = states[:, column]
        assert np.all(np.abs(values) <= bound)
        assert np.abs(values).max() > 0.95 * bound
    # g is Gymnasium's constructor argument; other values reach the dynamics.
    light = ilax.envs.make("gym/Pendulum-v1", g=9.81).unwrapped
    start, action = np.array([1.0, 0.5], np.float32), np.array([0.3], np.float32)
    ours = light.step(light.state_from_privileged(start), action)
    theirs = gym.make("Pendulum-v1", g=9.81).unwrapped
    theirs.reset(seed=0)
    theirs.state = start.astype(np.float64)
    np.testing.assert_allclose(ours.obs, theirs.step(action)[0], atol=1e-6)


@pytest.mark.parametrize("name", MJX_TASKS)
def test_reset_noise_follows_gymnasium(name):
    h = harness(name)
    env = h.env
    nq, nv = env.mj_model.nq, env.mj_model.nv
    keys = jax.random.split(jax.random.key(3), 32)
    privileged = np.stack([h.reset(key).privileged for key in keys])
    qpos_noise = privileged[:, :nq] - env.mj_model.qpos0
    qvel = privileged[:, nq:]
    if name == "gym/Reacher-v5":
        arm, target = qpos_noise[:, :2], privileged[:, 2:nq]
        assert np.all(np.abs(arm) <= 0.1 + 1e-6) and np.abs(arm).max() > 0.09
        radius = np.linalg.norm(target, axis=1)
        assert np.all(radius < 0.2) and radius.max() > 0.15
        assert np.all(np.abs(qvel[:, :2]) <= 0.005) and np.all(qvel[:, 2:] == 0)
        return
    scale = env.config.reset_noise_scale
    assert qvel.shape[1] == nv
    assert np.all(np.abs(qpos_noise) <= scale + 1e-6)  # float32 rounding
    assert np.abs(qpos_noise).max() > 0.9 * scale
    if name == "gym/InvertedDoublePendulum-v5":
        # Gymnasium draws these velocities from a normal law of std `scale`.
        assert np.abs(qvel).max() > scale
        assert 0.7 * scale < qvel.std() < 1.3 * scale
    else:
        assert np.all(np.abs(qvel) <= scale) and np.abs(qvel).max() > 0.9 * scale


@pytest.mark.parametrize(
    "name, overrides, field",
    [
        ("gym/Pendulum-v1", {"max_torque": 0.0}, "max_torque"),
        ("gym/Pendulum-v1", {"g": -1.0}, "g"),
        ("gym/InvertedPendulum-v5", {"reset_noise_scale": -0.1}, "reset_noise_scale"),
        ("gym/Reacher-v5", {"reward_dist_weight": -1.0}, "reward_dist_weight"),
        ("gym/Swimmer-v5", {"reset_noise_scale": -0.1}, "reset_noise_scale"),
        ("gym/InvertedDoublePendulum-v5", {"n_substeps": 0}, "n_substeps"),
    ],
)
def test_invalid_config_names_the_field(name, overrides, field):
    with pytest.raises(ValueError, match=rf"Config\.{field} must be"):
        ilax.envs.make(name, **overrides)
