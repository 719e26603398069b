"""The slot demonstrators: success, timing, the hidden pause, any-state queries."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import ilax
import ilax.envs.slot  # noqa: F401  (registers the task)
import ilax.experts.slot  # noqa: F401  (registers the experts)
from ilax import metrics
from ilax.types import Observation

NUM_ENVS = 64


@pytest.fixture(scope="module")
def env():
    return ilax.envs.make("slot")


def _episodes(env, style, keys):
    """One episode in each of `NUM_ENVS` environments, per key, one compile."""
    expert = ilax.experts.make(env, style=style)
    run = jax.jit(
        functools.partial(
            ilax.rollout,
            env,
            expert,
            num_envs=NUM_ENVS,
            num_steps=env.config.episode_length,
            auto_reset=False,
        )
    )
    results = [jax.device_get(run(key)) for key in keys]
    assert run._cache_size() == 1
    return results


@pytest.fixture(scope="module")
def scripted(env):
    return _episodes(env, "scripted", [jax.random.key(0)])[0]


@pytest.fixture(scope="module")
def human(env):
    return _episodes(env, "human", [jax.random.key(1), jax.random.key(2)])


def test_scripted_expert_inserts(scripted):
    # Measured over 1,000 episodes: success 1.000, no contact, every episode
    # 143 steps (2.86 s).
    _, log = scripted
    summary = metrics.summarize(log)
    assert summary["episode/num_episodes"] == NUM_ENVS
    assert summary["episode/success"] >= 0.95
    assert summary["episode/contact"] <= 0.05


def test_human_expert_inserts_and_its_two_batches_differ(human):
    # Measured over 1,000 episodes: success 0.999 (one tremor contact), mean
    # length 138.5 steps, from 82 to 186.
    for _, log in human:
        summary = metrics.summarize(log)
        assert summary["episode/num_episodes"] == NUM_ENVS
        assert summary["episode/success"] >= 0.85
    (first, _), (second, _) = human
    assert not np.array_equal(first.action[0], second.action[0])


def test_scripted_timing_is_fixed_and_human_timing_varies(scripted, human):
    trajectory, log = scripted
    lengths = metrics.episode_values(log)["length"]
    np.testing.assert_array_equal(lengths, lengths[0])
    # Identical up to the slot's position: every insertion (from 2 s, step
    # 100 on) commands the same heights, on the slot's axis.
    inserting = trajectory.action[100 : lengths[0]]
    heights = inserting[..., 1]
    np.testing.assert_allclose(
        heights, np.broadcast_to(heights[:, :1], heights.shape), atol=1e-6
    )
    np.testing.assert_allclose(
        inserting[..., 0],
        np.broadcast_to(trajectory.obs[0, :, 4], inserting[..., 0].shape),
    )
    human_lengths = metrics.episode_values(human[0][1])["length"]
    # Speed factors and pauses spread the human's durations over about 100
    # steps (the 1,000-episode range); 64 episodes span well over 40.
    assert np.ptp(human_lengths) > 40 and len(np.unique(human_lengths)) > 20


def test_human_pause_is_not_visible_in_the_observation(env):
    # Two episodes alike in everything (start, slot, push, no tremor or
    # detour, speed factor 1) but the pause, 0.2 s and 0.8 s: at the step the
    # short pause ends, both discs rest at the same point, yet one expert
    # moves into the slot and the other stays.
    task = env.unwrapped
    expert = ilax.experts.make(
        env,
        style="human",
        tremor_std=0.0,
        detour=0.0,
        speed_factor_low=1.0,
        speed_factor_high=1.0,
    )
    start = task.reset(jax.random.key(5))
    state = jax.tree.map(lambda x: jnp.stack([x, x]), start)
    policy_state = expert.init(jax.random.key(6), (2,))
    policy_state = policy_state._replace(pause=jnp.array([0.2, 0.8]))

    @jax.jit
    def run(state, policy_state, key):
        def body(carry, t):
            state, policy_state = carry
            observation = Observation(state.obs, state.privileged)
            action, policy_state, _ = expert.step(
                policy_state, observation, jax.random.fold_in(key, t)
            )
            state = jax.vmap(task.step)(state, action)
            return (state, policy_state), (observation.obs, action)

        return jax.lax.scan(body, (state, policy_state), jnp.arange(150))[1]

    obs, action = jax.device_get(run(state, policy_state, jax.random.key(7)))
    pre_y = 0.9
    leave = int(np.argmax(action[:, 0, 1] > pre_y + 5e-5))
    # The short pause ends at max(arrival 1 s, push end + settling 0.3 s) +
    # 0.2 s; the step of that time, to rounding of the clock.
    push_start = float(start.privileged[6])
    assert abs(leave * task.dt - (max(1.0, push_start + 0.3) + 0.2)) <= task.dt
    np.testing.assert_array_equal(obs[leave, 0], obs[leave, 1])
    np.testing.assert_allclose(obs[leave, 0, :2], [obs[0, 0, 4], pre_y], atol=3e-3)
    assert action[leave, 1, 1] == pytest.approx(pre_y)
    # The long pause's expert leaves 0.6 s (30 steps) later.
    assert abs(int(np.argmax(action[:, 1, 1] > pre_y + 5e-5)) - (leave + 30)) <= 1


def _run_from(env, style, privileged, num_steps, key):
    """The expert from given task states (no reset), episodes frozen at their end."""
    task = env.unwrapped
    expert = ilax.experts.make(env, style=style)

    @jax.jit
    def run(privileged, key):
        key_init, key_steps = jax.random.split(key)
        state = jax.vmap(task.state_from_privileged)(privileged)
        policy_state = expert.init(key_init, (privileged.shape[0],))

        def body(carry, t):
            state, policy_state = carry
            observation = Observation(state.obs, state.privileged)
            action, policy_state, _ = expert.step(
                policy_state, observation, jax.random.fold_in(key_steps, t)
            )
            stepped = jax.vmap(task.step)(state, action)
            state = jax.tree.map(
                lambda new, old: jnp.where(
                    state.done.reshape(state.done.shape + (1,) * (new.ndim - 1)),
                    old,
                    new,
                ),
                stepped,
                state,
            )
            return (state, policy_state), state.privileged[:, 1]

        (state, _), heights = jax.lax.scan(
            body, (state, policy_state), jnp.arange(num_steps)
        )
        return state, heights

    return jax.device_get(run(jnp.asarray(privileged), key))


# Two states inside the slot, 1 mm off its axis, early in the episode (before
# the expert's own insertion time and before the push). Rows: x, y, vx, vy,
# slot_x, time, push start, push.
IN_SLOT = np.array(
    [
        [0.202, 1.0, 0.0, 0.1, 0.201, 0.3, 1.4, 4.0, 0.0],
        [-0.399, 1.05, 0.0, 0.0, -0.4, 0.0, 1.0, 0.0, 4.0],
    ],
    np.float32,
)


@pytest.fixture(scope="module")
def from_states(env):
    """The scripted expert from 62 random free-space states and `IN_SLOT`.

    Free-space states: x in +-0.8, y in [-0.2, 0.8], speeds up to 0.3 m/s per
    axis, at random episode times before the latest push, so that pushes
    land in every phase.
    """
    keys = jax.random.split(jax.random.key(8), 6)
    n = NUM_ENVS - len(IN_SLOT)
    position = jax.random.uniform(
        keys[0], (n, 2), minval=jnp.array([-0.8, -0.2]), maxval=jnp.array([0.8, 0.8])
    )
    velocity = jax.random.uniform(keys[1], (n, 2), minval=-0.3, maxval=0.3)
    slot_x = jax.random.uniform(keys[2], (n, 1), minval=-0.5, maxval=0.5)
    time = jax.random.uniform(keys[3], (n, 1), maxval=1.5)
    push_start = jax.random.uniform(keys[4], (n, 1), minval=0.5, maxval=1.5)
    angle = jax.random.uniform(keys[5], (n,), maxval=2 * np.pi)
    push = 4.0 * jnp.stack([jnp.cos(angle), jnp.sin(angle)], -1)
    free = jnp.concatenate([position, velocity, slot_x, time, push_start, push], -1)
    privileged = jnp.concatenate([free, jnp.asarray(IN_SLOT)])
    return _run_from(env, "scripted", privileged, 200, jax.random.key(9))


def test_scripted_expert_succeeds_from_states_a_learner_visits(from_states):
    # Measured on 2,000 such free-space states: success 1.000 for the
    # scripted expert (0.999 for the human).
    state, _ = from_states
    assert np.mean(state.metrics["success"][: -len(IN_SLOT)]) >= 0.95


def test_a_disc_already_in_the_slot_is_pushed_on_not_pulled_out(from_states):
    state, heights = from_states
    np.testing.assert_array_equal(state.metrics["success"][-len(IN_SLOT) :], 1.0)
    in_slot = heights[:, -len(IN_SLOT) :]
    # Deeper at every step, and done within 1 s (frozen from then on).
    assert np.all(np.diff(in_slot, axis=0) >= -1e-6)
    np.testing.assert_array_equal(in_slot[50], in_slot[-1])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"style": "robot"}, r"SlotExpertConfig.style must be one of 'scripted'"),
        (
            {"speed_factor_high": 0.5},
            r"SlotExpertConfig.speed_factor_high must be >= speed_factor_low",
        ),
        ({"insertion_start": 0.5}, r"SlotExpertConfig.insertion_start must be >="),
        ({"standoff": 0.02}, r"SlotExpertConfig.standoff must be > the task's"),
        ({"tremor_std": -1.0}, r"SlotExpertConfig.tremor_std must be >= 0"),
    ],
)
def test_invalid_config_names_the_field(env, overrides, message):
    with pytest.raises(ValueError, match=message):
        ilax.experts.make(env, **overrides)
