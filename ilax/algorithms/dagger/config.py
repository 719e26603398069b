"""DAgger's settings: the shared iteration settings, its learner, the beta schedule."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.bc.config import BCConfig
from ilax.training.interactive import InteractiveConfig

BETA_SCHEDULES = ("indicator", "exponential", "expert")


@dataclasses.dataclass(kw_only=True)
class DaggerConfig(InteractiveConfig):
    """DAgger (Ross, Gordon and Bagnell 2011) on batched environments."""

    learner: BCConfig = dataclasses.field(default_factory=BCConfig)
    """The behavior cloning learner refitted every iteration."""
    beta_schedule: str = "indicator"
    """Probability that the expert acts while collecting the rows of
    iteration i (the expert's own demonstrations are iteration 0):
    `indicator` (1 at iteration 0, then 0), `exponential` (beta_decay ** i)
    or `expert` (always 1: behavior cloning with the same label budget)."""
    beta_decay: float = 0.5
    """The base p of the exponential schedule, in (0, 1)."""

    def check(self) -> None:
        super().check()
        config_lib.check_choice(
            "DaggerConfig", "beta_schedule", self.beta_schedule, BETA_SCHEDULES
        )
        if not 0.0 < self.beta_decay < 1.0:
            raise ValueError(
                f"DaggerConfig.beta_decay: expected a value in (0, 1); got "
                f"{self.beta_decay}"
            )
