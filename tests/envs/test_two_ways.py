"""The two-ways task: start region, terminations, the side metric, the reward."""

import jax
import numpy as np
import pytest

import ilax

# Rows of (x, y, vx, vy), one-step action: what each case checks.
CASES = {
    # 0.31 m from the centre moving in at 0.5 m/s: inside the 0.3 m disc after
    # a 0.05 s step.
    "collision": ([0.31, 0.0, -0.5, 0.0], [-1.0, 0.0]),
    # 0.1 m below the goal's edge moving up at 0.5 m/s.
    "goal": ([0.02, 0.68, 0.0, 0.5], [0.0, 1.0]),
    # 0.01 m inside the 1 m wall moving out.
    "boundary": ([0.99, -0.5, 0.5, 0.0], [1.0, 0.0]),
    # At rest, no push: nothing happens.
    "rest": ([0.5, -0.5, 0.0, 0.0], [0.0, 0.0]),
    # Crossing the centre line on the right and on the left.
    "cross_right": ([0.5, -0.01, 0.0, 0.5], [0.0, 1.0]),
    "cross_left": ([-0.5, -0.01, 0.0, 0.5], [0.0, 1.0]),
    # Side already decided (+1, above the line at x > 0); moving to x < 0
    # above the line does not change it.
    "sticky": ([0.01, 0.5, -0.5, 0.0], [-1.0, 0.0]),
    # Full push up from rest, in open space for the whole run.
    "push": ([0.5, -0.9, 0.0, 0.0], [0.0, 1.0]),
}
NUM_STEPS = 20


@pytest.fixture(scope="module")
def env():
    return ilax.envs.make("two_ways")


@pytest.fixture(scope="module")
def cases(env):
    """Each case's start state and `NUM_STEPS` steps under its fixed action,
    and 512 reset states (one compiled function)."""
    task = env.unwrapped
    privileged = np.array([case[0] for case in CASES.values()], np.float32)
    action = np.array([case[1] for case in CASES.values()], np.float32)

    keys = jax.random.split(jax.random.key(0), 512)

    @jax.jit
    def run(privileged, action, keys):
        state = jax.vmap(task.state_from_privileged)(privileged)

        def body(state, _):
            state = jax.vmap(task.step)(state, action)
            return state, state

        states = jax.lax.scan(body, state, None, length=NUM_STEPS)[1]
        return state, states, jax.vmap(task.reset)(keys)

    before, states, reset = jax.device_get(run(privileged, action, keys))
    rows = {name: i for i, name in enumerate(CASES)}
    return rows, before, states, reset


@pytest.fixture(scope="module")
def one_step(cases):
    rows, before, states, _ = cases
    return rows, before, jax.tree.map(lambda x: x[0], states)


def test_reset_starts_below_the_obstacle_without_favouring_a_side(env, cases):
    state = cases[3]
    x, y = state.privileged[:, 0], state.privileged[:, 1]
    spread = env.config.start_spread
    assert np.all(np.abs(x) <= spread) and np.all(np.abs(y + 0.8) <= spread)
    np.testing.assert_array_equal(state.privileged[:, 2:], 0.0)
    np.testing.assert_array_equal(state.obs, state.privileged)
    np.testing.assert_array_equal(state.info["side"], 0.0)
    # Symmetric in x (512 draws: standard error 0.022).
    assert abs(np.mean(x > 0) - 0.5) < 0.08


def test_collision_terminates_as_a_failure(one_step):
    rows, before, after = one_step
    i = rows["collision"]
    assert after.done[i] and after.info["terminated"][i]
    assert after.metrics["collision"][i] == 1.0
    assert after.metrics["success"][i] == 0.0
    assert after.metrics["out_of_bounds"][i] == 0.0
    assert np.linalg.norm(after.privileged[i, :2]) < 0.3
    goal = np.array([0.0, 0.8])
    progress = np.linalg.norm(before.privileged[i, :2] - goal) - np.linalg.norm(
        after.privileged[i, :2] - goal
    )
    # Progress minus the failure penalty (1) minus the control cost (0.01).
    assert after.reward[i] == pytest.approx(progress - 1.0 - 0.01, abs=1e-5)


def test_reaching_the_goal_terminates_with_success(one_step):
    rows, before, after = one_step
    i = rows["goal"]
    assert after.done[i] and after.info["terminated"][i]
    assert after.metrics["success"][i] == 1.0
    assert after.metrics["collision"][i] == 0.0
    assert np.linalg.norm(after.privileged[i, :2] - [0.0, 0.8]) < 0.1
    progress = 0.8 - 0.68 - np.linalg.norm(after.privileged[i, :2] - [0.0, 0.8])
    # The start is 0.12 m from the goal (x = 0.02 adds 0.0017 m).
    assert after.reward[i] == pytest.approx(progress + 1.0 - 0.01, abs=3e-3)
    assert after.reward[i] > 1.0


def test_leaving_the_arena_terminates_as_a_failure(one_step):
    rows, _, after = one_step
    i = rows["boundary"]
    assert after.done[i] and after.privileged[i, 0] > 1.0
    assert after.metrics["out_of_bounds"][i] == 1.0
    assert after.metrics["success"][i] == 0.0
    assert after.metrics["collision"][i] == 0.0
    assert after.reward[i] < -0.9


def test_free_space_at_rest_is_quiet(one_step):
    rows, before, after = one_step
    i = rows["rest"]
    assert not after.done[i]
    np.testing.assert_array_equal(after.privileged[i], before.privileged[i])
    assert after.reward[i] == 0.0
    for name in ("success", "collision", "out_of_bounds", "side"):
        assert after.metrics[name][i] == 0.0


def test_side_is_decided_on_the_centre_line_and_sticks(one_step):
    rows, before, after = one_step
    for name, side in (("cross_right", 1.0), ("cross_left", -1.0)):
        i = rows[name]
        assert before.info["side"][i] == 0.0 and after.privileged[i, 1] >= 0.0
        assert after.info["side"][i] == side and after.metrics["side"][i] == side
        assert not after.done[i]
    i = rows["sticky"]
    assert before.info["side"][i] == 1.0
    assert after.privileged[i, 0] < 0.0 and after.privileged[i, 1] > 0.0
    assert after.info["side"][i] == 1.0


def test_action_acts_as_a_velocity_command(cases):
    # Damping 4 N s/m against a 2 N motor: full action holds 0.5 m/s, reached
    # with a 0.125 s time constant (0.5 kg / 4 N s/m); 20 steps are 1 s.
    rows, _, states, _ = cases
    i = rows["push"]
    assert not np.any(states.done[:, i])
    np.testing.assert_allclose(states.privileged[-1, i, 2:], [0.0, 0.5], atol=0.01)
    # MuJoCo's Euler step treats damping implicitly: per 0.01 s substep,
    # v <- (v + dt F / m) / (1 + dt b / m), so five substeps from rest give
    # 0.5 (1 - 1.08^-5).
    assert states.privileged[0, i, 3] == pytest.approx(0.5 * (1 - 1.08**-5), abs=1e-5)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"obstacle_radius": 0.75},
            r"TwoWaysConfig.goal_radius must be < goal_distance - obstacle_radius",
        ),
        ({"arena_half_width": 0.2}, r"TwoWaysConfig.arena_half_width must be >"),
        ({"goal_radius": 0.0}, r"TwoWaysConfig.goal_radius must be > 0; got 0.0"),
        ({"start_spread": -0.1}, r"TwoWaysConfig.start_spread must be >= 0"),
    ],
)
def test_invalid_config_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ilax.envs.make("two_ways", **overrides)
