"""Behavior cloning's settings."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.checks import INPUTS, check_network_fields

LOSSES = ("mse", "gaussian", "gmm")


@dataclasses.dataclass(kw_only=True)
class BCConfig:
    """Behavior cloning: supervised regression of expert labels on states."""

    loss: str = "mse"
    """`mse` (a deterministic MLP), `gaussian` (negative log likelihood of a
    state-dependent diagonal Gaussian) or `gmm` (of a mixture of Gaussians,
    for multimodal demonstrations)."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Widths of the policy network's hidden layers."""
    activation: str = "relu"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    num_components: int = 5
    """Mixture components of the `gmm` loss (unused otherwise)."""
    min_log_std: float = -3.0
    """Lower bound of the predicted log std (normalized action units) of the
    `gaussian` and `gmm` losses. The analytic experts' labels are exact, so
    the likelihood keeps shrinking the std toward this floor; at -5 (std
    0.007) mixture training on exact bimodal labels oscillated in 2 of 5
    seeds and missed both modes at some inputs, at -4 and -3 all 5 seeds
    converged smoothly."""
    learning_rate: float = 1e-3
    """Adam(W) step size."""
    weight_decay: float = 0.0
    """Decoupled (AdamW) weight decay; 0 is plain Adam."""
    max_grad_norm: float = 0.0
    """Clip gradients to this global norm before the step; 0 turns it off."""
    normalize: bool = True
    """Standardize inputs and actions with the mean and std of the data given
    to `init` (an identity normalizer otherwise)."""
    min_std: float = 1e-2
    """Floor of the normalizer's standard deviations. A feature that is
    (nearly) constant in the demonstrations, like an occupancy cell the
    expert never leaves, would otherwise be divided by ~0 and turn the first
    off-distribution value into an input of size 1e6; with 1e-2 a unit
    deviation reads as 100, large but finite, and features whose real spread
    is below 1e-2 are rarely informative in these tasks' units."""
    input: str = "obs"
    """The `Observation`/`Batch` field the policy reads: `obs` (a student)
    or `privileged` (a teacher that sees the true state)."""
    stochastic_policy: bool = False
    """Act by sampling the predicted distribution instead of taking its mode
    (needs the `gaussian` or `gmm` loss)."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        owner = type(self).__name__
        config_lib.check_choice(owner, "loss", self.loss, LOSSES)
        config_lib.check_choice(owner, "input", self.input, INPUTS)
        check_network_fields(self)
        config_lib.check_fields(
            self,
            positive=("num_components", "learning_rate", "min_std"),
            non_negative=("weight_decay", "max_grad_norm"),
        )
        if not self.min_log_std < 2.0:
            raise ValueError(
                f"{owner}.min_log_std must be < 2.0 (the heads' upper bound); got "
                f"{self.min_log_std!r}"
            )
        if self.stochastic_policy and self.loss == "mse":
            raise ValueError(
                f"{owner}.stochastic_policy=True needs a distribution loss "
                "('gaussian' or 'gmm'); got loss='mse'"
            )
