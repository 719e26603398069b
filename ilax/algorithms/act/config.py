"""The ACT learner's settings (Zhao et al. 2023, scaled to ACT-lite)."""

import dataclasses

from ilax import config as config_lib

LOSSES = ("l1", "mse")

_INT_FIELDS = (
    "chunk_size",
    "latent_size",
    "model_size",
    "num_heads",
    "feedforward_size",
    "encoder_layers",
    "decoder_layers",
)


@dataclasses.dataclass(kw_only=True)
class ACTConfig:
    """A transformer CVAE that predicts a chunk of k actions (ACT)."""

    chunk_size: int = 20
    """k, the actions predicted at once (ACT's `num_queries`, 100 there);
    the learner's `action_size` must be k times the action dimension."""
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
    normalize: bool = True
    """Standardize observations and actions with the per-column mean and std
    of the data given to `init` (each chunk position of each action
    dimension gets its own statistics)."""
    min_std: float = 1e-2
    """Floor of the normalizer's standard deviations (see `BCConfig.min_std`)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
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
            positive=("learning_rate", "min_std"),
            non_negative=("kl_weight", "weight_decay"),
        )
