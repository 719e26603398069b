"""Networks as pure `Network(init, apply)` pairs; the only home of flax.nnx.

Learners see parameters as plain nested dicts of arrays and distributions as
NamedTuples of arrays with pure functions over them.
"""

from ilax.networks.act import act_decoder, act_encoder
from ilax.networks.core import Network, from_nnx
from ilax.networks.denoisers import mlp_denoiser, sinusoidal_embedding
from ilax.networks.distributions import (
    Gaussian,
    MixtureOfGaussians,
    gaussian_entropy,
    gaussian_log_prob,
    gaussian_mode,
    gaussian_sample,
    log_prob,
    mixture_log_prob,
    mixture_mode,
    mixture_sample,
    mixture_weights,
    mode,
    sample,
)
from ilax.networks.heads import (
    bound_log_std,
    gaussian_mlp,
    mixture_mlp,
    state_independent_gaussian_mlp,
)
from ilax.networks.mlp import ACTIVATIONS, MLP, mlp
from ilax.networks.transformer import (
    Attention,
    AttentionBlock,
    DecoderLayer,
    EncoderLayer,
    FeedForwardBlock,
    TransformerDecoder,
    TransformerEncoder,
)
from ilax.networks.unet1d import unet_denoiser

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Attention",
    "AttentionBlock",
    "DecoderLayer",
    "EncoderLayer",
    "FeedForwardBlock",
    "Gaussian",
    "MixtureOfGaussians",
    "Network",
    "TransformerDecoder",
    "TransformerEncoder",
    "act_decoder",
    "act_encoder",
    "bound_log_std",
    "from_nnx",
    "gaussian_entropy",
    "gaussian_log_prob",
    "gaussian_mlp",
    "gaussian_mode",
    "gaussian_sample",
    "log_prob",
    "mixture_log_prob",
    "mixture_mlp",
    "mixture_mode",
    "mixture_sample",
    "mixture_weights",
    "mlp",
    "mlp_denoiser",
    "mode",
    "sample",
    "state_independent_gaussian_mlp",
    "sinusoidal_embedding",
    "unet_denoiser",
]
