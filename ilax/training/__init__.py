"""Training: the trainers, the loops that drive them, checkpoints.

Pure parts, used inside `jit`: `offline` and `interactive` (the `Trainer`
factories every algorithm builds on), `updates.scan_updates` (a block of
learner updates), `evaluation` (a policy's rollouts), `seeds` (whole runs of
S seeds as one program). The impure shell: `loop.run` (the host loop:
logging, evaluation, checkpoints, resuming) and `checkpoints`.

Names are imported on first use, so that the pure modules do not pull in
orbax and the host loop's other dependencies.
"""

import importlib

_EXPORTS = {
    "run": "ilax.training.loop",
    "restore": "ilax.training.loop",
    "seed_keys": "ilax.training.loop",
    "NonFiniteError": "ilax.training.loop",
    "Checkpointer": "ilax.training.checkpoints",
    "CheckpointError": "ilax.training.checkpoints",
    "CheckpointMismatchError": "ilax.training.checkpoints",
    "run_rounds": "ilax.training.seeds",
    "run_seeds": "ilax.training.seeds",
    "scan_updates": "ilax.training.updates",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ilax.training' has no attribute {name!r}")
