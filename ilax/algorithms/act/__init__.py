"""ACT, action chunking with transformers, registered as `act`.

`make(ACTConfig(...), observation_size=..., action_size=..., horizon=k)` is
a transformer CVAE that predicts a flattened chunk of k actions from a flat
observation (Zhao et al. 2023); `chunk_loss` is its L1 + beta KL loss.
`ACTTrainConfig` trains it offline and, by default, executes its 20-action
chunks with temporal ensembling.
"""

from ilax.algorithms import registry
from ilax.algorithms.act.config import LOSSES, ACTConfig, ACTTrainConfig
from ilax.algorithms.act.learner import chunk_loss, make
from ilax.training import offline

ALGORITHM = registry.register(
    offline.algorithm("act", ACTTrainConfig, make, "act/loss")
)

__all__ = ["ALGORITHM", "LOSSES", "ACTConfig", "ACTTrainConfig", "chunk_loss", "make"]
