"""Metrics: episode results, statistics over seeds, result tables and plots."""

from ilax.metrics.episodes import episode_values, pooled_rate, summarize
from ilax.metrics.plots import plot_curves
from ilax.metrics.statistics import Estimate, bootstrap_ci, iqm, summarize_over_seeds
from ilax.metrics.tables import Table, format_estimate, latex_table, markdown_table

__all__ = [
    "Estimate",
    "Table",
    "bootstrap_ci",
    "episode_values",
    "format_estimate",
    "iqm",
    "latex_table",
    "markdown_table",
    "plot_curves",
    "pooled_rate",
    "summarize",
    "summarize_over_seeds",
]
