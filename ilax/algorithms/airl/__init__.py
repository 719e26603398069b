"""Adversarial inverse reinforcement learning (Fu, Luo & Levine 2018).

Registered twice: `airl`, with TRPO policy steps as the paper runs it
(`AIRLConfig`), and `airl_ppo` with PPO's (`AIRLPPOConfig`). A run is
GAIL's adversarial trainer (`gail.adversarial.make_trainer`) with AIRL's
structured discriminator (`shaped.make`) in place of GAIL's; each
iteration the discriminator reads the collecting policy's log-density of
the expert's and the policy's actions.

The reward AIRL recovers outlives the run: `learned_reward(config, env,
transitions, params)` is g, a pure function of transitions, and
`retraining_reward(reward)` turns it into the frozen reward of a fresh
policy's run (`ilax.training.onpolicy.make_trainer(..., reward_model=)`).
"""

from collections.abc import Callable

import jax

from ilax.algorithms import ppo, registry, trpo
from ilax.algorithms.airl import shaped
from ilax.algorithms.airl.config import AIRLConfig, AIRLPPOConfig, ShapedRewardConfig
from ilax.algorithms.airl.shaped import AIRLRows
from ilax.algorithms.gail import adversarial
from ilax.algorithms.gail.config import AdversarialConfig
from ilax.algorithms.gail.discriminator import Transitions, from_trajectory
from ilax.envs.base import Env
from ilax.training import onpolicy
from ilax.types import Params


def shaped_reward(
    config: AdversarialConfig, env: Env, transitions: Transitions
) -> shaped.ShapedReward:
    """The run's structured discriminator, standardized by the expert `transitions`."""
    return shaped.make(
        config.discriminator,
        observation_size=env.observation_size,
        action_size=env.action_size,
        gamma=config.learner.gamma,
        expert=transitions,
    )


def with_log_prob(transitions: Transitions, log_prob) -> AIRLRows:
    """The rows AIRL's discriminator reads: `log_prob(obs, action)` attached."""
    return AIRLRows(transitions, log_prob(transitions.obs, transitions.action))


def reward_model(
    config: AdversarialConfig, env: Env, transitions: Transitions
) -> onpolicy.RewardModel:
    """AIRL's discriminator as a run's reward (its logit, f - log pi)."""
    model = shaped_reward(config, env, transitions)
    return adversarial.reward_model(model.discriminator, rows_of=with_log_prob)


def learned_reward(
    config: AdversarialConfig, env: Env, transitions: Transitions, params: Params
) -> Callable[[Transitions], jax.Array]:
    """The reward g a run recovered: `transitions -> [N]`.

    Args:
      config: the run's config.
      env: its task.
      transitions: its expert transitions (the trainer's `data`; their
        statistics standardize the inputs as in the run).
      params: the discriminator's parameters at the end of the run
        (`state.reward_model.params` of one seed).
    """
    model = shaped_reward(config, env, transitions)
    return lambda rows: model.learned_reward(params, rows)


def retraining_reward(reward: Callable[[Transitions], jax.Array]):
    """A frozen reward of transitions as a run's `RewardModel`."""
    return onpolicy.fixed_reward(
        lambda trajectory: reward(from_trajectory(trajectory)).reshape(
            trajectory.reward.shape
        )
    )


ALGORITHM = registry.register(
    adversarial.algorithm("airl", AIRLConfig, trpo.make, reward_model)
)
PPO_ALGORITHM = registry.register(
    adversarial.algorithm("airl_ppo", AIRLPPOConfig, ppo.make, reward_model)
)

__all__ = [
    "ALGORITHM",
    "PPO_ALGORITHM",
    "AIRLConfig",
    "AIRLPPOConfig",
    "AIRLRows",
    "ShapedRewardConfig",
    "learned_reward",
    "retraining_reward",
    "reward_model",
    "shaped",
    "shaped_reward",
]
