"""Diffusion policies, registered as `diffusion`, and the one DDPM core.

`make(DiffusionConfig(...), observation_size=..., action_size=...)` builds a
conditional DDPM policy (Diffusion Policy with the U-Net denoiser and a chunk
config); `schedule` and `core` hold the pieces every diffusion user shares
(Bishop Algorithms 20.1/20.2: noise schedules, the training loss, the DDPM
and DDIM samplers, the parameter average).
"""

from ilax.algorithms import registry
from ilax.algorithms.diffusion.config import DiffusionConfig, DiffusionTrainConfig
from ilax.algorithms.diffusion.core import (
    NoisePredictor,
    ddim_sample,
    ddim_timesteps,
    ddpm_sample,
    ema_update,
    noise_prediction_loss,
)
from ilax.algorithms.diffusion.learner import DiffusionState, make, make_schedule
from ilax.algorithms.diffusion.schedule import (
    Schedule,
    alpha_at,
    beta_at,
    cosine_schedule,
    from_betas,
    linear_schedule,
)
from ilax.training import offline

ALGORITHM = registry.register(
    offline.algorithm("diffusion", DiffusionTrainConfig, make, "diffusion/loss")
)

__all__ = [
    "ALGORITHM",
    "DiffusionConfig",
    "DiffusionState",
    "DiffusionTrainConfig",
    "NoisePredictor",
    "Schedule",
    "alpha_at",
    "beta_at",
    "cosine_schedule",
    "ddim_sample",
    "ddim_timesteps",
    "ddpm_sample",
    "ema_update",
    "from_betas",
    "linear_schedule",
    "make",
    "make_schedule",
    "noise_prediction_loss",
]
