"""ACT, action chunking with transformers: `make(ACTConfig(...), ...)`.

A transformer CVAE that predicts a flattened chunk of `chunk_size` actions
from a flat observation (Zhao et al. 2023); `chunk_loss` is its L1 + beta KL
loss.
"""

from ilax.algorithms.act.config import LOSSES, ACTConfig
from ilax.algorithms.act.learner import TrainState, chunk_loss, make

__all__ = ["LOSSES", "ACTConfig", "TrainState", "chunk_loss", "make"]
