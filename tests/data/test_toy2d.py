"""The 2-D toy distributions: shapes, determinism, where their mass lies."""

import jax
import numpy as np
import pytest

from ilax import metrics
from ilax.data import toy2d


@pytest.mark.parametrize("name", list(toy2d.DATASETS))
def test_samples_are_deterministic_float32_pairs(name):
    dataset = toy2d.get(name)
    sample = jax.jit(dataset.sample, static_argnums=1)
    points = sample(jax.random.key(0), 500)
    again = sample(jax.random.key(0), 500)
    other = sample(jax.random.key(1), 500)
    assert points.shape == (500, 2) and points.dtype == np.float32
    np.testing.assert_array_equal(points, again)
    assert not np.allclose(points, other)
    # Unit size: each coordinate's spread between 0.3 and 2.
    assert np.all((np.std(points, axis=0) > 0.3) & (np.std(points, axis=0) < 2))


def test_eight_gaussians_fill_their_modes_evenly():
    dataset = toy2d.get("eight_gaussians")
    points = np.asarray(dataset.sample(jax.random.key(2), 8000))
    masses = metrics.mode_mass(points, dataset.mode_centers, dataset.mode_radius)
    # Binomial std of a mass: sqrt(1/8 * 7/8 / 8000) = 0.0037.
    np.testing.assert_allclose(masses, 1 / 8, atol=0.015)
    assert float(masses.sum()) > 0.998
    np.testing.assert_allclose(np.linalg.norm(dataset.mode_centers, axis=1), 2.0)
    nearest = np.argmin(
        np.linalg.norm(points[:, None] - dataset.mode_centers[None], axis=-1), axis=1
    )
    offsets = points - dataset.mode_centers[nearest]
    np.testing.assert_allclose(np.std(offsets, axis=0), toy2d.EIGHT_GAUSSIANS_STD, 0.05)


def test_two_moons_and_swiss_roll_lie_on_their_curves():
    moons = np.asarray(toy2d.two_moons(jax.random.key(3), 4000))
    # Upper moon: on the unit circle around (0, 0); lower: around (1, 0.5).
    off_curve = np.minimum(
        np.abs(np.linalg.norm(moons, axis=1) - 1),
        np.abs(np.linalg.norm(moons - np.array([1.0, 0.5]), axis=1) - 1),
    )
    # Noise 0.05 per coordinate: the radial offset's 99th percentile is 0.13.
    assert np.quantile(off_curve, 0.99) < 0.2
    # Half the points on each: the moons' means (0, 2/pi) and (1, 0.5 - 2/pi).
    np.testing.assert_allclose(np.mean(moons, axis=0), [0.5, 0.25], atol=0.04)
    roll = np.asarray(toy2d.swiss_roll(jax.random.key(4), 4000))
    radius = np.linalg.norm(roll, axis=1)
    # The clean roll's radius is t / 10 with t in [1.5 pi, 4.5 pi] = [0.47, 1.41].
    assert 0.35 < np.quantile(radius, 0.01) < 0.55
    assert 1.3 < np.quantile(radius, 0.99) < 1.5


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="toy2d.get: name must be one of"):
        toy2d.get("spirals")
    with pytest.raises(ValueError, match="eight_gaussians: n must be"):
        toy2d.eight_gaussians(jax.random.key(0), 0)
