"""Generative adversarial imitation learning (Ho & Ermon 2016).

Registered twice: `gail`, the paper's method with TRPO policy steps
(`GAILConfig`), and `gail_ppo` with PPO's (`GAILPPOConfig`). Both are the
on-policy trainer of a policy learner with a discriminator as its reward
(`adversarial.make_trainer`); the discriminator alone is
`discriminator.make`.
"""

from ilax.algorithms import ppo, registry, trpo
from ilax.algorithms.gail import adversarial, discriminator
from ilax.algorithms.gail.config import (
    REWARDS,
    AdversarialConfig,
    DiscriminatorConfig,
    GAILConfig,
    GAILPPOConfig,
)

ALGORITHM = registry.register(adversarial.algorithm("gail", GAILConfig, trpo.make))
PPO_ALGORITHM = registry.register(
    adversarial.algorithm("gail_ppo", GAILPPOConfig, ppo.make)
)

__all__ = [
    "ALGORITHM",
    "PPO_ALGORITHM",
    "REWARDS",
    "AdversarialConfig",
    "DiscriminatorConfig",
    "GAILConfig",
    "GAILPPOConfig",
    "adversarial",
    "discriminator",
]
