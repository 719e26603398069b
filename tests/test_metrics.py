"""Episode summaries and bootstrap intervals on cases with known answers."""

import jax.numpy as jnp
import numpy as np
import pytest

from ilax.metrics import bootstrap_ci, episode_values, summarize
from ilax.types import EpisodeLog


def _log():
    # Two envs over three steps; episodes end at (t=1, env 0), (t=2, env 0)
    # and (t=2, env 1).
    done = jnp.array([[False, False], [True, False], [True, True]])
    return EpisodeLog(
        done=done,
        episode_return=jnp.array([[9.0, 9.0], [2.0, 9.0], [4.0, 6.0]]),
        length=jnp.array([[1, 1], [2, 2], [1, 3]], jnp.int32),
        metrics={"success": jnp.array([[5.0, 5.0], [1.0, 5.0], [0.0, 1.0]])},
    )


def test_summarize_averages_finished_episodes_only():
    summary = summarize(_log())
    assert summary["episode/num_episodes"] == 3
    np.testing.assert_allclose(summary["episode/return"], 4.0)
    np.testing.assert_allclose(summary["episode/length"], 2.0)
    np.testing.assert_allclose(summary["episode/success"], 2.0 / 3.0)


def test_summarize_rejects_colliding_metric_names():
    log = _log()._replace(metrics={"return": jnp.zeros((3, 2))})
    with pytest.raises(ValueError, match="metric 'return' collides"):
        summarize(log)


def test_episode_values_lists_each_episode():
    values = episode_values(_log())
    np.testing.assert_array_equal(values["return"], [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(values["length"], [2, 1, 3])
    np.testing.assert_array_equal(values["success"], [1.0, 0.0, 1.0])


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_data():
    rng = np.random.default_rng(0)
    small = rng.normal(3.0, 1.0, 25)
    large = rng.normal(3.0, 1.0, 2500)
    mean, low, high = bootstrap_ci(small)
    assert low < mean < high and mean == pytest.approx(small.mean())
    _, low_large, high_large = bootstrap_ci(large)
    # The interval width scales as 1/sqrt(n): 10x the data, about 1/10 the width.
    ratio = (high_large - low_large) / (high - low)
    assert 0.05 < ratio < 0.2
    assert low_large < 3.0 < high_large


def test_bootstrap_of_a_constant_is_exact():
    assert bootstrap_ci(np.full(10, 2.5)) == (2.5, 2.5, 2.5)


def test_bootstrap_rejects_empty_input():
    with pytest.raises(ValueError, match="non-empty 1-D"):
        bootstrap_ci(np.array([]))
