"""TRPO's settings: the learner's, and a run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.policy_gradient import PolicyGradientConfig
from ilax.training.onpolicy import OnPolicyConfig


@dataclasses.dataclass(kw_only=True)
class TRPOConfig(PolicyGradientConfig):
    """Trust region policy optimization (Schulman et al. 2015), as GAIL uses it.

    The policy takes one natural-gradient step per iteration: conjugate
    gradient on Fisher-vector products, scaled to the KL bound, then a
    backtracking line search that keeps the first fraction whose KL stays
    within `max_kl` and whose surrogate improves. The value network is
    fitted by Adam. Defaults are those of Ho & Ermon's code (max KL 0.01,
    damping 0.1, 10 CG iterations).
    """

    max_kl: float = 0.01
    """Bound of the mean KL(old || new) of one policy step."""
    cg_iterations: int = 10
    """Conjugate-gradient iterations of the natural-gradient solve."""
    cg_damping: float = 0.1
    """Added to the Fisher matrix's diagonal (F + damping I)."""
    line_search_steps: int = 10
    """Backtracking fractions tried: 1, 1/2, ..., 1/2**(steps - 1)."""
    accept_ratio: float = 0.1
    """A fraction is accepted when the surrogate improves by at least this
    share of the improvement its linear model predicts."""
    entropy_coef: float = 0.0
    """Weight of the policy's entropy in the surrogate (GAIL's causal
    entropy weight lambda)."""
    normalize_advantages: bool = True
    """Standardize the advantages over the iteration's rows."""
    value_learning_rate: float = 1e-3
    """Adam step size of the value network."""
    value_epochs: int = 5
    """Passes of the value fit over the iteration's rows."""
    value_minibatches: int = 4
    """Minibatches per value pass; they must divide the rows."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        config_lib.check_fields(
            self,
            positive=(
                "max_kl",
                "cg_iterations",
                "line_search_steps",
                "value_learning_rate",
                "value_epochs",
                "value_minibatches",
            ),
            non_negative=("cg_damping", "accept_ratio", "entropy_coef"),
        )
        if self.accept_ratio >= 1.0:
            # Demanding more than the linear model predicts rejects nearly
            # every step of a concave surrogate: the policy would never move.
            raise ValueError(
                f"TRPOConfig.accept_ratio must be < 1; got {self.accept_ratio!r}"
            )


@dataclasses.dataclass(kw_only=True)
class TRPOTrainConfig(OnPolicyConfig):
    """A TRPO run: iterations of batched rollouts and trust-region steps."""

    learner: TRPOConfig = dataclasses.field(default_factory=TRPOConfig)
    """The TRPO learner."""
