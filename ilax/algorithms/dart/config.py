"""DART's settings: the shared iteration settings, its learner, the noise rule."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.bc.config import BCConfig
from ilax.training.interactive import InteractiveConfig

NOISE_RULES = ("fixed", "learner_error")


@dataclasses.dataclass(kw_only=True)
class DartConfig(InteractiveConfig):
    """DART (Laskey et al. 2017): the expert drives with noise, labels stay clean."""

    learner: BCConfig = dataclasses.field(default_factory=BCConfig)
    """The behavior cloning learner refitted every iteration."""
    noise_rule: str = "fixed"
    """`fixed` (noise_std on every action dimension) or `learner_error` (the
    paper's rule: the noise variance of each action dimension is the current
    learner's mean squared error against the expert's labels on the latest
    iteration's data, re-estimated after every refit)."""
    noise_std: float = 0.3
    """Standard deviation of the fixed rule, in action units (0.3 rad/s =
    0.12 of the kart's steering range)."""

    def check(self) -> None:
        super().check()
        config_lib.check_choice(
            "DartConfig", "noise_rule", self.noise_rule, NOISE_RULES
        )
        config_lib.check_non_negative("DartConfig", "noise_std", self.noise_std)
