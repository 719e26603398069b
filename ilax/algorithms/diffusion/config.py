"""The diffusion policy's settings: the learner's, and an offline run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.base import LearnerConfig
from ilax.algorithms.checks import check_network_fields
from ilax.training.offline import OfflineTrainConfig

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddpm", "ddim")
DENOISERS = ("mlp", "unet")

# The largest alpha_T accepted: sqrt(0.02) = 0.14, so the data still visible
# in z_T is at most a seventh of its scale and starting from N(0, I) is sound.
MAX_FINAL_ALPHA = 0.02


@dataclasses.dataclass(kw_only=True)
class DiffusionConfig(LearnerConfig):
    """A conditional DDPM policy: actions denoised from N(0, I) given the state.

    The shared fields (`input`, `normalize`, `min_std`) are `LearnerConfig`'s;
    the normalization makes the data match the N(0, I) the chain starts from.
    """

    num_steps: int = 100
    """T, the diffusion steps of training and of the `ddpm` sampler."""
    schedule: str = "cosine"
    """`cosine` (Nichol & Dhariwal, Diffusion Policy's choice at T = 100) or
    `linear` (Ho et al.; `beta_start` to `beta_end`)."""
    beta_start: float = 1e-4
    """beta_1 of the `linear` schedule. Ho et al.'s 1e-4 and 0.02 suit
    T = 1000; at T = 100 use 1e-3 and 0.2 (the check below refuses a
    schedule whose alpha_T exceeds 0.02)."""
    beta_end: float = 0.02
    """beta_T of the `linear` schedule."""
    denoiser: str = "mlp"
    """The noise predictor: `mlp` (on the flattened action) or `unet`
    (Diffusion Policy's 1-D temporal U-Net over the steps of the predicted
    action chunk: the learner's `horizon`, the run's prediction horizon)."""
    hidden_sizes: tuple[int, ...] = (256, 256)
    """Widths of the MLP denoiser's hidden layers."""
    time_embedding: int = 64
    """Width of the sinusoidal embedding of the diffusion step (even)."""
    activation: str = "silu"
    """Hidden-layer activation of the MLP denoiser: relu, tanh, gelu, silu or
    elu."""
    down_sizes: tuple[int, ...] = (64, 128, 256)
    """Channels of the U-Net's levels, finest first; each level after the
    first halves the (zero-padded) horizon. Chi et al. use (256, 512, 1024)."""
    kernel_size: int = 5
    """Width of the U-Net's temporal convolutions."""
    groups: int = 8
    """GroupNorm groups of the U-Net; must divide every entry of `down_sizes`."""
    learning_rate: float = 1e-3
    """Adam(W) step size."""
    weight_decay: float = 0.0
    """Decoupled (AdamW) weight decay; 0 is plain Adam."""
    ema_decay: float = 0.995
    """Decay of the exponential moving average of the parameters that the
    policy samples with (0 samples with the latest parameters)."""
    sampler: str = "ddpm"
    """`ddpm` (Algorithm 20.2, T network calls per action) or `ddim`
    (deterministic, `ddim_steps` calls)."""
    ddim_steps: int = 10
    """Network evaluations of the `ddim` sampler, in 1..num_steps."""
    ddim_clip_x0: float = 0.0
    """If > 0, the `ddim` sampler clips every estimate of the clean sample to
    [-ddim_clip_x0, ddim_clip_x0] (normalized units) and recomputes the noise
    from it; 0 does not clip. Not DDIM proper: at t = T the cosine schedule's
    sqrt(alpha_T) is ~5e-4, so without a bound a small error of the learned
    noise becomes a huge first estimate (see `core.ddim_sample`)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        owner = type(self).__name__
        config_lib.check_choice(owner, "schedule", self.schedule, SCHEDULES)
        config_lib.check_choice(owner, "sampler", self.sampler, SAMPLERS)
        config_lib.check_choice(owner, "denoiser", self.denoiser, DENOISERS)
        check_network_fields(self)
        config_lib.check_fields(
            self,
            positive=(
                "num_steps",
                "time_embedding",
                "learning_rate",
                "ddim_steps",
                "kernel_size",
                "groups",
            ),
            non_negative=("weight_decay", "ddim_clip_x0"),
        )
        if self.time_embedding % 2:
            raise ValueError(
                f"{owner}.time_embedding must be even; got {self.time_embedding}"
            )
        if not self.down_sizes or not all(
            isinstance(c, int) and c > 0 for c in self.down_sizes
        ):
            raise ValueError(
                f"{owner}.down_sizes must be positive ints, at least one; got "
                f"{self.down_sizes!r}"
            )
        if any(c % self.groups for c in self.down_sizes):
            raise ValueError(
                f"{owner}.groups must divide every entry of down_sizes "
                f"{tuple(self.down_sizes)}; got {self.groups}"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(
                f"{owner}.ema_decay must be in [0, 1); got {self.ema_decay!r}"
            )
        if self.sampler == "ddim" and self.ddim_steps > self.num_steps:
            raise ValueError(
                f"{owner}.ddim_steps must be <= num_steps ({self.num_steps}); got "
                f"{self.ddim_steps}"
            )
        if self.schedule == "linear":
            for field in ("beta_start", "beta_end"):
                value = getattr(self, field)
                if not 0.0 < value < 1.0:
                    raise ValueError(
                        f"{owner}.{field} must be in (0, 1); got {value!r}"
                    )


@dataclasses.dataclass(kw_only=True)
class DiffusionTrainConfig(OfflineTrainConfig):
    """A conditional DDPM policy trained offline on demonstrations.

    With a chunk config (To, Tp, Ta) and the U-Net denoiser this is Diffusion
    Policy (Chi et al. 2023).
    """

    learner: DiffusionConfig = dataclasses.field(default_factory=DiffusionConfig)
    """The diffusion learner."""
