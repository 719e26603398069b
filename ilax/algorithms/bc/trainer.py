"""Offline behavior cloning as a `Trainer` (registered as `bc`).

The shared offline trainer (`ilax.algorithms.offline`) with the BC learner:
fixed demonstrations, chunks of updates, and optionally action chunks
(`chunk`) so that BC-MSE and BC-GMM serve as baselines of chunked policies.
"""

import dataclasses

from ilax import data as data_lib
from ilax.algorithms import offline, registry
from ilax.algorithms.bc.config import BCConfig
from ilax.algorithms.bc.learner import make
from ilax.chunking import ChunkConfig
from ilax.envs.base import Env
from ilax.types import Policy, Trainer

# One seed's run state (kept under its old name for callers of BC).
BCRunState = offline.OfflineRunState


@dataclasses.dataclass(kw_only=True)
class BCTrainConfig(offline.OfflineTrainConfig):
    """Offline behavior cloning on a fixed set of demonstrations."""

    learner: BCConfig = dataclasses.field(default_factory=BCConfig)
    """The behavior cloning learner."""
    chunk: ChunkConfig = dataclasses.field(default_factory=ChunkConfig)
    """Observation history and action chunks (the default: single steps)."""


def make_trainer_from_dataset(
    config: BCTrainConfig, env: Env, dataset: data_lib.Dataset
) -> Trainer:
    """The BC `Trainer` on a given dataset (`make_trainer` collects or loads one).

    Raises:
      ValueError: an invalid config field, or a batch larger than the dataset.
    """
    return offline.make_trainer_from_dataset(config, env, dataset, make)


def make_trainer(config: BCTrainConfig, env: Env, expert: Policy) -> Trainer:
    """Offline BC on `env`: demonstrations of `expert` (or `config.dataset_path`).

    Each chunk is `updates_per_chunk` learner updates on minibatches drawn
    uniformly from the dataset, which is the trainer's `data`, passed to
    `step` as an argument. `evaluate` rolls the learned policy out on
    `eval_envs` environments and returns `eval/<name>` episode means.

    Raises:
      ValueError: an invalid config field, or a batch larger than the dataset.
      DatasetError: an unreadable dataset.
    """
    return offline.make_trainer(config, env, expert, make)


registry.register("bc", BCTrainConfig, make_trainer)
