"""Behavior cloning: `make(BCConfig(...), observation_size=..., action_size=...)`."""

from ilax.algorithms.bc.config import BCConfig
from ilax.algorithms.bc.learner import TrainState, make
from ilax.algorithms.bc.losses import gaussian_nll, mixture_nll, mse_loss

# The normalizer's home is `ilax.data.normalizer`; re-exported for BC's users.
from ilax.data.normalizer import Normalizer, denormalize, fit_normalizer, normalize

__all__ = [
    "BCConfig",
    "Normalizer",
    "TrainState",
    "denormalize",
    "fit_normalizer",
    "gaussian_nll",
    "make",
    "mixture_nll",
    "mse_loss",
    "normalize",
]
