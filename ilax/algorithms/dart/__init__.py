"""DART: noise injected into the expert's executed actions, labels kept clean."""

from ilax.algorithms.dart.config import NOISE_RULES, DartConfig
from ilax.algorithms.dart.learner import learner_error_std, make_trainer

__all__ = ["DartConfig", "NOISE_RULES", "learner_error_std", "make_trainer"]
