"""DART: the expert drives with Gaussian noise on its executed actions.

Iteration 0 is the clean expert; from iteration 1 on, the executed action is
the expert's plus noise, while the clean expert action is the label (the
rule whose violation is the usual DART bug). The noise is either fixed or
set from the learner's current error on the expert's latest data. The rest
is the shared iteration of `ilax.algorithms.interactive`.
"""

import jax
import jax.numpy as jnp

from ilax import policies
from ilax.algorithms import interactive, registry
from ilax.algorithms.dart.config import DartConfig
from ilax.envs.base import Env
from ilax.types import Batch, Learner, Observation, Policy, Trainer


def learner_error_std(learner: Learner, train_state, rows: Batch, key) -> jax.Array:
    """Per action dimension, the root mean squared learner error on `rows`."""
    policy = learner.make_policy(train_state)
    batch_shape = rows.obs.shape[:-1]
    action, _, _ = policy.step(
        policy.init(key, batch_shape), Observation(rows.obs, rows.privileged), key
    )
    return jnp.sqrt(jnp.mean(jnp.square(action - rows.action), axis=0))


def make_trainer(
    config: DartConfig, env: Env, expert: Policy, learner: Learner | None = None
) -> Trainer:
    """DART as a `Trainer`: each step is one whole iteration, jittable.

    Args:
      config: the settings.
      env: the task (unbatched, as from `ilax.envs.make`).
      expert: the supervisor, queried at every visited state.
      learner: defaults to behavior cloning with `config.learner`.
    """
    config.check()
    learner = learner or interactive.default_learner(config, env)
    low, high = env.action_bounds
    fixed_std = jnp.full((env.action_size,), config.noise_std, jnp.float32)

    def collection_policy(state, learner_policy):
        del learner_policy  # the learner never acts while DART collects
        std = state.noise_std
        if config.noise_rule == "fixed":
            std = jnp.where(state.iteration == 0, 0.0, fixed_std)
        policy = policies.with_action_noise(expert, std, low, high)
        return policy, {"dart/noise_std": jnp.mean(std)}

    after_refit = None
    if config.noise_rule == "learner_error":

        def after_refit(state, rows, key):
            std = learner_error_std(learner, state.train_state, rows, key)
            return state.replace(noise_std=std), {"dart/learner_rmse": jnp.mean(std)}

    return interactive.make_trainer(
        config, env, learner, collection_policy, after_refit
    )


registry.register("dart", DartConfig, make_trainer)
