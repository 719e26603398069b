"""Noise schedules: hand-checked values and errors naming the field."""

import math

import numpy as np
import pytest

from ilax.algorithms import diffusion


def test_linear_schedule_alpha_is_the_cumulative_product():
    schedule = diffusion.linear_schedule(3, beta_start=0.1, beta_end=0.3)
    np.testing.assert_allclose(schedule.beta, [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(
        schedule.alpha, [0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7], rtol=1e-6
    )
    assert schedule.num_steps == 3
    # alpha_0 = 1 (clean data), step t reads entry t - 1.
    np.testing.assert_allclose(
        diffusion.alpha_at(schedule, np.array([0, 1, 3])), [1.0, 0.9, 0.504], rtol=1e-6
    )
    np.testing.assert_allclose(
        diffusion.beta_at(schedule, np.array([1, 3])), [0.1, 0.3]
    )


def test_ho_schedule_reaches_standard_noise():
    # q(z_T | x) ~ N(0, I): Ho et al.'s T = 1000 leaves alpha_T ~ 4.0e-5.
    schedule = diffusion.linear_schedule(1000)
    assert float(schedule.alpha[-1]) < 1e-4


def test_cosine_schedule_endpoints():
    steps, s = 100, 0.008

    def f(t):
        return math.cos((t / steps + s) / (1 + s) * math.pi / 2) ** 2

    schedule = diffusion.cosine_schedule(steps, s=s)
    np.testing.assert_allclose(schedule.alpha[0], f(1) / f(0), rtol=1e-5)
    np.testing.assert_allclose(schedule.alpha[49], f(50) / f(0), rtol=1e-5)
    # f(T) = 0 would give beta_T = 1; the cap leaves beta_T = 0.999 and alpha_T
    # = alpha_{T-1} * 0.001.
    np.testing.assert_allclose(schedule.beta[-1], 0.999, rtol=1e-6)
    np.testing.assert_allclose(
        schedule.alpha[-1], f(steps - 1) / f(0) * 1e-3, rtol=1e-4
    )
    assert np.all(np.diff(np.asarray(schedule.beta)) > 0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: diffusion.linear_schedule(0), "num_steps"),
        (lambda: diffusion.cosine_schedule(0), "num_steps"),
        (lambda: diffusion.linear_schedule(10, beta_start=0.0), "beta_start"),
        (lambda: diffusion.linear_schedule(10, beta_end=1.0), "beta_end"),
        (lambda: diffusion.cosine_schedule(10, max_beta=1.0), "max_beta"),
        (lambda: diffusion.from_betas([0.1, 1.5, 0.2]), r"beta_2 = 1\.5"),
        (lambda: diffusion.from_betas([-0.1]), r"beta must lie in \(0, 1\)"),
        (lambda: diffusion.from_betas([]), "num_steps"),
    ],
)
def test_bad_schedules_name_the_field(make, match):
    with pytest.raises(ValueError, match=match):
        make()
