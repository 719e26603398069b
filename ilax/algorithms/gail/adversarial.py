"""Adversarial imitation as a run: expert data, a discriminator, a policy learner.

`make_trainer(config, env, expert, make_learner)` composes what exists:
the expert's demonstrations (`ilax.data.collect`), subsampled as Ho & Ermon
do; a discriminator (`discriminator.make`) standardized by them; and the
on-policy trainer of a policy learner (PPO or TRPO) with the discriminator
as its `RewardModel`. One iteration is one pure function: collect with the
policy, take the discriminator's step(s) on those transitions against as
many expert ones, replace the rewards by the discriminator's, take the
policy step. The expert transitions are the trainer's `data`, an argument
of every round, not a constant of the program.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ilax import data as data_lib
from ilax.algorithms import registry
from ilax.algorithms.gail import discriminator as discriminator_lib
from ilax.algorithms.gail.config import AdversarialConfig
from ilax.algorithms.gail.discriminator import Transitions
from ilax.envs.base import Env
from ilax.training import onpolicy
from ilax.types import Policy, PolicyLearner, Trainer


def subsampled_transitions(
    dataset: data_lib.Dataset, every: int, seed: int
) -> Transitions:
    """Every `every`-th transition of each episode, from a random offset.

    The offsets, one per episode in [0, every), come from `seed`.

    Raises:
      ValueError: `every` is longer than the shortest episode (that episode
        would give nothing), naming the field.
    """
    lengths = np.asarray(dataset.episode_length)
    if every > lengths.min():
        raise ValueError(
            f"AdversarialConfig.subsample ({every}) must be at most the shortest "
            f"expert episode ({int(lengths.min())} steps)"
        )
    starts = np.asarray(dataset.episode_start)
    offsets = np.random.default_rng(seed).integers(0, every, size=len(starts))
    rows = np.concatenate(
        [
            np.arange(start + offset, start + length, every)
            for start, length, offset in zip(starts, lengths, offsets, strict=True)
        ]
    )
    next_obs = np.asarray(dataset.next_obs())
    return Transitions(
        obs=jnp.asarray(np.asarray(dataset.obs)[rows]),
        action=jnp.asarray(np.asarray(dataset.executed_action)[rows]),
        next_obs=jnp.asarray(next_obs[rows]),
    )


def expert_transitions(config: AdversarialConfig, env: Env, expert: Policy):
    """The run's expert transitions: `num_demos` episodes, subsampled."""
    dataset = data_lib.collect(
        env, expert, jax.random.key(config.data_seed), config.num_demos
    )
    return subsampled_transitions(dataset, config.subsample, config.data_seed)


def reward_model(
    discriminator: discriminator_lib.Discriminator,
) -> onpolicy.RewardModel:
    """The discriminator as the run's reward: one update, then its reward."""

    def relabel(state, trajectory, expert: Transitions, key):
        key_rows, key_update = jax.random.split(key)
        policy_rows = discriminator_lib.from_trajectory(trajectory)
        count = policy_rows.obs.shape[0]
        picks = jax.random.randint(key_rows, (count,), 0, expert.obs.shape[0])
        expert_rows = jax.tree.map(lambda x: x[picks], expert)
        state, metrics = discriminator.update(
            state, expert_rows, policy_rows, key_update
        )
        reward = discriminator.reward(state, policy_rows)
        metrics["discriminator/reward_mean"] = jnp.mean(reward)
        return state, reward.reshape(trajectory.reward.shape), metrics

    return onpolicy.RewardModel(init=discriminator.init, relabel=relabel)


def make_trainer(
    config: AdversarialConfig, env: Env, expert: Policy, make_learner
) -> Trainer:
    """The adversarial run of `config` on `env`, imitating `expert`.

    Args:
      config: the settings (the policy learner's config in `learner`).
      env: the task.
      expert: the demonstrator, rolled out once when the trainer is built.
      make_learner: the policy learner's `make` (PPO's or TRPO's).
    """
    config.check()
    learner = onpolicy.build_learner(config, env, make_learner)
    transitions = expert_transitions(config, env, expert)
    discriminator = discriminator_lib.make(
        config.discriminator,
        observation_size=env.observation_size,
        action_size=env.action_size,
        expert=transitions,
    )
    return onpolicy.make_trainer(
        config, env, learner, reward_model(discriminator), data=transitions
    )


def algorithm(name: str, config_class, make_learner) -> registry.Algorithm:
    """The registry entry of adversarial imitation with `make_learner`'s steps."""

    def make_run_trainer(config, env, expert):
        return make_trainer(config, env, expert, make_learner)

    return registry.Algorithm(
        name=name,
        config_class=config_class,
        make_trainer=make_run_trainer,
        make_learner=lambda config, env: onpolicy.build_learner(
            config, env, make_learner
        ),
        loss_metric="discriminator/loss",
        learner_type=PolicyLearner,
        needs_expert=True,
    )
