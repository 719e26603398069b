"""Rates pooled over episodes."""

import numpy as np
import pytest

from ilax.metrics import pooled_rate


def test_pooled_rate_divides_the_sums():
    falls = np.array([1.0, 0.0, 3.0])
    laps = np.array([2.0, 0.5, 1.5])
    # 4 falls over 4 laps; the mean of per-episode ratios would be 2.5 / 3.
    assert pooled_rate(falls, laps) == 1.0


def test_pooled_rate_without_laps():
    assert pooled_rate([2.0], [0.0]) == np.inf
    assert np.isnan(pooled_rate([0.0, 0.0], [0.0, 0.0]))


@pytest.mark.parametrize(
    ("numerator", "denominator"), [([], []), ([1.0], [1.0, 2.0]), ([[1.0]], [[1.0]])]
)
def test_pooled_rate_rejects_bad_shapes(numerator, denominator):
    with pytest.raises(ValueError, match="pooled_rate: .*non-empty 1-D"):
        pooled_rate(numerator, denominator)
