"""PPO's settings: the learner's, and a run's."""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.policy_gradient import PolicyGradientConfig
from ilax.training.onpolicy import OnPolicyConfig


@dataclasses.dataclass(kw_only=True)
class PPOConfig(PolicyGradientConfig):
    """Proximal policy optimization (Schulman et al. 2017), clipped surrogate.

    The actor-critic's fields are `PolicyGradientConfig`'s; these are the
    update's. Defaults follow the common MuJoCo settings (CleanRL's and
    stable-baselines3's): Adam 3e-4, 10 epochs, clip 0.2, gradient norm 0.5.
    """

    learning_rate: float = 3e-4
    """Adam step size of the policy and the value network (one optimizer)."""
    epochs: int = 10
    """Passes over each iteration's rows."""
    num_minibatches: int = 8
    """Minibatches per pass; they must divide the rows of an iteration
    (num_envs * unroll_length)."""
    clip_epsilon: float = 0.2
    """The probability ratio is clipped to [1 - clip_epsilon, 1 + clip_epsilon]."""
    value_clip: float = 0.0
    """Clip the value prediction's change to +-value_clip around the old
    value (the pessimistic of the clipped and unclipped losses); 0 turns it
    off."""
    value_coef: float = 0.5
    """Weight of the value loss, 0.5 * (V - target)^2."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""
    max_grad_norm: float = 0.5
    """Clip gradients to this global norm before the step; 0 turns it off."""
    normalize_advantages: bool = True
    """Standardize the advantages within each minibatch."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        config_lib.check_fields(
            self,
            positive=("learning_rate", "epochs", "num_minibatches", "clip_epsilon"),
            non_negative=("value_clip", "value_coef", "entropy_coef", "max_grad_norm"),
        )


@dataclasses.dataclass(kw_only=True)
class PPOTrainConfig(OnPolicyConfig):
    """A PPO run: iterations of batched rollouts and clipped policy steps."""

    learner: PPOConfig = dataclasses.field(default_factory=PPOConfig)
    """The PPO learner."""
