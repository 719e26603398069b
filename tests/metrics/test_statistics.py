"""IQM on hand-computed cases and seed summaries with bootstrap intervals."""

import numpy as np
import pytest

from ilax.metrics import Estimate, bootstrap_ci, iqm, summarize_over_seeds


def test_iqm_of_four_keeps_the_middle_two():
    # Sorted [1, 2, 3, 4]; 4 // 4 = 1 cut per end -> mean(2, 3) = 2.5.
    assert iqm(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5


def test_iqm_of_eight_ignores_both_outliers():
    # Sorted [-50, 0, 1, 3, 5, 7, 10, 100]; 2 cut per end -> mean(1, 3, 5, 7) = 4.
    assert iqm(np.array([10.0, 0.0, 7.0, 1.0, 5.0, 100.0, 3.0, -50.0])) == 4.0


def test_iqm_of_five_rounds_the_fractional_cut_down():
    # 0.25 * 5 = 1.25 values per end: trim_mean cuts int(1.25) = 1, so sorted
    # [1, 2, 5, 9, 100] -> mean(2, 5, 9) = 16 / 3. Weighting the boundary values
    # by 0.75 instead would give (0.75*2 + 5 + 0.75*9) / 2.5 = 5.3.
    assert iqm(np.array([9.0, 1.0, 5.0, 2.0, 100.0])) == pytest.approx(16 / 3)


def test_iqm_below_four_values_is_the_mean():
    # 3 // 4 = 0: nothing is cut.
    assert iqm(np.array([1.0, 2.0, 9.0])) == 4.0


def test_iqm_reduces_the_given_axis_of_a_2d_array():
    values = np.array([[1.0, 2.0, 3.0, 4.0], [40.0, 10.0, 30.0, 20.0]])
    np.testing.assert_allclose(iqm(values), [2.5, 25.0])
    np.testing.assert_allclose(iqm(values.T, axis=0), [2.5, 25.0])
    assert iqm(values).shape == (2,)


def test_iqm_matches_scipy_trim_mean():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for count in range(1, 13):
        values = rng.standard_cauchy((3, count))
        np.testing.assert_allclose(iqm(values), stats.trim_mean(values, 0.25, axis=-1))


def test_iqm_serves_as_a_bootstrap_statistic():
    value, low, high = bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0, 1000.0]), iqm)
    # The mean would be 202; the IQM cuts the outlier. Only resamples holding
    # it 3+ times of 5 reach the upper tail (measured interval [1.67, 668]).
    assert value == 3.0
    assert 1.0 <= low <= value <= high < 1000.0


def test_iqm_rejects_empty_input():
    with pytest.raises(ValueError, match=r"iqm: .*got shape \(0,\)"):
        iqm(np.array([]))
    with pytest.raises(ValueError, match=r"got shape \(3, 0\)"):
        iqm(np.zeros((3, 0)))


def test_estimate_contains_the_value_and_shrinks_with_more_seeds():
    rng = np.random.default_rng(1)
    few = summarize_over_seeds(rng.normal(1.0, 0.5, 5))
    many = summarize_over_seeds(rng.normal(1.0, 0.5, 50))
    assert isinstance(few, Estimate) and few.num_seeds == 5 and many.num_seeds == 50
    for estimate in (few, many):
        assert estimate.low <= estimate.value <= estimate.high
    # Width scales about as 1/sqrt(n): 10x the seeds, about 0.32x the width
    # (measured 0.26 for these draws).
    ratio = (many.high - many.low) / (few.high - few.low)
    assert 0.15 < ratio < 0.6


def test_mean_estimate_is_the_sample_mean():
    values = np.array([0.0, 1.0, 2.0, 10.0])
    estimate = summarize_over_seeds(values, "mean")
    assert estimate.value == 3.25
    assert estimate.low < 3.25 < estimate.high


def test_one_seed_collapses_the_interval():
    assert summarize_over_seeds([0.7]) == Estimate(0.7, 0.7, 0.7, 1)


def test_summary_is_deterministic_for_a_seed():
    values = np.random.default_rng(2).normal(size=8)
    first = summarize_over_seeds(values, seed=3)
    assert summarize_over_seeds(values, seed=3) == first
    other = summarize_over_seeds(values, seed=4)
    assert other.value == first.value and other[1:3] != first[1:3]


@pytest.mark.parametrize(
    ("values", "kwargs", "message"),
    [
        ([], {}, r"values must be a non-empty 1-D array .*got shape \(0,\)"),
        ([[1.0, 2.0]], {}, r"got shape \(1, 2\)"),
        ([1.0], {"statistic": "median"}, "statistic must be one of .*got 'median'"),
        ([1.0], {"confidence": 95}, r"confidence must be in \(0, 1\); got 95"),
        ([1.0], {"num_resamples": 0}, "num_resamples must be >= 1; got 0"),
    ],
)
def test_summary_rejects_bad_arguments(values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        summarize_over_seeds(np.asarray(values), **kwargs)
