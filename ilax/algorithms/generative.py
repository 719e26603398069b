"""Generative policies as offline `Trainer`s: `diffusion`, `cvae`, `gan`, `act`.

Each is the shared offline trainer (`ilax.algorithms.offline`) with one
learner; its `chunk` field turns it into a chunked policy (observation
history, action chunks, receding horizon or temporal ensembling). The
`diffusion` learner with a chunk config and the U-Net denoiser is Diffusion
Policy (Chi et al. 2023); `act` is ACT (Zhao et al. 2023), by default with
20-action chunks and temporal ensembling.
"""

import dataclasses
import functools

from ilax.algorithms import act, diffusion, gan, offline, registry, vae
from ilax.algorithms.act.config import ACTConfig
from ilax.algorithms.diffusion.config import DiffusionConfig
from ilax.algorithms.gan.config import GANConfig
from ilax.algorithms.vae.config import VAEConfig
from ilax.chunking import ChunkConfig


def _chunk_field():
    return dataclasses.field(default_factory=ChunkConfig)


@dataclasses.dataclass(kw_only=True)
class DiffusionTrainConfig(offline.OfflineTrainConfig):
    """A conditional DDPM policy trained offline on demonstrations."""

    learner: DiffusionConfig = dataclasses.field(default_factory=DiffusionConfig)
    """The diffusion learner."""
    chunk: ChunkConfig = _chunk_field()
    """Observation history and action chunks (the default: single steps)."""


@dataclasses.dataclass(kw_only=True)
class CVAETrainConfig(offline.OfflineTrainConfig):
    """A conditional VAE policy trained offline on demonstrations."""

    learner: VAEConfig = dataclasses.field(default_factory=VAEConfig)
    """The conditional VAE learner."""
    chunk: ChunkConfig = _chunk_field()
    """Observation history and action chunks (the default: single steps)."""


@dataclasses.dataclass(kw_only=True)
class GANTrainConfig(offline.OfflineTrainConfig):
    """A conditional GAN policy trained offline on demonstrations."""

    learner: GANConfig = dataclasses.field(default_factory=GANConfig)
    """The conditional GAN learner."""
    chunk: ChunkConfig = _chunk_field()
    """Observation history and action chunks (the default: single steps)."""


@dataclasses.dataclass(kw_only=True)
class ACTTrainConfig(offline.OfflineTrainConfig):
    """ACT (transformer CVAE over action chunks) trained offline."""

    learner: ACTConfig = dataclasses.field(default_factory=ACTConfig)
    """The ACT learner; its `chunk_size` must equal `chunk.prediction_horizon`."""
    chunk: ChunkConfig = dataclasses.field(
        default_factory=lambda: ChunkConfig(
            prediction_horizon=20, action_horizon=1, temporal_ensembling=True
        )
    )
    """Observation history and chunk execution (ACT: one observation,
    chunks of k = 20, temporal ensembling with m = 0.01)."""


def _make_act_trainer(config: ACTTrainConfig, env, expert):
    if config.learner.chunk_size != config.chunk.prediction_horizon:
        raise ValueError(
            f"ACTTrainConfig: learner.chunk_size ({config.learner.chunk_size}) must "
            f"equal chunk.prediction_horizon ({config.chunk.prediction_horizon})"
        )
    return offline.make_trainer(config, env, expert, act.make)


registry.register("act", ACTTrainConfig, _make_act_trainer)
for _name, _config_cls, _make in (
    ("diffusion", DiffusionTrainConfig, diffusion.make),
    ("cvae", CVAETrainConfig, vae.make),
    ("gan", GANTrainConfig, gan.make),
):
    registry.register(
        _name, _config_cls, functools.partial(offline.make_trainer, make=_make)
    )
