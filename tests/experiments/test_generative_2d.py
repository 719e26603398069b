"""The 2-D generative experiment in miniature: the direction of its claim.

Eight Gaussians, diffusion only (DDPM-100 and both DDIM-10 samplers), 2 seeds
of 2,000 updates at a faster setting than the experiment's defaults (64x64,
learning rate 3e-3, EMA decay 0.99; at the defaults' 1e-3 and 0.995 the net
still covers no mode after 2,000 updates). The thresholds come from keys 0,
1 and 2 (tests/experiments/README.md): DDPM covers 8 of 8 modes in every
seed, 38-46% of its samples lie off-mode (the Gaussian's 96-97%), its
energy distance is 0.09-0.20 of the moment-matched Gaussian's.
"""

import jax
import numpy as np
import pytest

from experiments import generative_2d
from ilax import metrics
from ilax.algorithms import diffusion

DDPM = "diffusion DDPM-100"
SETTINGS = generative_2d.Settings(
    seeds=2, updates=2000, batch_size=256, num_train=5000, num_samples=1000
)
FAST = diffusion.DiffusionConfig(
    hidden_sizes=(64, 64), learning_rate=3e-3, ema_decay=0.99
)


@pytest.fixture(scope="module")
def result():
    return generative_2d.run_dataset(
        "eight_gaussians", jax.random.key(0), SETTINGS, trained={"diffusion": FAST}
    )


def test_diffusion_covers_the_modes(result):
    ddpm = result["metrics"][DDPM]
    assert np.all(ddpm["modes_covered"] >= 6), ddpm["modes_covered"]
    assert np.all(ddpm["nonfinite_samples"] == 0)
    # Far fewer samples between the modes than a unimodal fit puts there.
    gaussian = result["metrics"][generative_2d.GAUSSIAN]
    assert np.all(ddpm["off_mode_fraction"] < 0.75), ddpm["off_mode_fraction"]
    assert np.all(gaussian["off_mode_fraction"] > 0.9)
    assert np.all(gaussian["modes_covered"] == 0)


def test_diffusion_beats_a_moment_matched_gaussian(result):
    ddpm = result["metrics"][DDPM]["energy_distance"]
    gaussian = result["metrics"][generative_2d.GAUSSIAN]["energy_distance"]
    floor = result["metrics"][generative_2d.FLOOR]["energy_distance"]
    # Measured ratios 0.09-0.20 over three keys.
    assert np.all(ddpm < 0.5 * gaussian), (ddpm, gaussian)
    # The data-vs-data floor (0.002-0.015) resolves the gap; it is not below
    # every DDPM seed (key 1: 0.015 against 0.010), so it is not asked to be.
    assert np.all(floor < 0.5 * gaussian), (floor, gaussian)


def test_floor_is_the_data_itself(result):
    floor = result["metrics"][generative_2d.FLOOR]
    assert np.all(floor["modes_covered"] == 8)
    # Four mode stds out, the data leaves a mode with probability 3e-4.
    assert np.all(floor["off_mode_fraction"] < 0.005)
    np.testing.assert_allclose(floor["mode_mass"].sum(axis=1), 1.0, atol=0.005)


def test_every_method_has_a_row_and_a_panel(result, tmp_path):
    rows = generative_2d.table_rows("eight_gaussians", result)
    assert [row["method"] for row in rows] == [
        DDPM,
        "diffusion DDIM-10",
        generative_2d.DDIM_CLIPPED,
        generative_2d.GAUSSIAN,
        generative_2d.FLOOR,
    ]
    assert rows[0]["train s"] != "-" and rows[-1]["train s"] == "-"
    assert rows[0]["modes covered (of 8)"].value == pytest.approx(
        float(np.mean(result["metrics"][DDPM]["modes_covered"]))
    )
    # The constant observation's std of 0 is floored at min_std.
    np.testing.assert_allclose(
        result["train"]["diffusion"]["normalizer obs_std"], [[0.01], [0.01]]
    )
    path = metrics.plot_scatter_grid(
        {"eight_gaussians": result["samples"]}, tmp_path / "s.png"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_clipped_sampler_bounds_its_estimates(result):
    # Clipping x0 at 3 (normalized units) keeps DDIM's first step, which
    # divides by sqrt(alpha_T) ~ 5e-4, from throwing samples far out.
    clipped = result["samples"][generative_2d.DDIM_CLIPPED]
    assert np.all(np.isfinite(clipped))
    assert np.max(np.abs(clipped)) < 3.5 * np.max(np.abs(result["samples"]["data"]))
