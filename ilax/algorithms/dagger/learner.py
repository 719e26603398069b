"""DAgger: roll out a beta-mixture of expert and learner, label, aggregate, refit.

At iteration i the expert acts with probability beta_i at every step of every
environment and the learner otherwise; the expert labels every visited state,
whoever acted. Everything else (buffer, refit, evaluation) is the shared
iteration of `ilax.algorithms.interactive`.
"""

import jax
import jax.numpy as jnp

from ilax.algorithms import interactive, registry
from ilax.algorithms.dagger.config import DaggerConfig
from ilax.envs.base import Env
from ilax.types import Learner, Observation, Policy, Trainer


def beta(config: DaggerConfig, iteration: jax.Array) -> jax.Array:
    """The probability that the expert acts at `iteration` (0-based)."""
    iteration = jnp.asarray(iteration, jnp.float32)
    if config.beta_schedule == "indicator":
        return jnp.where(iteration == 0, 1.0, 0.0)
    if config.beta_schedule == "exponential":
        return jnp.asarray(config.beta_decay, jnp.float32) ** iteration
    return jnp.ones((), jnp.float32)


def beta_mixture(expert: Policy, learner: Policy, expert_probability) -> Policy:
    """Per environment and step, the expert acts with `expert_probability`.

    The expert is queried at every step, so its clean action is the label
    (`extras["label"]`) whoever acted, and a stateful expert keeps its state
    current; `extras["expert_acted"]` records who acted.
    """

    def init(key, batch_shape):
        key_expert, key_learner = jax.random.split(key)
        return (
            expert.init(key_expert, batch_shape),
            learner.init(key_learner, batch_shape),
        )

    def step(state, observation: Observation, key):
        expert_state, learner_state = state
        key_expert, key_learner, key_coin = jax.random.split(key, 3)
        label, expert_state, _ = expert.step(expert_state, observation, key_expert)
        action, learner_state, _ = learner.step(learner_state, observation, key_learner)
        batch_shape = observation.obs.shape[:-1]
        expert_acts = jax.random.uniform(key_coin, batch_shape) < expert_probability
        executed = jnp.where(expert_acts[..., None], label, action)
        extras = {"label": label, "expert_acted": expert_acts}
        return executed, (expert_state, learner_state), extras

    return Policy(init=init, step=step)


def make_trainer(
    config: DaggerConfig, env: Env, expert: Policy, learner: Learner | None = None
) -> Trainer:
    """DAgger as a `Trainer`: each step is one whole iteration, jittable.

    Args:
      config: the settings.
      env: the task (unbatched, as from `ilax.envs.make`).
      expert: queried at every visited state.
      learner: defaults to behavior cloning with `config.learner`.
    """
    config.check()
    learner = learner or interactive.default_learner(config, env)

    def collection_policy(state, learner_policy):
        expert_probability = beta(config, state.iteration)
        policy = beta_mixture(expert, learner_policy, expert_probability)
        return policy, {"dagger/beta": expert_probability}

    return interactive.make_trainer(config, env, learner, collection_policy)


registry.register("dagger", DaggerConfig, make_trainer)
