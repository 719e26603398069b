"""The slot task: PD dynamics, contact, success, the push, bad input.

A jitted rollout compiling once for two keys is checked with the experts
(tests/experts/test_slot.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
import ilax.envs.slot  # noqa: F401  (registers the task)

NUM_STEPS = 75  # 1.5 s of control
NEVER = 100.0  # a push start time no episode reaches


def _privileged(position, velocity=(0.0, 0.0), slot_x=0.0, time=0.0, push=NEVER):
    """A privileged state with the push `push` s in and pointing along +x."""
    return [*position, *velocity, slot_x, time, push, 4.0, 0.0]


# Rows of (privileged state, constant target): what each case checks.
CASES = {
    # At rest at the origin, target (0.3, 0.5), no push: the PD law settles.
    "settle": (_privileged((0.0, 0.0)), (0.3, 0.5)),
    # Off the slot (at x = 0.3), 5 cm below the wall face, target inside
    # the wall: the face stops it.
    "face": (_privileged((0.3, 0.95)), (0.3, 1.1)),
    # Inside the slot 4 mm off its axis (1 mm of clearance), target pulling
    # sideways: the slot's side wall stops it.
    "side": (_privileged((0.204, 1.05), slot_x=0.2), (0.25, 1.05)),
    # Aligned in front of the slot, target at the bottom: success.
    "insert": (_privileged((-0.3, 0.9), slot_x=-0.3), (-0.3, 1.125)),
    # Held at rest at its start, pushed at t = 0.73 s.
    "push": (_privileged((0.1, 0.2), push=0.73), (0.1, 0.2)),
}


@pytest.fixture(scope="module")
def env():
    return ilax.envs.make("slot")


@pytest.fixture(scope="module")
def cases(env):
    """`NUM_STEPS` steps of each case under its constant target, and 512
    reset states, from one compiled function."""
    task = env.unwrapped
    privileged = np.array([case[0] for case in CASES.values()], np.float32)
    target = np.array([case[1] for case in CASES.values()], np.float32)

    @jax.jit
    def run(privileged, target, keys):
        state = jax.vmap(task.state_from_privileged)(privileged)

        def body(state, _):
            state = jax.vmap(task.step)(state, target)
            return state, state

        return jax.lax.scan(body, state, None, length=NUM_STEPS)[1], jax.vmap(
            task.reset
        )(keys)

    keys = jax.random.split(jax.random.key(0), 512)
    states, reset = jax.device_get(run(privileged, target, keys))
    rows = {name: i for i, name in enumerate(CASES)}
    return rows, states, reset


def _first_done(states, row):
    return int(np.argmax(states.done[:, row]))


def test_reset_draws_slot_start_and_push_in_their_ranges(env, cases):
    reset = cases[2]
    privileged = reset.privileged
    assert privileged.shape == (512, env.privileged_size) == (512, 9)
    np.testing.assert_array_equal(reset.obs, privileged[:, :5])
    assert np.all(np.abs(privileged[:, :2]) <= 0.02)
    np.testing.assert_array_equal(privileged[:, 2:4], 0.0)
    slot_x = privileged[:, 4]
    assert np.all(np.abs(slot_x) <= 0.5) and np.std(slot_x) > 0.25
    np.testing.assert_array_equal(privileged[:, 5], 0.0)
    push_start = privileged[:, 6]
    assert np.all((push_start >= 0.5) & (push_start <= 1.5))
    np.testing.assert_allclose(
        np.linalg.norm(privileged[:, 7:], axis=-1), 4.0, rtol=1e-5
    )
    assert not np.any(reset.done)


def test_pd_law_settles_at_the_target_without_overshoot(cases):
    rows, states, _ = cases
    i = rows["settle"]
    path = states.privileged[:, i]
    assert not np.any(states.done[:, i])
    np.testing.assert_allclose(path[-1, :2], [0.3, 0.5], atol=2e-4)
    np.testing.assert_allclose(path[-1, 2:4], 0.0, atol=2e-3)
    # Critically damped: the approach never passes the target.
    assert np.all(path[:, 0] <= 0.3 + 1e-6) and np.all(path[:, 1] <= 0.5 + 1e-6)
    np.testing.assert_allclose(path[:, 5], 0.02 * np.arange(1, NUM_STEPS + 1), 1e-5)


def test_first_step_is_four_semi_implicit_euler_substeps(cases):
    rows, states, _ = cases
    position, velocity = np.zeros(2), np.zeros(2)
    for _ in range(4):
        velocity = velocity + 0.005 * (
            100.0 * ([0.3, 0.5] - position) - 20.0 * velocity
        )
        position = position + 0.005 * velocity
    first = states.privileged[0, rows["settle"]]
    np.testing.assert_allclose(first[:2], position, rtol=1e-5)
    np.testing.assert_allclose(first[2:4], velocity, rtol=1e-5)


@pytest.mark.parametrize("name", ["face", "side"])
def test_touching_the_wall_ends_the_episode_as_a_contact(env, cases, name):
    rows, states, _ = cases
    i = rows[name]
    end = _first_done(states, i)
    assert states.done[end, i] and states.info["terminated"][end, i]
    assert states.metrics["contact"][end, i] == 1.0
    assert states.metrics["success"][end, i] == 0.0
    # Censored at the episode's 4 s.
    assert states.metrics["insertion_time"][end, i] == pytest.approx(4.0)
    assert states.reward[end, i] < -0.9
    # Stopped where the disc met the wall, within a substep's travel.
    position = states.privileged[end, i, :2]
    gap = env.unwrapped.wall_gap(jnp.asarray(position), states.privileged[end, i, 4])
    assert 0.02 < float(gap) < 0.025
    assert not np.any(states.metrics["contact"][:end, i])


def test_reaching_the_bottom_of_the_slot_is_a_success(cases):
    rows, states, _ = cases
    i = rows["insert"]
    end = _first_done(states, i)
    assert states.info["terminated"][end, i]
    assert states.metrics["success"][end, i] == 1.0
    assert states.metrics["contact"][end, i] == 0.0
    # Success at y >= 1 + 0.15 - 0.025 - 0.005.
    y = states.privileged[: end + 1, i, 1]
    assert y[-1] >= 1.12 and np.all(y[:-1] < 1.12)
    assert states.metrics["insertion_time"][end, i] == pytest.approx(0.02 * (end + 1))
    assert states.reward[end, i] > 1.0


def test_the_push_happens_once_inside_its_window(cases):
    rows, states, _ = cases
    i = rows["push"]
    path = states.privileged[:, i]
    assert not np.any(states.done[:, i])
    speed = np.linalg.norm(path[:, 2:4], axis=-1)
    # At rest on its target until the control step holding t = 0.73 s (the
    # 37th, 0.72-0.74 s), then moved.
    first = int(np.argmax(speed > 0))
    assert first == 36
    displacement = np.linalg.norm(path[:, :2] - [0.1, 0.2], axis=-1)
    # 4 m/s^2 for 0.1 s: a 1.4 cm peak about 0.16 s after the push starts
    # (the step ending 0.88 s here).
    assert 0.012 < displacement.max() < 0.016
    assert 0.12 < 0.02 * (np.argmax(displacement) + 1) - 0.73 < 0.2
    # After the push (0.83 s, step 42 on), the PD energy only decays: no
    # second push.
    energy = 0.5 * speed**2 + 50.0 * displacement**2
    after = energy[42:]
    assert np.all(np.diff(after) <= 1e-9) and after[-1] < 1e-3 * after[0]
    assert np.all(np.diff(energy[first:41]) > 0)


def test_reset_and_step_states_share_one_structure(env):
    task = env.unwrapped
    reset = jax.eval_shape(task.reset, jax.random.key(0))
    stepped = jax.eval_shape(task.step, reset, jax.ShapeDtypeStruct((2,), jnp.float32))
    assert jax.tree.structure(reset) == jax.tree.structure(stepped)
    for a, b in zip(jax.tree.leaves(reset), jax.tree.leaves(stepped), strict=True):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type)


def test_wrong_actions_fail_at_trace_time(env):
    state = jax.eval_shape(env.reset, jax.random.key(0))
    with pytest.raises(ValueError, match=r"Slot.step: action must have shape \(2,\)"):
        jax.eval_shape(env.step, state, jnp.zeros((3,)))
    with pytest.raises(TypeError, match="floating dtype"):
        jax.eval_shape(env.step, state, jnp.zeros((2,), jnp.int32))


def test_non_finite_action_is_truncated_not_propagated(env):
    task = env.unwrapped
    state = task.state_from_privileged(jnp.asarray(_privileged((0.0, 0.0))))
    stepped = jax.jit(task.step)(state, jnp.array([jnp.nan, 0.0]))
    assert bool(stepped.info["truncated"]) and float(stepped.metrics["nan"]) == 1.0
    assert np.all(np.isfinite(stepped.privileged))


def test_targets_are_clipped_to_the_arena(env):
    low, high = env.action_bounds
    np.testing.assert_allclose(low, [-1.0, -0.25])
    np.testing.assert_allclose(high, [1.0, 1.15])
    task = env.unwrapped
    state = task.state_from_privileged(jnp.asarray(_privileged((0.0, 0.0))))
    step = jax.jit(task.step)
    far, edge = (
        step(state, jnp.array([5.0, -5.0])),
        step(state, jnp.array([1.0, -0.25])),
    )
    np.testing.assert_array_equal(far.privileged, edge.privileged)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"slot_width": 0.05}, r"SlotConfig.slot_width must be > 2 \* disc_radius"),
        ({"timestep": 0.05}, r"SlotConfig.timestep must be small enough"),
        ({"push_latest": 0.2}, r"SlotConfig.push_latest must be >= push_earliest"),
        ({"kp": 0.0}, r"SlotConfig.kp must be > 0; got 0.0"),
        ({"slot_range": 0.99}, r"SlotConfig.arena_half_width must be >"),
    ],
)
def test_invalid_config_names_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ilax.envs.make("slot", **overrides)
