"""Behavior cloning: `make(BCConfig(...), observation_size=..., action_size=...)`."""

from ilax.algorithms.bc.config import BCConfig
from ilax.algorithms.bc.learner import (
    Normalizer,
    TrainState,
    check_batch,
    denormalize,
    fit_normalizer,
    make,
    normalize,
)
from ilax.algorithms.bc.losses import gaussian_nll, mixture_nll, mse_loss

__all__ = [
    "BCConfig",
    "Normalizer",
    "TrainState",
    "check_batch",
    "denormalize",
    "fit_normalizer",
    "gaussian_nll",
    "make",
    "mixture_nll",
    "mse_loss",
    "normalize",
]
