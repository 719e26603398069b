"""Diffusion: the shared DDPM core (Bishop Algorithms 20.1/20.2) and its learner.

`make(DiffusionConfig(...), observation_size=..., action_size=...)` builds a
conditional DDPM policy; `schedule` and `core` hold the pieces every
diffusion user shares (noise schedules, the training loss, the DDPM and DDIM
samplers, the parameter average).
"""

from ilax.algorithms.diffusion.config import DiffusionConfig
from ilax.algorithms.diffusion.core import (
    NoisePredictor,
    ddim_sample,
    ddim_timesteps,
    ddpm_sample,
    ema_update,
    noise_prediction_loss,
)
from ilax.algorithms.diffusion.learner import TrainState, make, make_schedule
from ilax.algorithms.diffusion.schedule import (
    Schedule,
    alpha_at,
    beta_at,
    cosine_schedule,
    from_betas,
    linear_schedule,
)

__all__ = [
    "DiffusionConfig",
    "NoisePredictor",
    "Schedule",
    "TrainState",
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
