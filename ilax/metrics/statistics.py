"""Aggregates and confidence intervals over episodes or seeds (host side).

Results over seeds are reported as an `Estimate`: the interquartile mean (or
the mean) with a 95% percentile-bootstrap interval, following Agarwal et al.
2021, "Deep RL at the edge of the statistical precipice".
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Estimate(NamedTuple):
    """A point estimate over seeds with its confidence interval."""

    value: float
    low: float
    high: float
    num_seeds: int


def iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """Interquartile mean: the mean of the middle half of `values` along `axis`.

    `n // 4` values are cut from each end (scipy.stats.trim_mean(values, 0.25)
    semantics, as in Agarwal et al. 2021): when n/4 is not whole, the cut is
    rounded down rather than weighting the boundary values, so n < 4 gives the
    plain mean.

    Args:
      values: samples; any shape.
      axis: the axis to reduce.

    Returns:
      `values` reduced over `axis` (a NumPy scalar for 1-D input).

    Raises:
      ValueError: `values` has no element along `axis`.
    """
    values = np.asarray(values, np.float64)
    if values.ndim == 0 or values.shape[axis] == 0:
        raise ValueError(
            f"iqm: values must have at least one element along axis {axis}; got "
            f"shape {values.shape}"
        )
    count = values.shape[axis]
    cut = count // 4
    middle = np.take(np.sort(values, axis=axis), np.arange(cut, count - cut), axis)
    return middle.mean(axis=axis)


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
        resampled matrix, so it must accept `axis=-1` (np.mean, np.median, iqm).
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


_STATISTICS = {"iqm": iqm, "mean": np.mean}


def summarize_over_seeds(
    values: np.ndarray,
    statistic: str = "iqm",
    *,
    confidence: float = 0.95,
    num_resamples: int = 2000,
    seed: int = 0,
) -> Estimate:
    """One number per seed summarized as `statistic` with a bootstrap interval.

    A NaN seed makes the whole estimate NaN, so a failed run shows in the
    table instead of vanishing from it.

    Args:
      values: 1-D, one final result per seed.
      statistic: "iqm" (robust to an outlying seed) or "mean".
      confidence: coverage of the interval, in (0, 1).
      num_resamples: bootstrap resamples.
      seed: seed of the resampling generator.

    Returns:
      The `Estimate`; with one seed the interval collapses onto the value.

    Raises:
      ValueError: an argument is out of range, naming it and its value.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"summarize_over_seeds: values must be a non-empty 1-D array (one "
            f"number per seed); got shape {values.shape}"
        )
    if statistic not in _STATISTICS:
        raise ValueError(
            f"summarize_over_seeds: statistic must be one of "
            f"{', '.join(map(repr, _STATISTICS))}; got {statistic!r}"
        )
    if not 0 < confidence < 1:
        raise ValueError(
            f"summarize_over_seeds: confidence must be in (0, 1); got {confidence!r}"
        )
    if not num_resamples >= 1:
        raise ValueError(
            f"summarize_over_seeds: num_resamples must be >= 1; got {num_resamples!r}"
        )
    value, low, high = bootstrap_ci(
        values,
        _STATISTICS[statistic],
        confidence=confidence,
        num_resamples=num_resamples,
        seed=seed,
    )
    return Estimate(value, low, high, values.size)
