"""The in-memory dataset: construction, validation and on-device sampling."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilax import data


def _episode(length, obs_size=2, action_size=1, offset=0.0, privileged_size=3):
    """An episode whose observations count steps: obs[t] = offset + t."""
    steps = np.arange(length + 1, dtype=np.float32)[:, None]
    return {
        "obs": np.repeat(offset + steps, obs_size, axis=1),
        "privileged": np.repeat(offset + steps, privileged_size, axis=1),
        "action": np.repeat(offset + steps[:-1] + 0.5, action_size, axis=1),
        "executed_action": np.repeat(offset + steps[:-1], action_size, axis=1),
        "reward": np.ones(length, np.float32),
        "terminated": np.arange(length) == length - 1,
        "truncated": np.zeros(length, bool),
    }


def _dataset(lengths=(3, 5, 2)):
    return data.from_episodes(
        [_episode(n, offset=100.0 * e) for e, n in enumerate(lengths)]
    )


def test_layout_is_flat_with_episode_boundaries():
    dataset = _dataset()
    assert dataset.num_steps == 10 and dataset.num_episodes == 3
    np.testing.assert_array_equal(dataset.episode_start, [0, 3, 8])
    np.testing.assert_array_equal(dataset.episode_length, [3, 5, 2])
    np.testing.assert_array_equal(dataset.episode_index, [0, 0, 0, 1, 1, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(dataset.obs[3:5, 0], [100.0, 101.0])
    np.testing.assert_array_equal(dataset.final_obs[:, 0], [3.0, 105.0, 202.0])


def test_next_obs_crosses_no_episode_boundary():
    dataset = _dataset()
    expected = np.array([1, 2, 3, 101, 102, 103, 104, 105, 201, 202], np.float32)
    np.testing.assert_array_equal(dataset.next_obs()[:, 0], expected)


@settings(deadline=None, max_examples=20)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5))
def test_episodes_round_trip(lengths):
    original = [_episode(n, offset=10.0 * e) for e, n in enumerate(lengths)]
    recovered = data.episodes(data.from_episodes(original))
    assert len(recovered) == len(original)
    for ours, theirs in zip(recovered, original, strict=True):
        for name in theirs:
            np.testing.assert_array_equal(ours[name], theirs[name])


@pytest.mark.parametrize(
    "episodes, message",
    [
        ([], "empty dataset"),
        ([_episode(3), _episode(0)], "episode 1 has no steps"),
        ([{**_episode(3), "obs": _episode(3)["obs"][:-1]}], "'obs' needs 4 rows"),
        (
            [{**_episode(3), "reward": np.array([1.0, np.nan, 1.0], np.float32)}],
            r"'reward' holds 1 non-finite values; the first at index \(1,\)",
        ),
        (
            [{**_episode(3), "terminated": np.zeros(3, np.float32)}],
            "episode 0: field 'terminated' expected dtype of kind bool; got float32",
        ),
    ],
)
def test_bad_episodes_raise_naming_the_problem(episodes, message):
    with pytest.raises(data.DatasetError, match=message):
        data.from_episodes(episodes)


def test_validate_rejects_inconsistent_widths():
    dataset = _dataset()
    broken = dataset.replace(final_obs=jnp.zeros((3, 5)))
    with pytest.raises(data.DatasetError, match="'obs' and 'final_obs' disagree"):
        data.validate(broken)


def test_sample_batch_draws_matching_rows():
    dataset = _dataset()
    batch = jax.jit(data.sample_batch, static_argnums=2)(dataset, jax.random.key(0), 64)
    assert batch.obs.shape == (64, 2) and batch.action.shape == (64, 1)
    # Rows stay aligned: every label is its observation plus one half.
    np.testing.assert_array_equal(batch.action[:, 0], batch.obs[:, 0] + 0.5)
    np.testing.assert_array_equal(batch.privileged[:, 0], batch.obs[:, 0])


def test_windows_pad_inside_their_episode():
    dataset = _dataset()
    sample = jax.jit(data.sample_windows, static_argnums=(2, 3, 4))
    window = sample(dataset, jax.random.key(1), 256, 3, 4)
    obs, action, mask = (
        np.asarray(x) for x in (window.obs, window.action, window.action_mask)
    )
    step = obs[:, -1, 0]  # the sampled step's observation identifies it
    episode = (step // 100).astype(int)
    within = step - 100 * episode
    lengths = np.array([3, 5, 2])[episode]
    for i in range(3):
        # History: earlier steps, clamped to the episode's first observation.
        expected = 100 * episode + np.maximum(within - (2 - i), 0)
        np.testing.assert_array_equal(obs[:, i, 0], expected)
    for j in range(4):
        inside = within + j < lengths
        np.testing.assert_array_equal(mask[:, j], inside)
        # Labels past the end repeat the episode's last label.
        expected = 100 * episode + np.minimum(within + j, lengths - 1) + 0.5
        np.testing.assert_array_equal(action[:, j, 0], expected)
    assert len(np.unique(step)) == 10  # every step was drawn


def test_windows_reject_empty_horizons():
    with pytest.raises(ValueError, match="obs_horizon must be >= 1; got 0"):
        data.sample_windows(_dataset(), jax.random.key(0), 4, 0, 2)
