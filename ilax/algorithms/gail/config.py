"""GAIL's settings: the discriminator's, and an adversarial run's.

`GAILConfig` is Ho & Ermon's method as their code runs it (policy steps by
TRPO, the paper's networks and discounting); `GAILPPOConfig` the same with
PPO's policy step. Both take the discriminator and the expert data from
`AdversarialConfig`.
"""

import dataclasses

from ilax import config as config_lib
from ilax.algorithms.checks import check_network_fields
from ilax.algorithms.ppo.config import PPOConfig
from ilax.algorithms.trpo.config import TRPOConfig
from ilax.training.onpolicy import OnPolicyConfig

REWARDS = ("neg_log_one_minus_d", "log_d")


@dataclasses.dataclass(kw_only=True)
class ClassifierConfig:
    """What every adversarial classifier of expert against policy has.

    The classifier is trained by Adam on the binary cross-entropy of expert
    (label 1) against policy (label 0) transitions, standardized by the
    expert data's statistics. Defaults are Ho & Ermon's for GAIL.
    """

    hidden_sizes: tuple[int, ...] = (100, 100)
    """Widths of the hidden layers."""
    activation: str = "tanh"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    learning_rate: float = 0.01
    """Adam step size."""
    updates_per_iteration: int = 1
    """Adam steps per iteration, each on all of the iteration's policy
    transitions and as many expert transitions drawn with replacement. One
    is deliberate: a discriminator trained to 100% accuracy gives the
    policy no gradient to follow."""
    entropy_coef: float = 1e-3
    """Weight of the mean entropy of D's output, subtracted from the loss."""
    state_only: bool = False
    """Score (s, s') instead of (s, a) (GAIL: imitation from observations;
    AIRL: a reward of the state alone, the paper's disentangled one)."""
    gradient_penalty: float = 0.0
    """Weight of (|grad of the logit| - 1)^2 at points between expert and
    policy inputs (Gulrajani et al.; Kostrikov et al. use 10 for GAIL); 0
    turns it off."""
    min_std: float = 1e-2
    """Floor of the expert statistics' standard deviations."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_types(self)
        check_network_fields(self)
        config_lib.check_fields(
            self,
            positive=("learning_rate", "updates_per_iteration", "min_std"),
            non_negative=("entropy_coef", "gradient_penalty"),
        )


@dataclasses.dataclass(kw_only=True)
class DiscriminatorConfig(ClassifierConfig):
    """GAIL's classifier D(s, a): the probability that a transition is the expert's.

    Defaults are Ho & Ermon's: 2 x 100 tanh, Adam 0.01, one step per
    iteration, an entropy bonus of 1e-3 on its output.
    """

    reward: str = "neg_log_one_minus_d"
    """The policy's reward: `neg_log_one_minus_d`, -log(1 - D) (positive, a
    survival bonus, for tasks whose episodes should last) or `log_d`,
    log D (negative, for tasks that end on success); the official code
    picks per task."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        config_lib.check_choice(type(self).__name__, "reward", self.reward, REWARDS)


@dataclasses.dataclass(kw_only=True)
class AdversarialConfig(OnPolicyConfig):
    """An adversarial imitation run: the expert data and the discriminator."""

    discriminator: DiscriminatorConfig = dataclasses.field(
        default_factory=DiscriminatorConfig
    )
    """The discriminator."""
    num_demos: int = 4
    """Expert trajectories collected when the run is built."""
    subsample: int = 20
    """Keep every `subsample`-th transition of each expert trajectory, from
    a random offset (the paper: 20 on MuJoCo tasks, so 4 Hopper
    trajectories are about 200 transitions); 1 keeps them all."""
    data_seed: int = 0
    """Seed of the expert collection and the subsampling offsets."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        config_lib.check_fields(
            self, positive=("num_demos", "subsample"), non_negative=("data_seed",)
        )
        self.discriminator.check()


def paper_policy(config_class):
    """Ho & Ermon's policy settings: 2 x 100 tanh, gamma 0.995, GAE lambda 0.97."""
    return lambda: config_class(
        hidden_sizes=(100, 100), activation="tanh", gamma=0.995, gae_lambda=0.97
    )


@dataclasses.dataclass(kw_only=True)
class GAILConfig(AdversarialConfig):
    """GAIL with TRPO policy steps (max KL 0.01), as the paper runs it."""

    learner: TRPOConfig = dataclasses.field(default_factory=paper_policy(TRPOConfig))
    """The policy learner."""


@dataclasses.dataclass(kw_only=True)
class GAILPPOConfig(AdversarialConfig):
    """GAIL with PPO policy steps."""

    learner: PPOConfig = dataclasses.field(default_factory=paper_policy(PPOConfig))
    """The policy learner."""
