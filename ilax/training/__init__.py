"""The host side of training: the loop, checkpoints and data-parallel sharding."""

from ilax.training.checkpoints import (
    Checkpointer,
    CheckpointError,
    CheckpointMismatchError,
)
from ilax.training.loop import NonFiniteError, seed_keys, train

__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "Checkpointer",
    "NonFiniteError",
    "seed_keys",
    "train",
]
