"""Curve plots: a real PNG of the requested size, the same bytes each time."""

import numpy as np
import pytest
from matplotlib import image

from ilax.metrics import Estimate, plot_curves

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _curves():
    x = np.array([1.0, 10.0, 100.0])
    seeds = np.random.default_rng(0).normal(np.log10(x), 0.1, (5, 3)) + 2.0
    estimates = [Estimate(v, v - 0.2, v + 0.2, 5) for v in (1.0, 1.5, 1.8)]
    return {"bc": (x, seeds), "dagger": (x, estimates)}


def test_plot_writes_a_png_of_the_requested_size(tmp_path):
    path = tmp_path / "new" / "curves.png"
    kwargs = dict(xlabel="demos", ylabel="return", title="kart", log_x=True)
    written = plot_curves(_curves(), path=path, **kwargs)
    assert written == path
    data = path.read_bytes()
    assert data[:8] == _PNG_SIGNATURE
    pixels = image.imread(path)
    # figsize (6, 4) inches at 100 dpi, RGBA.
    assert pixels.shape == (400, 600, 4)
    assert np.ptp(pixels[..., :3]) > 0.5  # lines were drawn, not a blank canvas
    again = plot_curves(_curves(), path=tmp_path / "again.png", **kwargs)
    assert again.read_bytes() == data


def test_plot_rejects_bad_curves(tmp_path):
    kwargs = dict(xlabel="x", ylabel="y", title="t", path=tmp_path / "bad.png")
    with pytest.raises(ValueError, match="at least one arm"):
        plot_curves({}, **kwargs)
    with pytest.raises(ValueError, match=r"'bc' must give .*\[seeds, 3\]"):
        plot_curves({"bc": ([1, 2, 3], np.zeros((4, 2)))}, **kwargs)
    with pytest.raises(ValueError, match=r"'bc' needs a non-empty 1-D x"):
        plot_curves({"bc": ([], np.zeros((4, 0)))}, **kwargs)
    with pytest.raises(ValueError, match="'bc' has 2 x values and 1 estimates"):
        plot_curves({"bc": ([1, 2], [Estimate(1.0, 0.0, 2.0, 3)])}, **kwargs)
    assert not (tmp_path / "bad.png").exists()
