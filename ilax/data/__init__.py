"""Demonstrations: collection, the in-memory dataset, sampling and files."""

from ilax.data.collect import collect, collect_successful, collect_trajectory
from ilax.data.dataset import (
    Dataset,
    DatasetError,
    episodes,
    from_episodes,
    from_trajectory,
    sample_batch,
    sample_windows,
    validate,
    windows_at,
)
from ilax.data.hdf5 import load, load_metadata, save
from ilax.data.normalizer import Normalizer, denormalize, fit_normalizer, normalize

__all__ = [
    "Dataset",
    "DatasetError",
    "Normalizer",
    "collect",
    "collect_successful",
    "collect_trajectory",
    "denormalize",
    "episodes",
    "fit_normalizer",
    "from_episodes",
    "from_trajectory",
    "load",
    "load_metadata",
    "normalize",
    "sample_batch",
    "sample_windows",
    "windows_at",
    "save",
    "validate",
]
