"""The conditional GAN's settings: the learner's, and an offline run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.base import LearnerConfig
from ilax.algorithms.checks import check_network_fields
from ilax.training.offline import OfflineTrainConfig

GENERATOR_LOSSES = ("non_saturating", "minimax")


@dataclasses.dataclass(kw_only=True)
class GANConfig(LearnerConfig):
    """A conditional GAN policy: actions generated from noise given the state.

    The shared fields (`input`, `normalize`, `min_std`) are `LearnerConfig`'s;
    the normalization gives the generator's targets unit scale, like z.
    """

    noise_size: int = 8
    """Width of the generator's noise input z ~ N(0, I)."""
    generator_loss: str = "non_saturating"
    """`non_saturating` (-E log d(c, g(c, z)), strong gradients while the
    discriminator rejects the samples) or `minimax` (E log(1 - d(c, g(c, z))),
    the game's own objective, whose gradient vanishes in that case)."""
    discriminator_steps: int = 1
    """Discriminator steps before each generator step, within one `update`."""
    hidden_sizes: tuple[int, ...] = (128, 128)
    """Widths of the generator's and the discriminator's hidden layers."""
    activation: str = "relu"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    generator_learning_rate: float = 1e-3
    """The generator's Adam step size."""
    discriminator_learning_rate: float = 1e-3
    """The discriminator's Adam step size."""
    adam_b1: float = 0.5
    """Adam's first-moment decay for both players; 0.5 (Radford et al.'s
    DCGAN choice) rather than 0.9 damps the momentum that makes the two
    players overshoot each other."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        owner = type(self).__name__
        config_lib.check_choice(
            owner, "generator_loss", self.generator_loss, GENERATOR_LOSSES
        )
        check_network_fields(self)
        for field in ("noise_size", "discriminator_steps"):
            value = getattr(self, field)
            if not (isinstance(value, int) and value > 0):
                raise ValueError(
                    f"{owner}.{field} must be a positive int; got {value!r}"
                )
        config_lib.check_fields(
            self,
            positive=("generator_learning_rate", "discriminator_learning_rate"),
        )
        if not 0.0 <= self.adam_b1 < 1.0:
            raise ValueError(f"{owner}.adam_b1 must be in [0, 1); got {self.adam_b1!r}")


@dataclasses.dataclass(kw_only=True)
class GANTrainConfig(OfflineTrainConfig):
    """A conditional GAN policy trained offline on demonstrations."""

    learner: GANConfig = dataclasses.field(default_factory=GANConfig)
    """The conditional GAN learner."""
