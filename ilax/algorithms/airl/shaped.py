"""AIRL's discriminator: a reward and a shaping potential (Fu et al. 2018).

AIRL's discriminator is not a free classifier: its logit is

    l(s, a, s') = f(s, a, s') - log pi(a | s),
    f(s, a, s') = g(s) + gamma h(s') - h(s),

so that D = exp(f) / (exp(f) + pi(a | s)). At the optimum f is the expert's
advantage and g, with a state-only reward, the expert's reward up to a
constant: the reward that AIRL exports (`ShapedReward.learned_reward`) to
train a fresh policy, possibly under other dynamics. The policy's own
reward is log D - log(1 - D) = l, which is f plus the policy's entropy.

The rows it reads are `AIRLRows`: transitions with the current policy's
log-density of their actions, for expert and policy rows alike. Training
(cross-entropy, optional gradient penalty, the non-finite guard) is the
shared `gail.discriminator.classifier`.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ilax.algorithms.airl.config import ShapedRewardConfig
from ilax.algorithms.gail import discriminator as discriminator_lib
from ilax.algorithms.gail.discriminator import Discriminator, Transitions
from ilax.networks import mlp
from ilax.types import Params


class AIRLRows(NamedTuple):
    """Transitions and the current policy's log-density of their actions."""

    transitions: Transitions  # [N, ...]
    log_prob: Any  # [N]


class ShapedReward(NamedTuple):
    """AIRL's discriminator, and the reward it recovers."""

    discriminator: Discriminator  # over AIRLRows; reward = the logit
    learned_reward: Callable[[Params, Transitions], jax.Array]  # g: [N]


def make(
    config: ShapedRewardConfig,
    *,
    observation_size: int,
    action_size: int,
    gamma: float,
    expert: Transitions,
) -> ShapedReward:
    """AIRL's discriminator of `config`, standardized by the `expert` transitions.

    Args:
      config: the networks and the classifier's training.
      observation_size: the task's observation width.
      action_size: its action width.
      gamma: the discount of the shaping term (the policy learner's).
      expert: the expert transitions (their statistics standardize inputs).

    Raises:
      ValueError: an invalid config field, or expert transitions of other
        widths than the task's, naming them.
    """
    config.check()
    discriminator_lib.check_expert_widths("airl", expert, observation_size, action_size)
    standardize_obs = discriminator_lib.standardizer(expert.obs, config.min_std)
    standardize_action = discriminator_lib.standardizer(expert.action, config.min_std)
    layers = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }
    reward_width = observation_size + (0 if config.state_only else action_size)
    reward_net = mlp(reward_width, 1, **layers)
    potential_net = mlp(observation_size, 1, **layers)

    def init_params(key: jax.Array) -> Params:
        key_reward, key_potential = jax.random.split(key)
        return {
            "reward": reward_net.init(key_reward),
            "potential": potential_net.init(key_potential),
        }

    def inputs(transitions: Transitions) -> dict:
        x = {
            "obs": standardize_obs(transitions.obs),
            "next_obs": standardize_obs(transitions.next_obs),
        }
        if not config.state_only:
            x["action"] = standardize_action(transitions.action)
        return x

    def reward_of(params: Params, x: dict) -> jax.Array:
        features = x["obs"]
        if not config.state_only:
            features = jnp.concatenate([x["obs"], x["action"]], -1)
        return reward_net.apply(params["reward"], features)[..., 0]

    def shaped(params: Params, x: dict, transitions: Transitions) -> jax.Array:
        potential = potential_net.apply(params["potential"], x["obs"])[..., 0]
        next_potential = potential_net.apply(params["potential"], x["next_obs"])[..., 0]
        if transitions.terminated is not None:
            next_potential = jnp.where(transitions.terminated, 0.0, next_potential)
        return reward_of(params, x) + gamma * next_potential - potential

    discriminator = discriminator_lib.classifier(
        config,
        init_params=init_params,
        inputs=lambda rows: inputs(rows.transitions),
        score=lambda params, x, rows: (
            shaped(params, x, rows.transitions) - rows.log_prob
        ),
    )

    def policy_reward(state, rows: AIRLRows) -> jax.Array:
        # log D - log(1 - D) is the logit itself.
        return discriminator.logit(state.params, rows)

    def learned_reward(params: Params, transitions: Transitions) -> jax.Array:
        return reward_of(params, inputs(transitions))

    return ShapedReward(
        discriminator=discriminator._replace(reward=policy_reward),
        learned_reward=learned_reward,
    )
