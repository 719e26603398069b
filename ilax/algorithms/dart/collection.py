"""DART's collection rule: the expert drives with Gaussian noise on its actions.

After every refit the expert collects the next rows with noise added to its
executed actions, while its clean action is the label (the rule whose
violation is the usual DART bug). The noise is fixed, or (the paper's rule)
set per action dimension from the refitted learner's error on the rows
collected last; that estimate is the rule's slot of the run state. The rest
is the shared trainer of `ilax.training.interactive`.
"""

import jax
import jax.numpy as jnp

from ilax import policies
from ilax.algorithms.dart.config import DartConfig
from ilax.training.interactive import CollectionRule
from ilax.types import Batch, Learner, Observation, Policy


def learner_error_std(learner: Learner, train_state, rows: Batch, key) -> jax.Array:
    """Per action dimension, the root mean squared learner error on `rows`."""
    policy = learner.make_policy(train_state)
    key_init, key_step = jax.random.split(key)
    action, _, _ = policy.step(
        policy.init(key_init, rows.obs.shape[:-1]),
        Observation(rows.obs, rows.privileged),
        key_step,
    )
    return jnp.sqrt(jnp.mean(jnp.square(action - rows.action), axis=0))


def collection_rule(
    config: DartConfig, expert: Policy, learner: Learner, env
) -> CollectionRule:
    """DART's rule for `env`'s action bounds.

    The fixed rule keeps no state; `learner_error` keeps the current noise
    std `[A]`, estimated after every refit by `learner_error_std`.
    """
    low, high = env.action_bounds

    def noisy_expert(std):
        policy = policies.with_action_noise(expert, std, low, high)
        return policy, {"dart/noise_std": jnp.mean(std)}

    if config.noise_rule == "fixed":
        fixed_std = jnp.full((env.action_size,), config.noise_std, jnp.float32)
        return CollectionRule(
            init=lambda: (),
            policy=lambda rule_state, iteration, learner_policy: noisy_expert(
                fixed_std
            ),
        )

    def after_refit(std, train_state, newest_rows, key):
        del std  # re-estimated from scratch
        std = learner_error_std(learner, train_state, newest_rows, key)
        return std, {"dart/learner_rmse": jnp.mean(std)}

    return CollectionRule(
        init=lambda: jnp.zeros((env.action_size,), jnp.float32),
        policy=lambda std, iteration, learner_policy: noisy_expert(std),
        after_refit=after_refit,
    )
