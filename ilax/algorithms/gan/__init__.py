"""Conditional GAN: `make(GANConfig(...), observation_size=..., action_size=...)`.

`losses` holds the game's losses on discriminator logits
(`discriminator_loss`, `minimax_generator_loss`,
`non_saturating_generator_loss`), written with log-sigmoid.
"""

from ilax.algorithms.gan.config import GENERATOR_LOSSES, GANConfig
from ilax.algorithms.gan.learner import TrainState, make
from ilax.algorithms.gan.losses import (
    discriminator_loss,
    minimax_generator_loss,
    non_saturating_generator_loss,
)

__all__ = [
    "GENERATOR_LOSSES",
    "GANConfig",
    "TrainState",
    "discriminator_loss",
    "make",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
]
