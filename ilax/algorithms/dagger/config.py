"""DAgger's settings: the shared iteration settings plus the beta schedule."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.interactive import InteractiveConfig

BETA_SCHEDULES = ("indicator", "exponential", "expert")


@dataclasses.dataclass(kw_only=True)
class DaggerConfig(InteractiveConfig):
    """DAgger (Ross, Gordon and Bagnell 2011) on batched environments."""

    beta_schedule: str = "indicator"
    """Probability that the expert acts at iteration i: `indicator` (1 at
    iteration 0, then 0), `exponential` (beta_decay ** i) or `expert` (always
    1: behavior cloning with the same label budget)."""
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
