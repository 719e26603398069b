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
        terminated=jnp.asarray(np.asarray(dataset.terminated)[rows]),
    )


def expert_transitions(config: AdversarialConfig, env: Env, expert: Policy):
    """The run's expert transitions: `num_demos` episodes, subsampled."""
    dataset = data_lib.collect(
        env, expert, jax.random.key(config.data_seed), config.num_demos
    )
    return subsampled_transitions(dataset, config.subsample, config.data_seed)


def reward_model(
    discriminator: discriminator_lib.Discriminator, rows_of=None
) -> onpolicy.RewardModel:
    """The discriminator as the run's reward: its update(s), then its reward.

    Each iteration the discriminator sees all of the trajectory's
    transitions against as many expert ones drawn with replacement.

    Args:
      discriminator: the classifier, with its `reward`.
      rows_of: `(transitions, log_prob) -> rows` that the discriminator
        reads (AIRL adds the policy's log-probabilities); None: the
        transitions themselves (GAIL).
    """

    def relabel(state, trajectory, expert: Transitions, key, log_prob):
        key_rows, key_update = jax.random.split(key)
        policy_rows = discriminator_lib.from_trajectory(trajectory)
        count = policy_rows.obs.shape[0]
        picks = jax.random.randint(key_rows, (count,), 0, expert.obs.shape[0])
        expert_rows = jax.tree.map(lambda x: x[picks], expert)
        if rows_of is not None:
            policy_rows = rows_of(policy_rows, log_prob)
            expert_rows = rows_of(expert_rows, log_prob)
        state, metrics = discriminator.update(
            state, expert_rows, policy_rows, key_update
        )
        reward = discriminator.reward(state, policy_rows)
        metrics["discriminator/reward_mean"] = jnp.mean(reward)
        return state, reward.reshape(trajectory.reward.shape), metrics

    return onpolicy.RewardModel(init=discriminator.init, relabel=relabel)


def make_trainer(
    config: AdversarialConfig,
    env: Env,
    expert: Policy,
    make_learner,
    make_reward_model=None,
) -> Trainer:
    """The adversarial run of `config` on `env`, imitating `expert`.

    Args:
      config: the settings (the policy learner's config in `learner`).
      env: the task.
      expert: the demonstrator, rolled out once when the trainer is built.
      make_learner: the policy learner's `make` (PPO's or TRPO's).
      make_reward_model: `(config, env, transitions) -> RewardModel`, the
        method's classifier as a reward; None: GAIL's discriminator.
    """
    config.check()
    learner = onpolicy.build_learner(config, env, make_learner)
    transitions = expert_transitions(config, env, expert)
    model = (make_reward_model or gail_reward_model)(config, env, transitions)
    return onpolicy.make_trainer(config, env, learner, model, data=transitions)


def gail_reward_model(
    config: AdversarialConfig, env: Env, transitions: Transitions
) -> onpolicy.RewardModel:
    """GAIL's discriminator, standardized by the expert `transitions`, as a reward."""
    discriminator = discriminator_lib.make(
        config.discriminator,
        observation_size=env.observation_size,
        action_size=env.action_size,
        expert=transitions,
    )
    return reward_model(discriminator)


def algorithm(
    name: str, config_class, make_learner, make_reward_model=None
) -> registry.Algorithm:
    """The registry entry of adversarial imitation with `make_learner`'s steps.

    `make_reward_model` as in `make_trainer` (None: GAIL's discriminator).
    """

    def make_run_trainer(config, env, expert):
        return make_trainer(config, env, expert, make_learner, make_reward_model)

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
