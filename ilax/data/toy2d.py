"""Two-dimensional toy distributions for judging generative models by their samples.

Eight Gaussians, two moons and a Swiss roll: the usual pictures of whether a
generator covers every mode and keeps off the empty space between them. Each
`sample(key, n)` is pure JAX and returns float32 `[n, 2]` (n static). Only the
eight Gaussians have point-like modes, so only they carry `mode_centers` and a
`mode_radius` for `ilax.metrics.mode_mass` / `off_mode_fraction`; the moons
and the roll are judged by two-sample distances alone.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

EIGHT_GAUSSIANS_RADIUS = 2.0
"""Distance of the eight centres from the origin."""
EIGHT_GAUSSIANS_STD = 0.05
"""Per-coordinate std of each Gaussian: 0.05 keeps neighbouring modes (1.53
apart) 30 std apart, so a sample between them is unambiguously off-mode."""
EIGHT_GAUSSIANS_MODE_RADIUS = 4 * EIGHT_GAUSSIANS_STD
"""A sample within this distance of a centre belongs to that mode. At four
std the data itself lies outside with probability exp(-8) = 3e-4 (the
distance of a 2-D Gaussian sample is Rayleigh distributed)."""
MOONS_NOISE = 0.05
"""Std of the Gaussian noise added to both moons' coordinates."""
SWISS_ROLL_NOISE = 0.05
"""Std of the Gaussian noise added to the roll, in its (scaled) units."""
# The roll's angle spans 1.5 pi .. 4.5 pi and its radius equals the angle;
# dividing by 10 brings it to about [-1.4, 1.4] in both coordinates.
_SWISS_ROLL_SCALE = 0.1


class Toy2D(NamedTuple):
    """A named 2-D distribution and, if it has point-like modes, where they are."""

    name: str
    sample: Callable[[jax.Array, int], jax.Array]  # (key, n) -> [n, 2] float32
    mode_centers: np.ndarray | None  # [K, 2], or None without point modes
    mode_radius: float | None  # see `EIGHT_GAUSSIANS_MODE_RADIUS`


def _check_count(fn: str, n) -> None:
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"{fn}: n must be a positive int (static); got {n!r}")


def eight_gaussian_centers(radius: float = EIGHT_GAUSSIANS_RADIUS) -> np.ndarray:
    """[8, 2] centres evenly spaced on a circle, the first on the +x axis."""
    angles = 2 * np.pi * np.arange(8) / 8
    return (radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(
        np.float32
    )


def eight_gaussians(key: jax.Array, n: int) -> jax.Array:
    """[n, 2]: a uniformly chosen centre plus N(0, EIGHT_GAUSSIANS_STD^2 I)."""
    _check_count("eight_gaussians", n)
    key_mode, key_noise = jax.random.split(key)
    mode = jax.random.randint(key_mode, (n,), 0, 8)
    centers = jnp.asarray(eight_gaussian_centers())
    noise = EIGHT_GAUSSIANS_STD * jax.random.normal(key_noise, (n, 2), jnp.float32)
    return centers[mode] + noise


def two_moons(key: jax.Array, n: int) -> jax.Array:
    """[n, 2]: the two interleaved half circles (scikit-learn's `make_moons`).

    Each point picks a moon with probability 1/2 and an angle uniform in
    [0, pi]: the upper moon is (cos a, sin a), the lower (1 - cos a,
    0.5 - sin a); then N(0, MOONS_NOISE^2 I) is added.
    """
    _check_count("two_moons", n)
    key_moon, key_angle, key_noise = jax.random.split(key, 3)
    lower = jax.random.bernoulli(key_moon, 0.5, (n,))
    angle = jax.random.uniform(key_angle, (n,), jnp.float32, 0.0, math.pi)
    upper_xy = jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    lower_xy = jnp.stack([1.0 - jnp.cos(angle), 0.5 - jnp.sin(angle)], axis=1)
    points = jnp.where(lower[:, None], lower_xy, upper_xy)
    return points + MOONS_NOISE * jax.random.normal(key_noise, (n, 2), jnp.float32)


def swiss_roll(key: jax.Array, n: int) -> jax.Array:
    """[n, 2]: the planar Swiss roll (scikit-learn's `make_swiss_roll`, x and z).

    The angle t is uniform in [1.5 pi, 4.5 pi] and the point is t (cos t,
    sin t), scaled by 1/10 to about unit size; then N(0, SWISS_ROLL_NOISE^2
    I) is added. Uniform in t, not in arc length: the inner turn is denser.
    """
    _check_count("swiss_roll", n)
    key_angle, key_noise = jax.random.split(key)
    t = jax.random.uniform(key_angle, (n,), jnp.float32, 1.5 * math.pi, 4.5 * math.pi)
    points = _SWISS_ROLL_SCALE * t[:, None] * jnp.stack([jnp.cos(t), jnp.sin(t)], 1)
    return points + SWISS_ROLL_NOISE * jax.random.normal(key_noise, (n, 2), jnp.float32)


DATASETS = {
    "eight_gaussians": Toy2D(
        "eight_gaussians",
        eight_gaussians,
        eight_gaussian_centers(),
        EIGHT_GAUSSIANS_MODE_RADIUS,
    ),
    "two_moons": Toy2D("two_moons", two_moons, None, None),
    "swiss_roll": Toy2D("swiss_roll", swiss_roll, None, None),
}


def get(name: str) -> Toy2D:
    """The dataset called `name`, one of `DATASETS`.

    Raises:
      ValueError: an unknown name, listing the known ones.
    """
    if name not in DATASETS:
        raise ValueError(
            f"toy2d.get: name must be one of {', '.join(DATASETS)}; got {name!r}"
        )
    return DATASETS[name]
