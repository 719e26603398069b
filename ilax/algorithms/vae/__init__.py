"""Conditional VAE: `make(VAEConfig(...), observation_size=..., action_size=...)`.

`losses` holds the negative ELBO's pieces (`gaussian_kl`, `reconstruction_nll`,
`reparameterize`, `negative_elbo`) for any encoder and decoder.
"""

from ilax.algorithms.vae.config import VAEConfig
from ilax.algorithms.vae.learner import TrainState, make
from ilax.algorithms.vae.losses import (
    gaussian_kl,
    negative_elbo,
    reconstruction_nll,
    reparameterize,
)

__all__ = [
    "TrainState",
    "VAEConfig",
    "gaussian_kl",
    "make",
    "negative_elbo",
    "reconstruction_nll",
    "reparameterize",
]
