import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import envs
from ilax.envs import cartpole

STEPS_PER_SECOND = 25  # 0.01 s timestep x 4 substeps


@pytest.fixture(scope="module")
def env():
    return envs.make("cartpole")


@pytest.fixture(scope="module")
def reset(env):
    return jax.jit(env.unwrapped.reset)


@pytest.fixture(scope="module")
def at(env):
    """A fresh state at a privileged state (x, angle, x velocity, angle velocity)."""
    build = jax.jit(env.unwrapped.state_from_privileged)
    return lambda *privileged: build(jnp.asarray(privileged, jnp.float32))


@pytest.fixture(scope="module")
def coast(env):
    """Steps the unwrapped task for one second with a constant action.

    Returns the final state and the stacked states after each step; one
    fixed length keeps it to a single compilation.
    """

    @jax.jit
    def run(state, action):
        def one_step(state, _):
            state = env.unwrapped.step(state, action)
            return state, state

        return jax.lax.scan(one_step, state, None, length=STEPS_PER_SECOND)

    return run


def test_registered_with_sizes_and_bounds(env):
    assert "cartpole" in envs.names()
    assert env.name == "cartpole"
    assert (env.observation_size, env.privileged_size, env.action_size) == (5, 4, 1)
    low, high = env.action_bounds
    np.testing.assert_array_equal(low, [-1.0])
    np.testing.assert_array_equal(high, [1.0])
    assert env.unwrapped.dt == pytest.approx(0.04)
    assert env.max_steps == 200
    assert envs.default_config("cartpole").start == "swingup"


def test_observation_layout(at):
    state = at(0.5, 0.3, -1.0, 2.0)
    expected = [0.5, np.cos(0.3), np.sin(0.3), -1.0, 2.0]
    np.testing.assert_allclose(state.obs, expected, rtol=1e-6)
    np.testing.assert_allclose(state.privileged, [0.5, 0.3, -1.0, 2.0])
    assert not state.done


@pytest.mark.parametrize("start", ["swingup", "balance"])
def test_start_distribution(start):
    task = envs.make("cartpole", start=start).unwrapped
    keys = jax.random.split(jax.random.key(1), 256)
    privileged = np.asarray(jax.vmap(task.initial_privileged)(keys))
    angle_from_start = privileged[:, 1] - (np.pi if start == "swingup" else 0.0)
    assert np.all(np.abs(angle_from_start) <= 0.1)
    assert np.all(np.abs(privileged[:, [0, 2, 3]]) <= 0.1)
    # Uniform on [-0.1, 0.1]: standard deviation 0.2 / sqrt(12) = 0.058.
    np.testing.assert_allclose(np.std(privileged, axis=0), 0.058, atol=0.01)


def test_reset_starts_from_initial_privileged(env, reset):
    state = reset(jax.random.key(2))
    expected = env.unwrapped.initial_privileged(jax.random.key(2))
    np.testing.assert_allclose(state.privileged, expected)
    np.testing.assert_allclose(state.data.qpos, expected[:2])
    assert not state.done


def test_reset_and_step_states_have_the_same_structure(reset, coast):
    state = reset(jax.random.key(3))
    _, states = coast(state, jnp.zeros(1))
    stepped = jax.tree.map(lambda x: x[0], states)
    assert jax.tree.structure(state) == jax.tree.structure(stepped)
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(stepped), strict=True):
        assert (a.shape, a.dtype) == (b.shape, b.dtype)


def test_pole_falls_from_near_upright_and_pushes_the_cart_back(at, coast):
    _, states = coast(at(0.0, 0.05, 0.0, 0.0), jnp.zeros(1))
    x, angle = np.asarray(states.privileged[:, 0]), np.asarray(states.privileged[:, 1])
    # Unstable upright (time constant ~0.27 s): far from upright within 1 s.
    assert angle[-1] > 1.0
    assert np.all(np.diff(angle) > 0)
    # No horizontal external force: the centre of mass stays nearly put, so
    # the cart recoils as the pole (0.2 kg, centre at 0.5 m) falls forward.
    centre_of_mass = (1.2 * x + 0.2 * 0.5 * np.sin(angle)) / 1.2
    assert x[-1] < -0.02
    np.testing.assert_allclose(
        centre_of_mass, 0.2 * 0.5 * np.sin(0.05) / 1.2, atol=2e-3
    )


def test_upright_is_an_equilibrium_with_reward_one(at, coast):
    final, states = coast(at(0.0, 0.0, 0.0, 0.0), jnp.zeros(1))
    np.testing.assert_allclose(final.privileged, np.zeros(4), atol=1e-6)
    np.testing.assert_allclose(states.reward, np.ones(STEPS_PER_SECOND), rtol=1e-6)
    assert np.all(states.metrics["success"] == 1.0) and not np.any(states.done)


def test_reward_is_upright_times_centred_minus_control(at, coast):
    # Upright at rest at x = 1 on a 2 m rail: centred = 1 - 0.5 / 4.
    _, states = coast(at(1.0, 0.0, 0.0, 0.0), jnp.zeros(1))
    np.testing.assert_allclose(states.reward[0], 0.875, rtol=1e-5)
    # Hanging at rest and pushed at full force: upright ~ 0, cost 0.01 x 1^2.
    _, states = coast(at(0.0, np.pi, 0.0, 0.0), jnp.ones(1))
    np.testing.assert_allclose(states.reward[0], -0.01, atol=1e-4)
    assert states.metrics["success"][0] == 0.0


def test_leaving_the_rail_terminates_and_fails(env, at, coast):
    # 1.9 m + 0.04 s x 5 m/s = 2.1 m > rail_limit: off the rail after one step,
    # with the pole still upright.
    _, states = coast(at(1.9, 0.0, 5.0, 0.0), jnp.zeros(1))
    assert states.info["terminated"][0] and states.done[0]
    assert not states.info["truncated"][0]
    assert states.metrics["upright"][0] == 1.0
    assert states.metrics["success"][0] == 0.0
    # The same state moving inwards stays on the rail.
    _, states = coast(at(1.9, 0.0, -5.0, 0.0), jnp.zeros(1))
    assert not states.done[0]
    assert states.metrics["success"][0] == 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start", "sideways"),
        ("rail_limit", 0.0),
        ("start_noise", -0.1),
        ("start_noise", 2.5),
        ("control_cost", -1.0),
    ],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"CartpoleConfig\.{field}.*{value}"):
        cartpole.Cartpole(cartpole.CartpoleConfig(**{field: value}))
