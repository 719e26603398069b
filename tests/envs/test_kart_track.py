"""Tests of the kart-track task: geometry, occupancy grid, falls, kinematics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import envs
from ilax.envs import kart_track

SPEED, DT, HALF_WIDTH = 2.0, 0.1, 0.6


@pytest.fixture(scope="module")
def env():
    return envs.make("kart_track")


@pytest.fixture(scope="module")
def kart(env):
    return env.unwrapped


@pytest.fixture(scope="module")
def reset(env):
    return jax.jit(jax.vmap(env.reset))


@pytest.fixture(scope="module")
def step(kart):
    # The task itself, without the time limit: states come from
    # `state_from_privileged`, which knows nothing of wrappers.
    return jax.jit(jax.vmap(kart.step))


@pytest.fixture(scope="module")
def from_privileged(kart):
    return jax.jit(jax.vmap(kart.state_from_privileged))


def pose(kart, phi, lateral=0.0, heading_error=0.0):
    """Privileged state at polar angle phi, `lateral` m left of the centreline."""
    centre, heading = map(np.asarray, kart.track.centreline(jnp.asarray(phi)))
    left = np.stack([-np.sin(heading), np.cos(heading)], -1)
    xy = centre + np.asarray(lateral)[..., None] * left
    yaw = heading + heading_error
    velocity = SPEED * np.stack([np.cos(yaw), np.sin(yaw)], -1)
    return np.concatenate(
        [xy, yaw[..., None], velocity, np.zeros_like(yaw)[..., None], phi[..., None]],
        -1,
    ).astype(np.float32)


def test_spaces(env):
    assert env.observation_size == 64
    assert env.privileged_size == 7
    assert env.action_size == 1
    low, high = env.action_bounds
    np.testing.assert_allclose(low, [-2.5])
    np.testing.assert_allclose(high, [2.5])


def test_lap_length_matches_a_polygon(kart):
    # The centreline as a fine polygon, independently of the env's formula.
    phi = np.linspace(0.0, 2 * np.pi, 20001)
    r = 6 + 1.2 * np.sin(3 * phi) + 0.6 * np.cos(5 * phi)
    polygon = np.stack([r * np.cos(phi), r * np.sin(phi)], -1)
    length = np.sum(np.linalg.norm(np.diff(polygon, axis=0), axis=1))
    assert kart.lap_length == pytest.approx(length, rel=1e-4)
    # About 42.8 m, 214 steps of 0.2 m: the calibrated lap.
    assert kart.steps_per_lap == pytest.approx(214.0, abs=0.5)


def test_offset_hand_computed(kart):
    # At phi = 0: r = 6.6, r' = 3 * 1.2 = 3.6, so a point at radius 6.6 + d
    # has offset d * 6.6 / sqrt(6.6**2 + 3.6**2) = 0.8779 d.
    points = jnp.array([[6.6, 0.0], [7.2, 0.0], [7.4, 0.0], [6.0, 0.0]])
    np.testing.assert_allclose(
        kart.track.offset(points), [0.0, 0.5267, 0.7023, -0.5267], atol=1e-3
    )
    np.testing.assert_array_equal(
        kart.track.on_track(points), [True, True, False, True]
    )


def test_centreline_is_on_track_and_normal_offsets_match(kart):
    phi = np.linspace(-np.pi, np.pi, 97)
    track = kart.track
    centre, _ = track.centreline(jnp.asarray(phi))
    np.testing.assert_allclose(track.offset(centre), 0.0, atol=1e-5)
    # Moving along the left normal (inward, for counter-clockwise travel)
    # changes the offset by minus that distance; the measure is first-order,
    # within 5 cm at the edges (measured: 0.049 m at most in the tightest
    # turn).
    for lateral in (0.3, -0.3, 0.55, -0.55):
        xy = pose(kart, phi, np.full_like(phi, lateral))[:, :2]
        np.testing.assert_allclose(track.offset(jnp.asarray(xy)), -lateral, atol=0.05)
    inside = pose(kart, phi, np.full_like(phi, 0.5))[:, :2]
    beyond = pose(kart, phi, np.full_like(phi, -0.7))[:, :2]
    assert np.all(track.on_track(jnp.asarray(inside)))
    assert not np.any(track.on_track(jnp.asarray(beyond)))


def test_probe_layout(kart):
    probes = kart.probe_offsets
    assert probes.shape == (64, 2)
    # Row-major: near row first, columns from right (-2 m) to left (+2 m).
    np.testing.assert_allclose(probes[0], [0.3, -2.0])
    np.testing.assert_allclose(probes[7], [0.3, 2.0])
    np.testing.assert_allclose(probes[8], [0.3 + 3.7 / 7, -2.0], rtol=1e-6)
    np.testing.assert_allclose(probes[63], [4.0, 2.0])


def test_observation_on_centreline(reset):
    state = reset(jax.random.split(jax.random.key(1), 64))
    obs = np.asarray(state.obs)
    assert obs.dtype == np.float32 and obs.shape == (64, 64)
    assert set(np.unique(obs)) <= {0.0, 1.0}
    # Nearest row: the probes 0.29 m either side of the kart lie on the
    # 0.6 m half-width track, the ones 2 m to the side do not.
    np.testing.assert_array_equal(obs[:, 3:5], 1.0)
    np.testing.assert_array_equal(obs[:, [0, 7]], 0.0)
    # Starts lie on the centreline, heading along it.
    np.testing.assert_allclose(state.metrics["lateral_error"], 0.0, atol=1e-5)
    np.testing.assert_allclose(state.metrics["falls"], 0.0)


def test_observation_far_from_track_is_empty(from_privileged, kart):
    # At (20, 0) facing away from the loop (r <= 7.8), no probe is near it.
    privileged = np.array([[20.0, 0.0, 0.0, SPEED, 0.0, 0.0, 0.0]] * 4, np.float32)
    np.testing.assert_array_equal(from_privileged(privileged).obs, 0.0)


def test_state_from_privileged_round_trip(reset, from_privileged):
    state = reset(jax.random.split(jax.random.key(2), 4))
    again = from_privileged(state.privileged)
    np.testing.assert_array_equal(again.obs, state.obs)
    np.testing.assert_array_equal(again.privileged, state.privileged)


def test_fall_counts_and_respawns_on_centreline(kart, from_privileged, step):
    # 0.55 m outside the centreline, heading straight out (90 degrees right
    # of the track): one 0.2 m step leaves the track.
    phi = np.array([0.0, 1.0, 2.5, -2.0])
    privileged = pose(kart, phi, np.full_like(phi, -0.55), -np.pi / 2)
    state = from_privileged(privileged)
    yaw = privileged[:, 2]
    moved = privileged[:, :2] + SPEED * DT * np.stack([np.cos(yaw), np.sin(yaw)], -1)
    moved_phi = np.arctan2(moved[:, 1], moved[:, 0])
    next_state = step(state, jnp.zeros((4, 1)))

    np.testing.assert_array_equal(next_state.metrics["falls"], 1.0)
    np.testing.assert_array_equal(next_state.info["falls"], 1)
    assert not np.any(next_state.done)
    # Reward: a few cm of progress minus the 5 m fall penalty.
    assert np.all(np.asarray(next_state.reward) < -4.5)
    centre, heading = map(np.asarray, kart.track.centreline(jnp.asarray(moved_phi)))
    np.testing.assert_allclose(next_state.privileged[:, :2], centre, atol=1e-4)
    np.testing.assert_allclose(next_state.privileged[:, 2], heading, atol=1e-5)
    np.testing.assert_allclose(
        next_state.privileged[:, 3:5],
        SPEED * np.stack([np.cos(heading), np.sin(heading)], -1),
        atol=1e-5,
    )
    np.testing.assert_allclose(next_state.privileged[:, 5], 0.0)
    np.testing.assert_allclose(
        kart.track.offset(next_state.data.qpos[:, :2]), 0.0, atol=1e-5
    )
    # The step measured the pre-respawn offset, beyond the half-width.
    assert np.all(np.asarray(next_state.metrics["lateral_error"]) > HALF_WIDTH)


def test_constant_speed_unicycle(kart, from_privileged, step):
    phi = np.array([0.3, -1.2, 2.0, -3.0])
    state = from_privileged(pose(kart, phi))
    yaw_rate = np.array([[0.7], [-1.3], [0.0], [2.5]], np.float32)
    for _ in range(3):
        before = np.asarray(state.privileged)
        state = step(state, jnp.asarray(yaw_rate))
        after = np.asarray(state.privileged)
        assert not np.any(np.asarray(state.info["falls"]))
        # Euler step: 0.2 m along the old heading, then turn by rate * dt.
        heading = before[:, 2]
        expected = before[:, :2] + SPEED * DT * np.stack(
            [np.cos(heading), np.sin(heading)], -1
        )
        np.testing.assert_allclose(after[:, :2], expected, atol=1e-5)
        turned = np.angle(np.exp(1j * (after[:, 2] - heading)))
        np.testing.assert_allclose(turned, yaw_rate[:, 0] * DT, atol=1e-5)
        np.testing.assert_allclose(
            np.linalg.norm(after[:, 3:5], axis=1), SPEED, rtol=1e-6
        )
    # Actions beyond the bounds act as the bound.
    state = step(state, jnp.array([[10.0], [-10.0], [3.0], [-2.6]]))
    np.testing.assert_allclose(state.privileged[:, 5], [2.5, -2.5, 2.5, -2.5])


def test_progress_reward_and_laps(kart, from_privileged, step):
    # One straight 0.2 m step from the centreline, heading along the track.
    phi = np.array([-3.0, -1.0, 0.5, 2.2])
    state = step(from_privileged(pose(kart, phi)), jnp.zeros((4, 1)))
    assert not np.any(np.asarray(state.info["falls"]))
    xy = np.asarray(state.privileged[:, :2])
    covered = np.arctan2(xy[:, 1], xy[:, 0]) - phi
    np.testing.assert_allclose(state.info["track_angle"], phi + covered, atol=1e-5)
    np.testing.assert_allclose(state.metrics["laps"], covered / (2 * np.pi), atol=1e-6)
    # The reward is the centreline length covered: about the 0.2 m driven.
    np.testing.assert_allclose(state.reward, SPEED * DT, atol=0.02)
    np.testing.assert_allclose(state.metrics["falls_per_lap"], 0.0)
    np.testing.assert_allclose(state.metrics["success"], 1.0)


@pytest.mark.parametrize(
    "field, value",
    [
        ("half_width", 0.0),
        ("speed", -1.0),
        ("grid_far", 0.2),
        ("mean_radius", 2.0),
        ("start_lateral_noise", 0.7),
    ],
)
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        envs.make("kart_track", **{field: value})


def test_start_noise_stays_within_bounds():
    env = envs.make("kart_track", start_lateral_noise=0.3, start_heading_noise=0.2)
    state = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(3), 32))
    offset = np.asarray(env.unwrapped.track.offset(state.privileged[:, :2]))
    assert np.all(np.abs(offset) <= 0.3 + 0.03)
    assert np.std(offset) > 0.05


def test_registered_config_defaults():
    config = envs.default_config("kart_track")
    assert isinstance(config, kart_track.KartTrackConfig)
    assert (config.speed, config.half_width, config.timestep) == (2.0, 0.6, 0.1)
