"""The C-engine backend (`impl="c"`) checked against Gymnasium and MJX.

The locomotion tasks are compared with Gymnasium here; InvertedPendulum and
Swimmer, which also step the C engine by default on CPU, go through the
whole comparison of `tests/envs/test_gym_tasks.py`.

Gymnasium steps the same model with the same C engine in float64, so it is
the reference: along 300 steps of Gymnasium's own trajectory under random
actions (reset at every termination), ilax's task is set to Gymnasium's
state (rounded to float32) before each step, and the step's observation,
privileged state, reward and termination are compared. The measured gaps
(2-core x86 CPU, seeds 0-2) are float32 rounding: observation at most
9.4e-7, reward 4.8e-6, no termination differs. Free-running, the two agree
until the float32 rounding of the state, amplified by contacts, parts them:
hopper and walker2d stay within 2e-5 until they fall; halfcheetah, whose
random gait slams the floor, parts after 6 to 31 steps, so it is compared
one step at a time only. Tolerances are about 10x the measured gaps.

MJX is compared with the C engine one step from the same states, taken
along the C engine's random walks (slow tier: MJX compiles for a minute).
"""

import functools

import chex
import gymnasium as gym
import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

import ilax
import ilax.envs
from ilax.envs import mujoco_c
from ilax.envs.wrappers import AutoReset, Vmap

GYM_IDS = {
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
}
FREE_RUNNING = ["hopper", "walker2d"]
C_TASKS = [*GYM_IDS, "gym/Swimmer-v5", "gym/InvertedPendulum-v5"]
N_STEPS = 300
FREE_STEPS = 200
SEEDS = (0, 1)
OBS_ATOL, REWARD_ATOL, FREE_OBS_ATOL = 1e-5, 5e-5, 2e-4


@functools.cache
def c_task(name: str):
    """The unwrapped C-engine task and its jitted one-step-from-state map."""
    env = ilax.envs.make(name, impl="c").unwrapped

    def one_step(privileged, action):
        return env.step(env.state_from_privileged(privileged), action)

    return env, jax.jit(jax.vmap(one_step)), jax.jit(env.step)


def random_actions(env, rng, n):
    low, high = env.action_bounds
    return rng.uniform(1.2 * low, 1.2 * high, (n, env.action_size)).astype(np.float32)


def gym_trajectory(name, seed):
    """Gymnasium's states, actions and step results along a random walk."""
    env = c_task(name)[0]
    gym_env = gym.make(GYM_IDS[name]).unwrapped
    gym_env.reset(seed=seed)
    nq = gym_env.model.nq
    actions = random_actions(env, np.random.default_rng(seed), N_STEPS)
    states, results = [], []
    for t, action in enumerate(actions):
        state = np.concatenate([gym_env.data.qpos, gym_env.data.qvel])
        state = state.astype(np.float32)
        gym_env.set_state(state[:nq].astype(np.float64), state[nq:].astype(np.float64))
        states.append(state)
        obs, reward, terminated, _, _ = gym_env.step(action)
        after = np.concatenate([gym_env.data.qpos, gym_env.data.qvel])
        results.append((obs, after, reward, terminated))
        if terminated:
            gym_env.reset(seed=seed + 1000 + t)
    return np.stack(states), actions, [np.stack(r) for r in zip(*results, strict=True)]


@pytest.mark.parametrize("name", list(GYM_IDS))
@pytest.mark.parametrize("seed", SEEDS)
def test_every_step_matches_gymnasium_from_the_same_state(name, seed):
    states, actions, (obs, after, reward, terminated) = gym_trajectory(name, seed)
    _, one_step, _ = c_task(name)
    ours = one_step(states, actions)
    np.testing.assert_allclose(ours.obs, obs, atol=OBS_ATOL)
    np.testing.assert_allclose(ours.privileged, after, atol=OBS_ATOL)
    np.testing.assert_allclose(ours.reward, reward, atol=REWARD_ATOL)
    np.testing.assert_array_equal(ours.info["terminated"], terminated)
    assert terminated.any() == (name != "halfcheetah")


# MJX's one-step gaps to the C engine, measured from 192 states along the
# C engine's random walks (observation, reward): hopper 5.1e-6, 3.8e-6;
# halfcheetah 1.4e-3, 6.2e-5; walker2d 1.3e-4, 3.8e-6; Swimmer 5.4e-6,
# 7.5e-7; InvertedPendulum 1.4e-5, 0. Tolerances about 10x above them.
MJX_ATOL = {
    "hopper": (5e-5, 5e-5),
    "halfcheetah": (2e-2, 1e-3),
    "walker2d": (2e-3, 5e-5),
    "gym/Swimmer-v5": (5e-5, 1e-5),
    "gym/InvertedPendulum-v5": (2e-4, 0.0),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", C_TASKS)
def test_mjx_and_the_c_engine_agree_from_the_same_state(name):
    env_c = ilax.envs.make(name, impl="c").unwrapped
    env_mjx = ilax.envs.make(name, impl="jax").unwrapped

    def one_step(env):
        def step(privileged, action):
            return env.step(env.state_from_privileged(privileged), action)

        return jax.jit(jax.vmap(step))

    # States along 60 steps of the C engine's own random walks, every 10th.
    rng = np.random.default_rng(4)
    actions = jnp.asarray(random_actions(env_c, rng, 60 * 32).reshape(60, 32, -1))

    def walk(state, action):
        state = jax.vmap(env_c.step)(state, action)
        return state, state.privileged

    start = jax.vmap(env_c.reset)(jax.random.split(jax.random.key(4), 32))
    visited = jax.jit(lambda s, a: jax.lax.scan(walk, s, a)[1])(start, actions)
    privileged = visited[::10].reshape(-1, env_c.privileged_size)
    actions = jnp.asarray(random_actions(env_c, rng, privileged.shape[0]))
    ours_c = one_step(env_c)(privileged, actions)
    ours_mjx = one_step(env_mjx)(privileged, actions)
    obs_atol, reward_atol = MJX_ATOL[name]
    np.testing.assert_allclose(ours_mjx.obs, ours_c.obs, atol=obs_atol)
    np.testing.assert_allclose(ours_mjx.reward, ours_c.reward, atol=reward_atol)
    np.testing.assert_array_equal(
        ours_mjx.info["terminated"], ours_c.info["terminated"]
    )


@pytest.mark.parametrize("name", FREE_RUNNING)
def test_free_rollout_matches_gymnasium(name):
    env, _, step = c_task(name)
    state = env.reset(jax.random.key(3))
    gym_env = gym.make(GYM_IDS[name]).unwrapped
    gym_env.reset(seed=0)
    nq = gym_env.model.nq
    start = np.asarray(state.privileged, np.float64)
    gym_env.set_state(start[:nq], start[nq:])
    for t, action in enumerate(random_actions(env, np.random.default_rng(3), 200)):
        state = step(state, action)
        gym_obs, gym_reward, gym_terminated, _, _ = gym_env.step(action)
        where = f"{name} step {t}"
        np.testing.assert_allclose(
            state.obs, gym_obs, atol=FREE_OBS_ATOL, err_msg=where
        )
        assert float(state.reward) == pytest.approx(gym_reward, abs=REWARD_ATOL)
        assert bool(state.info["terminated"]) == gym_terminated, where
        if gym_terminated:
            break


def test_nested_vmap_and_threads_agree_with_one_environment_at_a_time():
    """Seeds x environments in one callback equal each environment alone."""
    env, _, step = c_task("hopper")
    keys = jax.vmap(jax.random.key)(jnp.arange(6)).reshape(2, 3)
    actions = random_actions(env, np.random.default_rng(0), 2 * 3 * 5)
    actions = actions.reshape(5, 2, 3, env.action_size)

    @jax.jit
    def batched(keys, actions):
        def body(state, action):
            state = jax.vmap(jax.vmap(env.step))(state, action)
            return state, state.obs

        return jax.lax.scan(body, jax.vmap(jax.vmap(env.reset))(keys), actions)[1]

    together = batched(keys, actions)
    for i in range(2):
        for j in range(3):
            state = env.reset(jax.random.key(3 * i + j))
            for t in range(5):
                state = step(state, actions[t, i, j])
                np.testing.assert_array_equal(together[t, i, j], state.obs)


def test_thread_pool_gives_the_same_result_as_one_thread():
    env = c_task("walker2d")[0]
    state = jax.vmap(env.reset)(jax.random.split(jax.random.key(1), 64))
    ctrl = jnp.asarray(random_actions(env, np.random.default_rng(1), 64))
    results = []
    for threads in (1, 2):
        engine = mujoco_c.CEngine(env.mj_model, env.config.n_substeps, "Test", threads)
        results.append(jax.jit(jax.vmap(engine.step))(state.data, ctrl))
    chex.assert_trees_all_equal(*results)


def test_rollout_runs_on_the_c_engine_without_recompiling():
    env = ilax.envs.make("hopper", impl="c", episode_length=30)
    batched = AutoReset(Vmap(env))

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(key):
        key_reset, key_steps = jax.random.split(key)
        state = batched.reset(jax.random.split(key_reset, 8))

        def body(state, key):
            low, high = env.action_bounds
            action = jax.random.uniform(
                key, (8, env.action_size), minval=low, maxval=high
            )
            state = batched.step(state, action)
            return state, (state.reward, state.done)

        return jax.lax.scan(body, state, jax.random.split(key_steps, 40))[1]

    rewards, dones = run(jax.random.key(0))
    run(jax.random.key(1))
    assert rewards.shape == (40, 8)
    assert np.all(np.isfinite(rewards))
    assert dones.sum() >= 8  # every environment reached its 30-step limit


@pytest.mark.parametrize("speed", [np.nan, 1e11, 5.0])
def test_a_diverging_state_ends_the_episode_instead_of_a_silent_reset(speed):
    """MuJoCo resets a diverging simulation; ilax ends the episode instead."""
    env, _, step = c_task("hopper")
    nq = env.mj_model.nq
    privileged = np.asarray(env.reset(jax.random.key(0)).privileged).copy()
    privileged[nq + 2] = speed  # the thigh's angular velocity
    state = env.state_from_privileged(jnp.asarray(privileged))
    state = state.replace(data=state.data.replace(time=jnp.float32(0.5)))
    after = step(state, jnp.zeros(env.action_size))
    diverged = not np.isfinite(speed) or speed > 1e10
    assert bool(after.done) == diverged
    assert float(after.metrics["nan"]) == float(diverged)
    assert bool(after.info["truncated"]) == diverged
    assert np.isfinite(float(after.reward))
    if np.isfinite(speed):  # the guard keeps the previous observation
        assert np.all(np.isfinite(after.obs))


def test_mocap_bodies_are_refused():
    model = mujoco.MjModel.from_xml_string(
        """<mujoco><worldbody><body mocap="true"><geom size=".1"/></body>
        <body><joint type="hinge"/><geom size=".1"/></body></worldbody></mujoco>"""
    )
    with pytest.raises(ValueError, match=r"Test\.impl='c'.*expected a state of 3"):
        mujoco_c.check_model(model, "Test")


@pytest.mark.parametrize("name", ["ant", "reacher2", "gym/Reacher-v5"])
def test_task_that_reads_more_than_the_state_refuses_it_naming_impl(name):
    with pytest.raises(ValueError, match=r"impl"):
        ilax.envs.make(name, impl="c")


def test_stepping_in_a_program_for_another_backend_names_impl(monkeypatch):
    env = c_task("hopper")[0]
    state = env.reset(jax.random.key(0))
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    with pytest.raises(ValueError, match=r"HopperConfig\.impl='c'.*'gpu'"):
        env.step(state, jnp.zeros(env.action_size))


def test_model_with_actuator_activations_is_refused():
    model = mujoco.MjModel.from_xml_string(
        """<mujoco><worldbody><body><joint name="j" type="hinge"/>
        <geom size=".1"/></body></worldbody><actuator>
        <general joint="j" dyntype="filter" dynprm="0.1"/></actuator></mujoco>"""
    )
    with pytest.raises(ValueError, match=r"Test\.impl='c'.*expected a state of 3"):
        mujoco_c.check_model(model, "Test")
