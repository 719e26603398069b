"""Confidence intervals for results over episodes or seeds (host side)."""

from collections.abc import Callable

import numpy as np


def bootstrap_ci(
    values: np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    confidence: float = 0.95,
    num_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """The statistic and its percentile-bootstrap confidence interval.

    Args:
      values: 1-D samples (one per episode or per seed).
      statistic: maps samples to a number; applied along axis -1 of the
        resampled matrix, so it must accept `axis=-1` (np.mean, np.median).
      confidence: coverage of the interval.
      num_resamples: bootstrap resamples.
      seed: seed of the resampling generator (passed explicitly, no global
        state).

    Returns:
      (statistic, low, high).

    Raises:
      ValueError: `values` is empty or not 1-D.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"bootstrap_ci: values must be a non-empty 1-D array; got shape "
            f"{values.shape}"
        )
    rng = np.random.default_rng(seed)
    resamples = rng.choice(values, size=(num_resamples, values.size), replace=True)
    estimates = statistic(resamples, axis=-1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(estimates, [tail, 100 - tail])
    return float(statistic(values)), float(low), float(high)
