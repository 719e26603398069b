"""DAgger with the expert in the loop, registered as `dagger`.

`DaggerConfig` is the run; `collection_rule` the beta-mixture it collects
with, on the shared expert-in-the-loop trainer of `ilax.training.interactive`
(`make_trainer(config, env, expert)` builds it with behavior cloning).
"""

from ilax.algorithms import bc, registry
from ilax.algorithms.dagger.collection import beta, beta_mixture, collection_rule
from ilax.algorithms.dagger.config import BETA_SCHEDULES, DaggerConfig
from ilax.training import interactive

ALGORITHM = registry.register(
    interactive.algorithm("dagger", DaggerConfig, bc.make, collection_rule, "bc/loss")
)
make_trainer = ALGORITHM.make_trainer

__all__ = [
    "ALGORITHM",
    "BETA_SCHEDULES",
    "DaggerConfig",
    "beta",
    "beta_mixture",
    "collection_rule",
    "make_trainer",
]
