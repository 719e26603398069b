"""Networks as pure `Network(init, apply)` pairs; the only home of flax.nnx.

Learners see parameters as plain nested dicts of arrays and distributions as
NamedTuples of arrays with pure functions over them.
"""

from ilax.networks.core import Network, from_nnx
from ilax.networks.distributions import (
    Gaussian,
    MixtureOfGaussians,
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
from ilax.networks.heads import bound_log_std, gaussian_mlp, mixture_mlp
from ilax.networks.mlp import ACTIVATIONS, MLP, mlp

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Gaussian",
    "MixtureOfGaussians",
    "Network",
    "bound_log_std",
    "from_nnx",
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
    "mode",
    "sample",
]
