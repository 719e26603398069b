"""Learning curves over seeds as PNG files (results/<name>/*.png).

Drawn off-screen on a bare `Figure` with the Agg canvas: no display, no
pyplot state shared with the caller, and the same pixels for the same input.
"""

import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from ilax.metrics.statistics import Estimate, summarize_over_seeds

Curve = tuple[Sequence[float], Sequence[Estimate] | np.ndarray]


def _estimates(name: str, x: np.ndarray, y, statistic: str) -> np.ndarray:
    """[len(x), 3] value, low, high of one arm."""
    if len(y) and isinstance(y[0], Estimate):
        table = np.asarray([estimate[:3] for estimate in y], np.float64)
    else:
        y = np.asarray(y, np.float64)
        if y.ndim != 2 or y.shape[0] == 0 or y.shape[1] != x.size:
            raise ValueError(
                f"plot_curves: curve {name!r} must give Estimates or an array of "
                f"shape [seeds, {x.size}]; got shape {y.shape}"
            )
        table = np.asarray(
            [summarize_over_seeds(column, statistic)[:3] for column in y.T]
        )
    if table.shape != (x.size, 3):
        raise ValueError(
            f"plot_curves: curve {name!r} has {x.size} x values and "
            f"{table.shape[0]} estimates"
        )
    return table


def plot_curves(
    curves: Mapping[str, Curve],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    path: str | os.PathLike,
    log_x: bool = False,
    log_y: bool = False,
    statistic: str = "iqm",
    figsize: tuple[float, float] = (6.0, 4.0),
    dpi: int = 100,
) -> pathlib.Path:
    """Writes one line per arm with its shaded 95% bootstrap band to a PNG.

    Args:
      curves: arm name -> (x, y), where y is one `Estimate` per x or an array
        [seeds, len(x)] that is summarized per x with `summarize_over_seeds`.
      xlabel: label of the x axis.
      ylabel: label of the y axis.
      title: title of the plot.
      path: the PNG to write; missing parent folders are created.
      log_x: logarithmic x axis.
      log_y: logarithmic y axis.
      statistic: "iqm" or "mean", for curves given as arrays.
      figsize: size in inches; the PNG is figsize * dpi pixels.
      dpi: pixels per inch.

    Returns:
      `path` as a `pathlib.Path`.

    Raises:
      ValueError: no curves, or a curve whose x and y do not match.
    """
    # Imported here: matplotlib is only needed by code that draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("plot_curves: curves must name at least one arm; got {}")
    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, (x, y) in curves.items():
        x = np.asarray(x, np.float64)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(
                f"plot_curves: curve {name!r} needs a non-empty 1-D x; got shape "
                f"{x.shape}"
            )
        value, low, high = _estimates(name, x, y, statistic).T
        (line,) = axes.plot(x, value, label=name)
        axes.fill_between(x, low, high, color=line.get_color(), alpha=0.2)
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if log_x:
        axes.set_xscale("log")
    if log_y:
        axes.set_yscale("log")
    axes.legend()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No Software/date metadata, so the same curves give the same bytes.
    figure.savefig(path, format="png", metadata={"Software": None})
    return path
