"""Learning curves over seeds and sample scatters as PNGs (results/<name>/*.png).

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


def plot_scatter_grid(
    grid: Mapping[str, Mapping[str, np.ndarray]],
    path: str | os.PathLike,
    *,
    max_points: int = 2000,
    reference: str = "data",
    cell_inches: float = 2.4,
    dpi: int = 100,
) -> pathlib.Path:
    """Writes a grid of 2-D scatter plots to a PNG: rows, then their columns.

    Args:
      grid: row name -> column name -> points `[N, 2]` (columns in the order
        of the first row; a missing cell stays empty). Every row's axes span
        its `reference` column's points with a margin.
      path: the PNG to write; missing parent folders are created.
      max_points: points drawn per cell at most.
      reference: the column drawn in black that sets each row's limits.
      cell_inches: width and height of a cell.
      dpi: pixels per inch.

    Returns:
      `path` as a `pathlib.Path`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = list(dict.fromkeys(c for row in grid.values() for c in row))
    figure = Figure(
        figsize=(cell_inches * len(columns), cell_inches * len(grid)),
        dpi=dpi,
        layout="constrained",
    )
    FigureCanvasAgg(figure)
    axes_grid = figure.subplots(len(grid), len(columns), squeeze=False)
    for row_index, (row, cells) in enumerate(grid.items()):
        limits = np.asarray(cells[reference])
        low, high = limits.min(axis=0), limits.max(axis=0)
        margin = 0.15 * (high - low)
        for column_index, column in enumerate(columns):
            axes = axes_grid[row_index, column_index]
            points = cells.get(column)
            if points is not None:
                points = np.asarray(points)[:max_points]
                color = "black" if column == reference else f"C{column_index}"
                axes.scatter(points[:, 0], points[:, 1], s=1, color=color, alpha=0.5)
            axes.set(
                xlim=(low[0] - margin[0], high[0] + margin[0]),
                ylim=(low[1] - margin[1], high[1] + margin[1]),
                xticks=[],
                yticks=[],
            )
            axes.set_aspect("equal")
            if row_index == 0:
                axes.set_title(column, fontsize=9)
            if column_index == 0:
                axes.set_ylabel(row)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Software": None})
    return path
