"""Conditional GAN policies, registered as `gan` (offline, optionally chunked).

`make(GANConfig(...), observation_size=..., action_size=...)` is the learner;
`losses` holds the game's losses on discriminator logits
(`discriminator_loss`, `minimax_generator_loss`,
`non_saturating_generator_loss`), written with log-sigmoid.
"""

from ilax.algorithms import registry
from ilax.algorithms.gan.config import GENERATOR_LOSSES, GANConfig, GANTrainConfig
from ilax.algorithms.gan.learner import PLAYERS, make
from ilax.algorithms.gan.losses import (
    discriminator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
)
from ilax.training import offline

ALGORITHM = registry.register(
    offline.algorithm("gan", GANTrainConfig, make, "gan/generator_loss")
)

__all__ = [
    "ALGORITHM",
    "GENERATOR_LOSSES",
    "PLAYERS",
    "GANConfig",
    "GANTrainConfig",
    "discriminator_loss",
    "make",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
]
