"""Evaluating a learner's policy: the rollouts trainers and experiments share.

`evaluate` is the periodic evaluation of a trainer: the policy drives alone
on batched environments (restarted as their episodes end) and the episode
means come back as `eval/<name>`. `one_episode_each` is the evaluation of
the experiments' tables: exactly one episode per environment, so that each
environment is one sample, with `ilax.metrics.first_episode` reading how
each ended.
"""

from collections.abc import Callable
from typing import Any

import jax

from ilax import metrics as metrics_lib
from ilax.envs.base import Env
from ilax.rollout import rollout
from ilax.types import EpisodeLog, Metrics, Policy, Trajectory


def evaluate(
    env: Env, policy: Policy, key: jax.Array, *, num_envs: int, num_steps: int
) -> Metrics:
    """Episode means of `policy` driving alone, keyed `eval/<name>` (jittable).

    `eval/num_episodes` counts the episodes that ended within `num_steps`;
    the means are NaN when none did.
    """
    _, log = rollout(env, policy, key, num_envs, num_steps)
    return metrics_lib.summarize(log, prefix="eval")


def evaluator(
    env: Env, policy_of: Callable[[Any], Policy], *, num_envs: int, num_steps: int
) -> Callable[[Any, jax.Array], Metrics]:
    """A trainer's `evaluate(run_state, key)`: `evaluate` of `policy_of(run_state)`."""

    def evaluate_run(run_state: Any, key: jax.Array) -> Metrics:
        return evaluate(
            env, policy_of(run_state), key, num_envs=num_envs, num_steps=num_steps
        )

    return evaluate_run


def one_episode_each(
    env: Env, policy: Policy, key: jax.Array, num_envs: int
) -> tuple[Trajectory, EpisodeLog]:
    """One episode in each of `num_envs` environments, up to the time limit.

    A rollout without auto-reset for `env.max_steps` steps: each
    environment's first episode is logged, nothing after it. Jittable.
    """
    return rollout(env, policy, key, num_envs, env.max_steps, auto_reset=False)
