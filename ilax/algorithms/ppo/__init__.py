"""Proximal policy optimization, registered as `ppo` (on-policy, no expert).

`make(PPOConfig(...), observation_size=..., action_size=...,
action_bounds=...)` is the `PolicyLearner`; `PPOTrainConfig` the on-policy
run the command line trains (`python -m ilax.train --algo=ppo`).
"""

from ilax.algorithms import registry
from ilax.algorithms.ppo.config import PPOConfig, PPOTrainConfig
from ilax.algorithms.ppo.learner import clipped_surrogate, make, value_loss
from ilax.training import onpolicy

ALGORITHM = registry.register(
    onpolicy.algorithm("ppo", PPOTrainConfig, make, "ppo/loss")
)

__all__ = [
    "ALGORITHM",
    "PPOConfig",
    "PPOTrainConfig",
    "clipped_surrogate",
    "make",
    "value_loss",
]
