"""AIRL's settings: its structured discriminator's, and a run's.

`AIRLConfig` is Fu et al.'s method as their paper runs it (policy steps by
TRPO); `AIRLPPOConfig` the same with PPO's. The expert data, its
subsampling and the schedule are `AdversarialConfig`'s, as for GAIL; the
policy networks and discounting are the same as GAIL's, so the two methods
are compared on equal terms.
"""

import dataclasses

from ilax.algorithms.gail.config import (
    AdversarialConfig,
    ClassifierConfig,
    paper_policy,
)
from ilax.algorithms.ppo.config import PPOConfig
from ilax.algorithms.trpo.config import TRPOConfig


@dataclasses.dataclass(kw_only=True)
class ShapedRewardConfig(ClassifierConfig):
    """AIRL's discriminator D = exp(f) / (exp(f) + pi(a | s)).

    f(s, a, s') = g(s) + gamma h(s') - h(s): a reward g (of the state alone
    when `state_only`, the paper's disentangled reward; of (s, a) otherwise)
    and a shaping potential h, each an MLP of `hidden_sizes`; gamma is the
    policy learner's. h(s') counts for nothing after a terminal step.
    Defaults: 2 x 32 ReLU for both, Adam 1e-3, no entropy bonus (the
    policy's reward, f - log pi, already carries its entropy).
    """

    hidden_sizes: tuple[int, ...] = (32, 32)
    """Widths of the hidden layers of g and of h."""
    activation: str = "relu"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    learning_rate: float = 1e-3
    """Adam step size."""
    entropy_coef: float = 0.0
    """Weight of the mean entropy of D's output, subtracted from the loss."""
    state_only: bool = True
    """g(s) rather than g(s, a): the reward that transfers to new dynamics."""


@dataclasses.dataclass(kw_only=True)
class AIRLConfig(AdversarialConfig):
    """AIRL with TRPO policy steps, as the paper runs it."""

    discriminator: ShapedRewardConfig = dataclasses.field(
        default_factory=ShapedRewardConfig
    )
    """The structured discriminator."""
    learner: TRPOConfig = dataclasses.field(default_factory=paper_policy(TRPOConfig))
    """The policy learner."""


@dataclasses.dataclass(kw_only=True)
class AIRLPPOConfig(AdversarialConfig):
    """AIRL with PPO policy steps."""

    discriminator: ShapedRewardConfig = dataclasses.field(
        default_factory=ShapedRewardConfig
    )
    """The structured discriminator."""
    learner: PPOConfig = dataclasses.field(default_factory=paper_policy(PPOConfig))
    """The policy learner."""
