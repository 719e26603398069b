"""Metrics: episode results and statistics over episodes and seeds."""

from ilax.metrics.episodes import episode_values, summarize
from ilax.metrics.statistics import bootstrap_ci

__all__ = ["bootstrap_ci", "episode_values", "summarize"]
