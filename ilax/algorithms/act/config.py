"""ACT's settings (Zhao et al. 2023, scaled to ACT-lite): the learner's and a run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.base import LearnerConfig
from ilax.chunking import ChunkConfig
from ilax.training.offline import OfflineTrainConfig

LOSSES = ("l1", "mse")

_INT_FIELDS = (
    "latent_size",
    "model_size",
    "num_heads",
    "feedforward_size",
    "encoder_layers",
    "decoder_layers",
)


@dataclasses.dataclass(kw_only=True)
class ACTConfig(LearnerConfig):
    """A transformer CVAE that predicts a chunk of k actions (ACT).

    k, the actions predicted at once (ACT's `num_queries`, 100 there), is the
    learner's `horizon`: the run's `chunk.prediction_horizon`. The shared
    fields (`input`, `normalize`, `min_std`) are `LearnerConfig`'s; each
    chunk position of each action dimension gets its own statistics.
    """

    latent_size: int = 32
    """Width of the style latent z (ACT: 32); z = 0 at test time."""
    model_size: int = 128
    """d_model, the token width (ACT: 512); divisible by `num_heads`."""
    num_heads: int = 4
    """Attention heads per layer (ACT: 8)."""
    feedforward_size: int = 512
    """Hidden width of the feed-forward blocks (ACT: 3200)."""
    encoder_layers: int = 2
    """Depth of the CVAE encoder and also of the decoder's transformer
    encoder over the memory tokens [obs, z] (ACT: 4 for both)."""
    decoder_layers: int = 2
    """Depth of the transformer decoder over the k queries (ACT: 7)."""
    kl_weight: float = 10.0
    """beta, the weight of KL(q(z | obs, chunk) || N(0, I)) (ACT: 10). The
    reconstruction is a mean per element (at most about 1 in normalized
    units when z carries nothing) while the KL is summed over the latent,
    so at 10 a nat in z must lower the mean per-element error by 10, more
    than it can: the latent tends to collapse. On the tests' style toy
    (a per-demo offset of +-1) KL settles at <2e-5 nats for 10, 0.3 for 1
    and 2.2 for 0.01, the last reconstructing 40 times better."""
    use_cvae: bool = True
    """False drops the encoder (no encoder parameters) and decodes with
    z = 0 in training too; the loss is the reconstruction alone (ACT's
    "no CVAE" ablation)."""
    loss: str = "l1"
    """Reconstruction loss per element: `l1` (ACT's text and code) or `mse`
    (the paper's Algorithm 1)."""
    mask_padding: bool = False
    """True leaves chunk steps past an episode's end out of the
    reconstruction loss and hides them from the CVAE encoder's attention, as
    ACT's code does (its episodes run to a fixed length, so little is
    padded). False trains on the padding, the episode's last action
    repeated, as Diffusion Policy does: on slot, whose episodes end at the
    insertion, masking took human-demo success at k = 100 from 0.47 to
    0.15 (`results/act_chunking_masked/`)."""
    learning_rate: float = 1e-4
    """AdamW step size (ACT: 1e-5 at batch 8)."""
    weight_decay: float = 1e-4
    """AdamW decoupled weight decay (ACT: 1e-4)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        owner = type(self).__name__
        for field in _INT_FIELDS:
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"{owner}.{field} must be a positive int; got {value!r}"
                )
        if self.model_size % self.num_heads:
            raise ValueError(
                f"{owner}.model_size must be divisible by num_heads "
                f"({self.num_heads}); got {self.model_size}"
            )
        config_lib.check_choice(owner, "loss", self.loss, LOSSES)
        config_lib.check_fields(
            self,
            positive=("learning_rate",),
            non_negative=("kl_weight", "weight_decay"),
        )


@dataclasses.dataclass(kw_only=True)
class ACTTrainConfig(OfflineTrainConfig):
    """ACT (transformer CVAE over action chunks) trained offline."""

    learner: ACTConfig = dataclasses.field(default_factory=ACTConfig)
    """The ACT learner; its chunk size k is `chunk.prediction_horizon`."""
    chunk: ChunkConfig = dataclasses.field(
        default_factory=lambda: ChunkConfig(
            prediction_horizon=20, action_horizon=1, temporal_ensembling=True
        )
    )
    """Observation history and chunk execution (ACT: one observation,
    chunks of k = 20, temporal ensembling with m = 0.01)."""
