"""The conditional VAE's settings: the learner's, and an offline run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.base import LearnerConfig
from ilax.algorithms.checks import check_network_fields
from ilax.training.offline import OfflineTrainConfig


@dataclasses.dataclass(kw_only=True)
class VAEConfig(LearnerConfig):
    """A conditional VAE policy: actions decoded from a latent given the state.

    The shared fields (`input`, `normalize`, `min_std`) are `LearnerConfig`'s;
    the normalization fixes the scale the unit-variance likelihood and
    `kl_weight` refer to.
    """

    latent_size: int = 8
    """Width of the latent z (a diagonal Gaussian)."""
    kl_weight: float = 1.0
    """Weight of KL(q(z | x, c) || N(0, I)) in the loss (1 is the ELBO).
    The decoder's likelihood has unit variance in normalized action units,
    so this weight acts like the decoder's noise variance: a latent direction
    pays for itself only where the data varies more than that along it. The
    normalized actions have unit variance per dimension, so at 1 a 1-D
    action sits on that threshold and the posterior tends to collapse onto
    the prior (the policy then predicts the mean, like BC-MSE); values below
    1 (0.1 in the tests) keep the modes. ACT uses 10 with an L1 loss summed
    over a whole action chunk, a different scale."""
    hidden_sizes: tuple[int, ...] = (128, 128)
    """Widths of the encoder's and the decoder's hidden layers."""
    activation: str = "relu"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    learning_rate: float = 1e-3
    """Adam(W) step size."""
    weight_decay: float = 0.0
    """Decoupled (AdamW) weight decay; 0 is plain Adam."""
    prior_sample: bool = True
    """Act with z ~ N(0, I), one draw per environment and step (a sample of
    the learned distribution); False decodes z = 0, the prior's mean (ACT's
    inference rule, deterministic)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        owner = type(self).__name__
        check_network_fields(self)
        if not isinstance(self.latent_size, int):
            raise ValueError(
                f"{owner}.latent_size must be a positive int; got {self.latent_size!r}"
            )
        config_lib.check_fields(
            self,
            positive=("latent_size", "learning_rate"),
            non_negative=("kl_weight", "weight_decay"),
        )


@dataclasses.dataclass(kw_only=True)
class CVAETrainConfig(OfflineTrainConfig):
    """A conditional VAE policy trained offline on demonstrations."""

    learner: VAEConfig = dataclasses.field(default_factory=VAEConfig)
    """The conditional VAE learner."""
