"""Conditional VAE policies, registered as `cvae` (offline, optionally chunked).

`make(VAEConfig(...), observation_size=..., action_size=...)` is the learner;
`losses` holds the negative ELBO's pieces (`gaussian_kl`, `reconstruction_nll`,
`reparameterize`, `negative_elbo`) for any encoder and decoder.
"""

from ilax.algorithms import registry
from ilax.algorithms.vae.config import CVAETrainConfig, VAEConfig
from ilax.algorithms.vae.learner import make
from ilax.algorithms.vae.losses import (
    gaussian_kl,
    negative_elbo,
    reconstruction_nll,
    reparameterize,
)
from ilax.training import offline

ALGORITHM = registry.register(
    offline.algorithm("cvae", CVAETrainConfig, make, "vae/loss")
)

__all__ = [
    "ALGORITHM",
    "CVAETrainConfig",
    "VAEConfig",
    "gaussian_kl",
    "make",
    "negative_elbo",
    "reconstruction_nll",
    "reparameterize",
]
