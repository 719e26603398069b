"""DAgger with the expert in the loop, one jittable iteration at a time."""

from ilax.algorithms.dagger.config import BETA_SCHEDULES, DaggerConfig
from ilax.algorithms.dagger.learner import beta, beta_mixture, make_trainer

__all__ = ["BETA_SCHEDULES", "DaggerConfig", "beta", "beta_mixture", "make_trainer"]
