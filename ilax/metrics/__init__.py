"""Metrics: episode results, statistics over seeds, sample quality, tables, plots."""

from ilax.metrics.episodes import (
    episode_values,
    first_episode,
    pooled_rate,
    summarize,
)
from ilax.metrics.plots import plot_curves, plot_scatter_grid
from ilax.metrics.sample_quality import (
    energy_distance,
    median_bandwidths,
    mmd_rbf,
    mode_coverage,
    mode_fractions,
    mode_mass,
    mode_switch_rate,
    moment_matched_gaussian,
    off_mode_fraction,
    sample_report,
    sliced_wasserstein,
)
from ilax.metrics.statistics import Estimate, bootstrap_ci, iqm, summarize_over_seeds
from ilax.metrics.tables import Table, format_estimate, latex_table, markdown_table

__all__ = [
    "Estimate",
    "Table",
    "bootstrap_ci",
    "energy_distance",
    "episode_values",
    "first_episode",
    "format_estimate",
    "iqm",
    "latex_table",
    "markdown_table",
    "median_bandwidths",
    "mmd_rbf",
    "mode_coverage",
    "mode_fractions",
    "mode_mass",
    "mode_switch_rate",
    "moment_matched_gaussian",
    "off_mode_fraction",
    "plot_curves",
    "plot_scatter_grid",
    "pooled_rate",
    "sample_report",
    "sliced_wasserstein",
    "summarize",
    "summarize_over_seeds",
]
