"""Scores a reinforcement learner on the pendulum swing-up, for learning tests.

`normalized_scores` trains S seeds of a registered on-policy algorithm
(vmapped, one program) and scores each learned policy on the same 64
starts as the task's analytic expert and uniformly random actions:
0 is random, 1 the expert.
"""

import dataclasses

import jax
import numpy as np

from ilax import envs, experts, metrics, policies
from ilax.algorithms import registry
from ilax.training import evaluation, seeds


def normalized_scores(
    name: str, iterations: int, num_seeds: int, key: int = 0, **overrides
):
    """`(normalized return per seed [S], metrics [S, iterations])`.

    The seeds' keys are split from `key`. `overrides` replace fields of the
    algorithm's default config; an algorithm that needs an expert imitates
    the task's analytic one.
    """
    env, _, trainer, runs = trained(name, iterations, num_seeds, key, **overrides)
    return score_runs(env, trainer, runs), jax.tree.map(np.asarray, runs.metrics)


def trained(name: str, iterations: int, num_seeds: int, key: int = 0, **overrides):
    """`(env, config, trainer, runs)` of `num_seeds` seeds of `name` on the pendulum."""
    env = envs.make("pendulum")
    algorithm = registry.get(name)
    config = dataclasses.replace(
        algorithm.default_config(), iterations=iterations, **overrides
    )
    expert = experts.make(env) if algorithm.needs_expert else None
    trainer = algorithm.make_trainer(config, env, expert)
    runs = seeds.run_seeds(trainer, jax.random.split(jax.random.key(key), num_seeds))
    return env, config, trainer, runs


def score_runs(env, trainer, runs) -> np.ndarray:
    """The normalized return of each seed's policy in `runs` `[S]`."""

    def score(policy, key):
        _, log = evaluation.one_episode_each(env, policy, key, 64)
        return metrics.first_episode(log)["return"].mean()

    # Every policy is scored on the same 64 starts (clones of one key).
    key = jax.random.key(99)
    low, high = env.action_bounds
    expert_return = float(
        jax.jit(lambda k: score(experts.make(env), k))(jax.random.clone(key))
    )
    random = float(
        jax.jit(lambda k: score(policies.uniform_random(low, high), k))(
            jax.random.clone(key)
        )
    )
    learned_score = jax.jit(lambda state, k: score(trainer.policy(state), k))
    num_seeds = jax.tree.leaves(runs.state)[0].shape[0]
    learned = [
        float(
            learned_score(
                jax.tree.map(lambda x, s=s: x[s], runs.state), jax.random.clone(key)
            )
        )
        for s in range(num_seeds)
    ]
    return (np.asarray(learned) - random) / (expert_return - random)
