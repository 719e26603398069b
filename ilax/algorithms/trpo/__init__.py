"""Trust region policy optimization, registered as `trpo` (on-policy, no expert).

`make(TRPOConfig(...), observation_size=..., action_size=...,
action_bounds=...)` is the `PolicyLearner`; `TRPOTrainConfig` the on-policy
run the command line trains (`python -m ilax.train --algo=trpo`). GAIL's
paper takes its policy steps with it.
"""

from ilax.algorithms import registry
from ilax.algorithms.trpo.config import TRPOConfig, TRPOTrainConfig
from ilax.algorithms.trpo.learner import conjugate_gradient, gaussian_kl, make
from ilax.training import onpolicy

ALGORITHM = registry.register(
    onpolicy.algorithm("trpo", TRPOTrainConfig, make, "trpo/surrogate_gain")
)

__all__ = [
    "ALGORITHM",
    "TRPOConfig",
    "TRPOTrainConfig",
    "conjugate_gradient",
    "gaussian_kl",
    "make",
]
