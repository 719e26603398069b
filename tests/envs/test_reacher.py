"""The planar reachers: kinematics, target distribution, observation, success."""

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
import pytest

import ilax
from ilax.envs import reacher

TASKS = ("reacher2", "reacher3")


@pytest.fixture(scope="module", params=TASKS)
def task(request):
    env = ilax.envs.make(request.param)
    unwrapped = env.unwrapped
    keys = jax.random.split(jax.random.key(0), 256)
    states = jax.device_get(jax.jit(jax.vmap(unwrapped.reset))(keys))
    return env, unwrapped, states


def test_names_sizes_and_shared_workspace():
    two = ilax.envs.make("reacher2")
    three = ilax.envs.make("reacher3")
    assert (two.name, three.name) == ("reacher2", "reacher3")
    assert two.unwrapped.reach == pytest.approx(0.2, abs=1e-6)
    assert three.unwrapped.reach == pytest.approx(0.2, abs=1e-6)
    # cos, sin and velocity per joint, then target and tip-minus-target.
    assert (two.observation_size, two.privileged_size, two.action_size) == (10, 6, 2)
    assert (three.observation_size, three.privileged_size, three.action_size) == (
        13,
        8,
        3,
    )


def test_forward_kinematics_by_hand():
    lengths = jnp.array([0.1, 0.1])
    np.testing.assert_allclose(
        reacher.fingertip_position(jnp.array([0.0, 0.0]), lengths), [0.2, 0.0]
    )
    np.testing.assert_allclose(
        reacher.fingertip_position(jnp.array([np.pi / 2, -np.pi / 2]), lengths),
        [0.1, 0.1],
        atol=1e-7,
    )
    # Folded back on itself, the tip is at the shoulder.
    np.testing.assert_allclose(
        reacher.fingertip_position(jnp.array([0.3, np.pi]), lengths),
        [0.0, 0.0],
        atol=1e-7,
    )


def test_jacobian_is_the_derivative_of_forward_kinematics():
    lengths = jnp.array([0.07, 0.06, 0.05])
    qpos = jax.random.uniform(jax.random.key(3), (3,), minval=-3.0, maxval=3.0)
    expected = jax.jacfwd(reacher.fingertip_position)(qpos, lengths)
    np.testing.assert_allclose(
        reacher.fingertip_jacobian(qpos, lengths), expected, atol=1e-6
    )


def test_forward_kinematics_matches_mujoco(task):
    env, unwrapped, states = task
    n = unwrapped.config.num_links
    site = mujoco.mj_name2id(unwrapped.mj_model, mujoco.mjtObj.mjOBJ_SITE, "fingertip")
    qpos = states.privileged[:, :n]
    tips = jax.vmap(reacher.fingertip_position, in_axes=(0, None))(
        qpos, unwrapped.link_lengths
    )
    # Reset ran mjx.forward, so the site positions belong to this qpos.
    np.testing.assert_allclose(states.data.site_xpos[:, site, :2], tips, atol=2e-6)
    np.testing.assert_allclose(states.data.site_xpos[:, site, 2], 0.0, atol=1e-7)
    # The drawn target follows the privileged target.
    np.testing.assert_allclose(states.data.mocap_pos[:, 0, :2], states.info["target"])


def test_targets_fill_the_reachable_annulus(task):
    env, unwrapped, states = task
    n = unwrapped.config.num_links
    target = states.info["target"]
    np.testing.assert_array_equal(states.privileged[:, 2 * n :], target)
    radius = np.linalg.norm(target, axis=-1)
    low, high = unwrapped.config.target_min_radius, unwrapped.config.target_max_radius
    assert np.all((radius >= low - 1e-6) & (radius <= high + 1e-6))
    # Uniform over the area: half the targets lie inside the radius that
    # halves the annulus's area (256 draws: standard error 0.03).
    halving = np.sqrt((low**2 + high**2) / 2)
    assert abs(np.mean(radius < halving) - 0.5) < 0.1
    quadrant = (target[:, 0] > 0) * 2 + (target[:, 1] > 0)
    assert set(np.unique(quadrant)) == {0, 1, 2, 3}


def test_observation_layout(task):
    env, unwrapped, states = task
    n = unwrapped.config.num_links
    qpos = states.privileged[:, :n]
    qvel = states.privileged[:, n : 2 * n]
    target = states.info["target"]
    tips = jax.vmap(reacher.fingertip_position, in_axes=(0, None))(
        qpos, unwrapped.link_lengths
    )
    expected = np.concatenate(
        [np.cos(qpos), np.sin(qpos), qvel, target, tips - target], axis=-1
    )
    np.testing.assert_allclose(states.obs, expected, atol=1e-6)
    assert np.all(np.abs(qpos[:, 1:]) <= unwrapped.config.initial_bend)


def test_success_reward_and_no_gravity_torque():
    # The two arms share this code; one suffices and saves a compilation.
    unwrapped = ilax.envs.make("reacher2").unwrapped
    qpos = np.array([0.4, -1.1], np.float32)
    tip = np.asarray(reacher.fingertip_position(qpos, unwrapped.link_lengths))
    offsets = np.array([[0.0, 0.0], [0.015, 0.0], [0.0, -0.03]], np.float32)
    at_rest = np.stack(
        [np.concatenate([qpos, np.zeros(2, np.float32), tip + o]) for o in offsets]
    )

    @jax.jit
    def step(privileged):
        state = jax.vmap(unwrapped.state_from_privileged)(privileged)
        return jax.vmap(unwrapped.step)(state, jnp.zeros((3, 2)))

    state = jax.device_get(step(at_rest))
    # At rest with no torque the arm stays put: gravity does no work in the
    # horizontal plane and nothing else pushes it.
    np.testing.assert_allclose(state.privileged[:, :2], at_rest[:, :2], atol=1e-7)
    distance = np.linalg.norm(offsets, axis=-1)
    np.testing.assert_allclose(state.metrics["distance"], distance, atol=1e-6)
    np.testing.assert_allclose(state.reward, -distance, atol=1e-6)
    # The threshold is 0.02 m.
    np.testing.assert_array_equal(state.metrics["success"], [1.0, 1.0, 0.0])
    assert not np.any(state.done)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"num_links": 4}, r"ReacherConfig.num_links must be one of 2, 3; got 4"),
        (
            {"target_max_radius": 0.25},
            r"ReacherConfig.target_max_radius must lie between .* got 0.25",
        ),
        ({"success_distance": 0.0}, r"ReacherConfig.success_distance must be > 0"),
        ({"initial_bend": -1.0}, r"ReacherConfig.initial_bend must be >= 0"),
    ],
)
def test_invalid_config_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ilax.envs.make("reacher2", **overrides)
