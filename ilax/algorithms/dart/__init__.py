"""DART, noise injected into the expert's executed actions, registered as `dart`.

`DartConfig` is the run; `collection_rule` the noisy expert it collects
with, on the shared expert-in-the-loop trainer of `ilax.training.interactive`
(`make_trainer(config, env, expert)` builds it with behavior cloning).
"""

from ilax.algorithms import bc, registry
from ilax.algorithms.dart.collection import collection_rule, learner_error_std
from ilax.algorithms.dart.config import NOISE_RULES, DartConfig
from ilax.training import interactive

ALGORITHM = registry.register(
    interactive.algorithm("dart", DartConfig, bc.make, collection_rule, "bc/loss")
)
make_trainer = ALGORITHM.make_trainer

__all__ = [
    "ALGORITHM",
    "NOISE_RULES",
    "DartConfig",
    "collection_rule",
    "learner_error_std",
    "make_trainer",
]
