"""Sample-quality metrics on hand-computed sets, known distributions and bad input."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.metrics import (
    energy_distance,
    median_bandwidths,
    mmd_rbf,
    mode_coverage,
    mode_fractions,
    mode_mass,
    mode_switch_rate,
    off_mode_fraction,
    sliced_wasserstein,
)

# Two points of a unit square against the two points above them.
SQUARE_X = jnp.array([[0.0, 0.0], [1.0, 0.0]])
SQUARE_Y = jnp.array([[0.0, 1.0], [1.0, 1.0]])


def _gaussian(key, count, dim=2, shift=0.0):
    return jax.random.normal(key, (count, dim)) + shift


def test_energy_distance_of_identical_sets_is_exactly_zero():
    x = _gaussian(jax.random.key(1), 50)
    assert float(energy_distance(x, x)) == 0.0
    # Under jit XLA may fuse the three means differently: zero up to rounding.
    assert abs(float(jax.jit(energy_distance)(x, x))) < 1e-6


def test_mmd_of_identical_sets_is_the_negative_u_statistic_correction():
    # With y = x the cross mean keeps the n diagonal ones that the within-set
    # means drop: MMD_u = 2 (off-diagonal mean - full mean) = -2 (1 - mean K) / (n - 1).
    x = _gaussian(jax.random.key(1), 30)
    diff = np.asarray(x)[:, None] - np.asarray(x)[None]
    gram = np.exp(-np.sum(diff**2, -1) / (2 * 1.5**2))
    expected = -2 * (1 - gram.mean()) / (30 - 1)
    np.testing.assert_allclose(mmd_rbf(x, x, (1.5,)), expected, rtol=1e-5)


def test_two_point_masses_at_distance_five():
    x = jnp.zeros((2, 2))
    y = jnp.broadcast_to(jnp.array([[3.0, 4.0]]), (2, 2))
    # Energy: 2 * 5 - 0 - 0. MMD_u: within-set kernels are 1, cross exp(-25 / 8).
    np.testing.assert_allclose(energy_distance(x, y), 10.0, rtol=1e-6)
    np.testing.assert_allclose(mmd_rbf(x, y, (2.0,)), 2 - 2 * np.exp(-25 / 8), 1e-6)


def test_unit_square_by_hand():
    # Cross squared distances 1, 2, 2, 1; within-set 1. With h = 1:
    # MMD_u = e^-1/2 + e^-1/2 - 2 (2 e^-1/2 + 2 e^-1) / 4 = e^-1/2 - e^-1.
    one = np.exp(-0.5) - np.exp(-1.0)
    np.testing.assert_allclose(mmd_rbf(SQUARE_X, SQUARE_Y, (1.0,)), one, rtol=1e-6)
    # A sum of kernels adds the per-bandwidth values (h = 2: e^-1/8 - e^-1/4).
    two = np.exp(-1 / 8) - np.exp(-1 / 4)
    np.testing.assert_allclose(
        mmd_rbf(SQUARE_X, SQUARE_Y, (1.0, 2.0)), one + two, rtol=1e-6
    )
    # Energy: 2 (1 + sqrt2 + sqrt2 + 1) / 4 - 2 * (0 + 1 + 1 + 0) / 4 = sqrt2.
    np.testing.assert_allclose(energy_distance(SQUARE_X, SQUARE_Y), np.sqrt(2), 1e-6)


def test_median_bandwidths_by_hand():
    # Pooled 1-D points 0, 1, 3: distances 1, 3, 2 -> median 2.
    bandwidths = median_bandwidths(jnp.array([[0.0], [1.0]]), jnp.array([[3.0]]))
    np.testing.assert_allclose(bandwidths, [1.0, 2.0, 4.0])
    assert bandwidths.dtype == jnp.float32


def test_all_distances_grow_with_the_shift():
    kx, ky, kp = jax.random.split(jax.random.key(2), 3)
    x, noise = _gaussian(kx, 200), _gaussian(ky, 200)
    shifts = (0.0, 0.5, 1.0, 2.0, 4.0)
    for metric in (
        lambda y: mmd_rbf(x, y, (0.5, 1.0, 2.0)),
        lambda y: energy_distance(x, y),
        lambda y: sliced_wasserstein(x, y, jax.random.clone(kp), num_projections=32),
    ):
        values = [float(metric(noise + jnp.array([[s, 0.0]]))) for s in shifts]
        assert np.all(np.diff(values) > 0), values


def test_mmd_is_unbiased_for_samples_of_one_distribution():
    # Measured over 2000 pairs of 20 + 20 N(0, 1) points, h = 1: mean -0.0002
    # (standard error 0.0009). The V-statistic would be biased upward by about
    # 2 (1 - E k) / 20 = 0.042 (E k = 1 / sqrt(3)), ten standard errors here.
    def one_pair(key):
        kx, ky = jax.random.split(key)
        return mmd_rbf(_gaussian(kx, 20, 1), _gaussian(ky, 20, 1), (1.0,))

    values = jax.vmap(one_pair)(jax.random.split(jax.random.key(3), 400))
    standard_error = float(jnp.std(values)) / np.sqrt(400)
    assert abs(float(jnp.mean(values))) < 3 * standard_error
    assert standard_error < 0.005


def test_sliced_wasserstein_in_1d_is_exact_by_hand():
    key = jax.random.key(4)
    # Equal sizes: sorted pairs (0, 1), (1, 3), (2, 5) -> gaps 1, 2, 3.
    x, y = jnp.array([[0.0], [1.0], [2.0]]), jnp.array([[3.0], [1.0], [5.0]])
    key_1, key_2, key_3, key_4 = jax.random.split(key, 4)
    np.testing.assert_allclose(sliced_wasserstein(x, y, key_1, 8, p=1), 2.0, 1e-6)
    np.testing.assert_allclose(
        sliced_wasserstein(x, y, key_2, 8, p=2), np.sqrt(14 / 3), rtol=1e-6
    )
    # Unequal sizes, merged levels 1/3, 1/2, 2/3, 1: the quantiles differ by
    # 0.5 on (1/3, 1/2] and (1/2, 2/3] only -> W1 = 1/6, W2^2 = 1/12.
    x, y = jnp.array([[0.0], [1.0]]), jnp.array([[0.0], [0.5], [1.0]])
    np.testing.assert_allclose(sliced_wasserstein(x, y, key_3, 8, p=1), 1 / 6, 1e-5)
    np.testing.assert_allclose(
        sliced_wasserstein(x, y, key_4, 8, p=2), np.sqrt(1 / 12), rtol=1e-5
    )


@pytest.mark.parametrize("p", [1, 2])
def test_sliced_wasserstein_of_shifted_gaussians_is_the_shift(p):
    # W_p(N(0, 1), N(1, 1)) = 1 for p = 1, 2. Measured with N = 3000, M = 2000
    # over 200 seeds: error std 0.031, max 0.077; the tolerance is 4 std.
    kx, ky, kp = jax.random.split(jax.random.key(5), 3)
    x, y = _gaussian(kx, 3000, 1), _gaussian(ky, 2000, 1, shift=1.0)
    assert abs(float(sliced_wasserstein(x, y, kp, 4, p=p)) - 1.0) < 0.13


def test_sliced_wasserstein_2d_averages_over_directions():
    # A shift s along one axis projects to s cos(theta): SW2 = s / sqrt(2) in
    # 2-D. Measured (2000 + 2000 points, 256 directions, 50 seeds): error mean
    # 0.002, std 0.040; the tolerance is 4 std.
    kx, ky, kp = jax.random.split(jax.random.key(6), 3)
    x, y = _gaussian(kx, 2000), _gaussian(ky, 2000, shift=jnp.array([[2.0, 0.0]]))
    value = float(sliced_wasserstein(x, y, kp, 256))
    assert abs(value - 2 / np.sqrt(2)) < 0.16


def test_distances_ignore_sample_order():
    kx, ky, kp, kperm = jax.random.split(jax.random.key(7), 4)
    x, y = _gaussian(kx, 40), _gaussian(ky, 30, shift=0.5)
    order_x, order_y = jax.random.permutation(kperm, 40), jnp.arange(30)[::-1]
    x2, y2 = x[order_x], y[order_y]
    np.testing.assert_allclose(mmd_rbf(x, y), mmd_rbf(x2, y2), rtol=1e-5)
    # Energy is a difference of nearby means: float32 summation order moved it
    # by 3.7e-6 here, so the tolerance is absolute.
    np.testing.assert_allclose(
        energy_distance(x, y), energy_distance(x2, y2), rtol=0, atol=2e-5
    )
    np.testing.assert_allclose(
        sliced_wasserstein(x, y, jax.random.clone(kp)),
        sliced_wasserstein(x2, y2, kp),
        rtol=1e-5,
    )


CENTERS = jnp.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_mode_mass_of_hand_built_samples():
    # Three near center 0 (one exactly on the radius, which counts), one
    # beyond the radius of every center.
    samples = jnp.array([[0.1, 0.0], [0.0, -0.5], [1.0, 0.0], [5.0, 5.0]])
    np.testing.assert_allclose(mode_mass(samples, CENTERS, 1.0), [0.75, 0.0, 0.0])
    np.testing.assert_allclose(off_mode_fraction(samples, CENTERS, 1.0), 0.25)
    np.testing.assert_allclose(mode_coverage(samples, CENTERS, 1.0, 0.5), 1 / 3)
    # A radius of 8 takes in (5, 5) (7.07 from each center), assigned to its
    # nearest center, the first on the tie.
    np.testing.assert_allclose(mode_mass(samples, CENTERS, 8.0), [1.0, 0.0, 0.0])
    assert float(off_mode_fraction(samples, CENTERS, 8.0)) == 0.0


def test_mode_coverage_counts_modes_above_the_threshold():
    # Masses 0.5, 0.3, 0.2 and no sample off mode.
    samples = jnp.repeat(CENTERS, jnp.array([5, 3, 2]), axis=0, total_repeat_length=10)
    np.testing.assert_allclose(mode_mass(samples, CENTERS, 0.5), [0.5, 0.3, 0.2])
    coverage = [
        float(mode_coverage(samples, CENTERS, 0.5, f)) for f in (0.2, 0.25, 0.6)
    ]
    np.testing.assert_allclose(coverage, [1.0, 2 / 3, 0.0])


def test_mode_switch_rate_of_hand_built_labels():
    # Columns: constant; switches at t = 2; changes only at an invalid step;
    # changes across an invalid gap; no valid step at all.
    labels = jnp.array(
        [[0, 1, 1, 0, 3], [0, 1, 1, 2, 1], [0, 0, 1, 0, 2], [0, 0, 0, 1, 0]]
    )
    valid = jnp.array(
        [
            [True, True, True, True, False],
            [True, True, True, False, False],
            [True, True, True, True, False],
            [True, True, False, True, False],
        ]
    )
    # Column 2: valid labels 1, 1, 1 (the 0 at t = 3 is invalid).
    assert float(mode_switch_rate(labels, valid)) == pytest.approx(2 / 5)
    assert float(mode_switch_rate(labels, jnp.ones_like(valid))) == pytest.approx(4 / 5)


def test_mode_fractions_ignore_labels_outside_the_modes():
    fractions = mode_fractions(jnp.array([0, 1, 1, -1, 2, 1]), 3)
    np.testing.assert_allclose(fractions, [1 / 6, 3 / 6, 1 / 6])
    assert fractions.dtype == jnp.float32


def test_jit_does_not_retrace_for_new_data_of_the_same_shape():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def all_metrics(x, y, key, labels, valid):
        return (
            mmd_rbf(x, y),
            energy_distance(x, y),
            sliced_wasserstein(x, y, key, 16),
            mode_mass(x, CENTERS, 1.0),
            mode_coverage(x, CENTERS, 1.0, 0.1),
            mode_switch_rate(labels, valid),
            mode_fractions(labels[-1], 3),
        )

    keys = jax.random.split(jax.random.key(8), 6)
    labels, valid = jnp.zeros((5, 4), jnp.int32), jnp.ones((5, 4), bool)
    first = all_metrics(
        _gaussian(keys[0], 20), _gaussian(keys[1], 15), keys[2], labels, valid
    )
    second = all_metrics(
        _gaussian(keys[3], 20), _gaussian(keys[4], 15), keys[5], labels + 1, valid
    )
    assert float(first[0]) != float(second[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: mmd_rbf(jnp.ones((3, 2)), jnp.ones((3, 4))),
            r"same sample dim.*\(3, 4\)",
        ),
        (
            lambda: energy_distance(jnp.ones((0, 2)), jnp.ones((3, 2))),
            r"x must.*\(0, 2\)",
        ),
        (lambda: mmd_rbf(jnp.ones((1, 2)), jnp.ones((3, 2))), r"count >= 2.*\(1, 2\)"),
        (lambda: mmd_rbf(SQUARE_X, SQUARE_Y, (1.0, -1.0)), r"bandwidths must be > 0"),
        (lambda: mmd_rbf(SQUARE_X, SQUARE_Y, ()), r"bandwidths must be > 0"),
        (lambda: mode_mass(SQUARE_X, CENTERS, 0.0), r"radius must be > 0; got 0.0"),
        (lambda: mode_mass(SQUARE_X, jnp.ones((2, 3)), 1.0), r"samples and centers"),
        (lambda: mode_coverage(SQUARE_X, CENTERS, 1.0, 0.0), r"min_fraction.*got 0.0"),
        (
            lambda: sliced_wasserstein(SQUARE_X, SQUARE_Y, jax.random.key(0), p=0.5),
            r"p >= 1.*p=0.5",
        ),
        (
            lambda: sliced_wasserstein(SQUARE_X, SQUARE_Y, jax.random.key(0), 0),
            r"num_projections=0",
        ),
        (
            lambda: mode_switch_rate(jnp.zeros((3, 2), int), jnp.ones((3, 3), bool)),
            r"valid \(3, 3\)",
        ),
        (
            lambda: mode_switch_rate(jnp.zeros((3, 2)), jnp.ones((3, 2), bool)),
            r"float32",
        ),
        (lambda: mode_fractions(jnp.zeros((4,), int), 0), r"num_modes must be >= 1"),
    ],
)
def test_bad_arguments_raise_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call()
