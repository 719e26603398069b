"""DAgger's collection rule: a beta-mixture of expert and learner, expert labels.

While DAgger collects the rows of iteration i the expert acts with
probability beta_i at every step of every environment and the learner
otherwise; the expert labels every visited state, whoever acted. The rest
(buffer, refit, evaluation) is the shared trainer of
`ilax.training.interactive`.
"""

import jax
import jax.numpy as jnp

from ilax.algorithms.dagger.config import DaggerConfig
from ilax.training.interactive import CollectionRule
from ilax.types import Observation, Policy


def beta(config: DaggerConfig, iteration: jax.Array) -> jax.Array:
    """The probability that the expert acts at `iteration` (0: the demos)."""
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


def collection_rule(
    config: DaggerConfig, expert: Policy, learner, env
) -> CollectionRule:
    """DAgger's rule: the beta-mixture of the config's schedule; no state."""
    del learner, env  # the learner acts through the policy it is given

    def policy(rule_state, iteration, learner_policy):
        del rule_state  # beta depends on the iteration alone
        expert_probability = beta(config, iteration)
        mixture = beta_mixture(expert, learner_policy, expert_probability)
        return mixture, {"dagger/beta": expert_probability}

    return CollectionRule(init=lambda: (), policy=policy)
