"""Behavior cloning, registered as `bc` (offline, optionally over action chunks).

`make(BCConfig(...), observation_size=..., action_size=...)` is the learner;
`BCTrainConfig` the offline run the command line and experiments train.
"""

from ilax.algorithms import registry
from ilax.algorithms.bc.config import LOSSES, BCConfig, BCTrainConfig
from ilax.algorithms.bc.learner import make
from ilax.algorithms.bc.losses import gaussian_nll, mixture_nll, mse_loss
from ilax.training import offline

ALGORITHM = registry.register(offline.algorithm("bc", BCTrainConfig, make, "bc/loss"))

__all__ = [
    "ALGORITHM",
    "LOSSES",
    "BCConfig",
    "BCTrainConfig",
    "gaussian_nll",
    "make",
    "mixture_nll",
    "mse_loss",
]
