"""Sample-quality metrics: how close generated samples are to reference samples.

Generative policies (GAN, VAE/CVAE, diffusion) are compared by the actions they
sample (two-sample distances, mode masses) and by which mode of a multimodal
task their rollouts commit to. Pure `jax.numpy`, float32, jittable; argument
checks run at trace time, on shapes always and on values when concrete.

Pairwise distances come from [N, M, D] differences, not Gram matrices: exact for
coincident points at N * M * D floats of memory, fine for the few thousand
low-dimensional samples these metrics are meant for.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np


def _check_samples(fn: str, name: str, array, min_count: int = 1) -> jax.Array:
    """`array` as float32 [count >= min_count, dim >= 1], else a ValueError."""
    array = jnp.asarray(array, jnp.float32)
    if array.ndim != 2 or array.shape[0] < min_count or array.shape[1] == 0:
        raise ValueError(
            f"{fn}: {name} must have shape [count >= {min_count}, dim >= 1]; got "
            f"shape {array.shape}"
        )
    return array


def _check_same_dim(fn: str, names: tuple[str, str], a: jax.Array, b: jax.Array):
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{fn}: {names[0]} and {names[1]} must have the same sample dimension; "
            f"got {names[0]} shape {a.shape} and {names[1]} shape {b.shape}"
        )


def _is_traced(value) -> bool:
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(value))


def _check_positive(fn: str, name: str, value) -> None:
    array = None if _is_traced(value) else np.asarray(value, np.float64)
    if array is not None and (array.size == 0 or not np.all(array > 0)):
        raise ValueError(f"{fn}: {name} must be > 0; got {value!r}")


def _squared_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    """[N, D] x [M, D] -> [N, M] squared Euclidean distances."""
    return jnp.sum(jnp.square(a[:, None, :] - b[None, :, :]), axis=-1)


def median_bandwidths(
    x: jax.Array, y: jax.Array, factors: Sequence[float] = (0.5, 1.0, 2.0)
) -> jax.Array:
    """[len(factors)] RBF bandwidths: factors * the median pairwise distance.

    The median is over distinct pairs of the pooled x and y, floored at 1e-12 so
    that a degenerate set (most pairs coincide) still gives a finite kernel.
    """
    x = _check_samples("median_bandwidths", "x", x)
    y = _check_samples("median_bandwidths", "y", y)
    _check_same_dim("median_bandwidths", ("x", "y"), x, y)
    _check_positive("median_bandwidths", "factors", factors)
    pooled = jnp.concatenate([x, y])
    rows, cols = np.triu_indices(pooled.shape[0], k=1)
    distances = jnp.sqrt(_squared_distances(pooled, pooled)[rows, cols])
    median = jnp.maximum(jnp.median(distances), 1e-12)
    return jnp.asarray(factors, jnp.float32) * median


def mmd_rbf(
    x: jax.Array, y: jax.Array, bandwidths: Sequence[float] | jax.Array | None = None
) -> jax.Array:
    """Unbiased estimate of the squared MMD under a sum of RBF kernels.

    k(a, b) = sum_h exp(-||a - b||^2 / (2 h^2)). The U-statistic drops the
    i == j terms of the within-set means, so it is unbiased but can be slightly
    negative when x and y come from the same distribution (it is not clipped).

    Args:
      x: samples [N, D], N >= 2.
      y: samples [M, D], M >= 2.
      bandwidths: kernel bandwidths h, all > 0; None: `median_bandwidths(x, y)`.
    """
    x = _check_samples("mmd_rbf", "x", x, min_count=2)
    y = _check_samples("mmd_rbf", "y", y, min_count=2)
    _check_same_dim("mmd_rbf", ("x", "y"), x, y)
    if bandwidths is None:
        bandwidths = median_bandwidths(x, y)
    _check_positive("mmd_rbf", "bandwidths", bandwidths)
    scales = 2 * jnp.square(jnp.asarray(bandwidths, jnp.float32).reshape(-1))

    def kernel(a, b):
        exponents = _squared_distances(a, b)[:, :, None] / scales[None, None, :]
        return jnp.sum(jnp.exp(-exponents), axis=-1)

    def off_diagonal_mean(gram):
        n = gram.shape[0]
        return jnp.sum(jnp.where(jnp.eye(n, dtype=bool), 0.0, gram)) / (n * (n - 1))

    within = off_diagonal_mean(kernel(x, x)) + off_diagonal_mean(kernel(y, y))
    return within - 2 * jnp.mean(kernel(x, y))


def energy_distance(x: jax.Array, y: jax.Array) -> jax.Array:
    """Energy distance 2 E||X - Y|| - E||X - X'|| - E||Y - Y'|| (V-statistic).

    For x [N, D] and y [M, D]. The V-statistic keeps the zero i == j terms of
    the within-set means: it is the (non-negative) energy distance between the
    two empirical distributions, 0 for identical sets, biased upward by O(1/N).
    """
    x = _check_samples("energy_distance", "x", x)
    y = _check_samples("energy_distance", "y", y)
    _check_same_dim("energy_distance", ("x", "y"), x, y)

    def mean_distance(a, b):
        return jnp.mean(jnp.sqrt(_squared_distances(a, b)))

    return 2 * mean_distance(x, y) - mean_distance(x, x) - mean_distance(y, y)


def sliced_wasserstein(
    x: jax.Array,
    y: jax.Array,
    key: jax.Array,
    num_projections: int = 128,
    p: float = 2,
) -> jax.Array:
    """Sliced p-Wasserstein distance: (E_theta W_p(theta.x, theta.y)^p)^(1/p).

    Directions theta are uniform on the unit sphere. Each 1-D W_p is exact for
    the two empirical distributions, also when N != M: both quantile functions
    are steps that change only at the levels i / N and j / M, so they are
    compared on that merged common grid, each step weighted by its width (with
    N == M: sorted projections matched one to one). For D == 1 this is W_p.

    Args:
      x: samples [N, D].
      y: samples [M, D].
      key: typed random key for the directions.
      num_projections: number of directions, >= 1 (static).
      p: order, >= 1 (static).
    """
    x = _check_samples("sliced_wasserstein", "x", x)
    y = _check_samples("sliced_wasserstein", "y", y)
    _check_same_dim("sliced_wasserstein", ("x", "y"), x, y)
    if not (isinstance(num_projections, int) and num_projections >= 1 and p >= 1):
        raise ValueError(
            f"sliced_wasserstein: num_projections must be an int >= 1 and p >= 1; "
            f"got num_projections={num_projections!r}, p={p!r}"
        )
    directions = jax.random.normal(key, (num_projections, x.shape[1]))
    directions = directions / jnp.linalg.norm(directions, axis=-1, keepdims=True)
    x_sorted = jnp.sort(x @ directions.T, axis=0)
    y_sorted = jnp.sort(y @ directions.T, axis=0)
    # Levels in integer units of 1 / (N M), so coinciding ones give zero-width
    # steps exactly; on (ends[k-1], ends[k]] x's quantile is its ceil(ends[k]/M)-th.
    n, m = x.shape[0], y.shape[0]
    ends = np.sort(np.concatenate([np.arange(1, n + 1) * m, np.arange(1, m + 1) * n]))
    widths = jnp.asarray(np.diff(ends, prepend=0) / (n * m), jnp.float32)
    gaps = jnp.abs(x_sorted[-(-ends // m) - 1] - y_sorted[-(-ends // n) - 1]) ** p
    per_direction = jnp.sum(widths[:, None] * gaps, axis=0)
    return jnp.mean(per_direction) ** (1 / p)


def _assign_modes(fn: str, samples, centers, radius):
    """Nearest center of each sample and whether it lies within `radius`."""
    samples = _check_samples(fn, "samples", samples)
    centers = _check_samples(fn, "centers", centers)
    _check_same_dim(fn, ("samples", "centers"), samples, centers)
    _check_positive(fn, "radius", radius)
    squared = _squared_distances(samples, centers)
    inside = jnp.min(squared, axis=1) <= jnp.square(jnp.asarray(radius, jnp.float32))
    return jnp.argmin(squared, axis=1), inside, centers.shape[0]


def mode_mass(samples: jax.Array, centers: jax.Array, radius: float) -> jax.Array:
    """[K] fractions of the samples [N, D] in each mode, centers [K, D].

    A sample belongs to its nearest center (the first on a tie) if it lies
    within `radius` (> 0, inclusive) of it, and to no mode otherwise; the
    fractions sum to 1 - `off_mode_fraction`.
    """
    nearest, inside, count = _assign_modes("mode_mass", samples, centers, radius)
    hits = (nearest[:, None] == jnp.arange(count)[None, :]) & inside[:, None]
    return jnp.mean(hits, axis=0, dtype=jnp.float32)


def off_mode_fraction(
    samples: jax.Array, centers: jax.Array, radius: float
) -> jax.Array:
    """Fraction of samples farther than `radius` from every center."""
    _, inside, _ = _assign_modes("off_mode_fraction", samples, centers, radius)
    return jnp.mean(~inside, dtype=jnp.float32)


def mode_coverage(
    samples: jax.Array, centers: jax.Array, radius: float, min_fraction: float
) -> jax.Array:
    """Fraction of modes whose `mode_mass` is at least `min_fraction` (in (0, 1])."""
    if not _is_traced(min_fraction) and not 0 < min_fraction <= 1:
        raise ValueError(
            f"mode_coverage: min_fraction must be in (0, 1]; got {min_fraction!r}"
        )
    masses = mode_mass(samples, centers, radius)
    return jnp.mean(masses >= min_fraction, dtype=jnp.float32)


def mode_switch_rate(mode_per_step: jax.Array, valid: jax.Array) -> jax.Array:
    """Fraction of episodes whose mode label changes at least once.

    mode_per_step: time-major integer labels [T, B], one column per episode;
    valid: [T, B] bool. Only valid steps count (they need not be contiguous); a
    column with no valid step counts as an episode that never switches.
    """
    labels, valid = jnp.asarray(mode_per_step), jnp.asarray(valid)
    shape_ok = labels.ndim == 2 and 0 not in labels.shape
    if not (shape_ok and valid.shape == labels.shape and labels.dtype.kind in "iu"):
        raise ValueError(
            f"mode_switch_rate: mode_per_step (integer) and valid must have the "
            f"same non-empty shape [T, B]; got mode_per_step {labels.dtype} "
            f"{labels.shape} and valid {valid.shape}"
        )
    labels, valid = labels.astype(jnp.int32), valid.astype(bool)
    limits = jnp.iinfo(jnp.int32)
    highest = jnp.max(jnp.where(valid, labels, limits.min), axis=0)
    lowest = jnp.min(jnp.where(valid, labels, limits.max), axis=0)
    switched = jnp.any(valid, axis=0) & (highest != lowest)
    return jnp.mean(switched, dtype=jnp.float32)


def mode_fractions(final_mode: jax.Array, num_modes: int) -> jax.Array:
    """[num_modes] fractions of episodes whose final_mode [B] is each mode.

    Labels outside [0, num_modes) (say -1 for "no mode") count in no mode, so
    the fractions may sum below 1. num_modes is static.
    """
    final_mode = jnp.asarray(final_mode)
    if final_mode.ndim != 1 or final_mode.shape[0] == 0:
        raise ValueError(
            f"mode_fractions: final_mode must have shape [B >= 1]; got "
            f"{final_mode.shape}"
        )
    if not (isinstance(num_modes, int) and num_modes >= 1):
        raise ValueError(f"mode_fractions: num_modes must be >= 1; got {num_modes!r}")
    hits = final_mode[:, None] == jnp.arange(num_modes)[None, :]
    return jnp.mean(hits, axis=0, dtype=jnp.float32)


def moment_matched_gaussian(
    points: jax.Array, key: jax.Array, num_samples: int
) -> jax.Array:
    """`[num_samples, D]` draws of the Gaussian with `points`' mean and covariance.

    The reference of what a unimodal model can do: a multimodal set scores
    far from it, a model that only matched the first two moments close.
    """
    mean = jnp.mean(points, axis=0)
    centered = points - mean[None, :]
    covariance = centered.T @ centered / (points.shape[0] - 1)
    noise = jax.random.normal(key, (num_samples, points.shape[1]), jnp.float32)
    return mean[None, :] + noise @ jnp.linalg.cholesky(covariance).T


def sample_report(
    samples: jax.Array,
    reference: jax.Array,
    *,
    bandwidths: jax.Array,
    key_projections: jax.Array,
    mode_centers: jax.Array | None = None,
    mode_radius: float = 0.0,
    min_mode_fraction: float = 0.0,
) -> dict[str, jax.Array]:
    """Every distance of `samples` [N, D] from `reference`, and their modes.

    `energy_distance`, `mmd_rbf` (at `bandwidths`), `sliced_w2` (along the
    directions of `key_projections`, which is cloned, not consumed: pass the
    same key for every method and seed of a comparison and their numbers
    share directions) and `nonfinite_samples`; with `mode_centers` also each
    mode's `mode_mass`, the `off_mode_fraction` and `modes_covered` (modes
    holding at least `min_mode_fraction` of the samples). Jittable.
    """
    result = {
        "energy_distance": energy_distance(samples, reference),
        "mmd_rbf": mmd_rbf(samples, reference, bandwidths),
        "sliced_w2": sliced_wasserstein(
            samples, reference, jax.random.clone(key_projections)
        ),
        "nonfinite_samples": jnp.sum(~jnp.all(jnp.isfinite(samples), axis=-1)),
    }
    if mode_centers is not None:
        masses = mode_mass(samples, mode_centers, mode_radius)
        result["mode_mass"] = masses
        result["off_mode_fraction"] = off_mode_fraction(
            samples, mode_centers, mode_radius
        )
        result["modes_covered"] = jnp.sum(masses >= min_mode_fraction)
    return result
