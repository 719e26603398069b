"""PPO as a `PolicyLearner`: init, update, make_behaviour and make_policy.

One `update` is one whole policy step on an iteration's trajectory: GAE
advantages and value targets from the current value network, then `epochs`
passes over the rows in `num_minibatches` shuffled minibatches, each an Adam
step on the clipped surrogate, the value loss and the entropy bonus (one
`lax.scan`). Each step is kept only if its loss and gradients are finite
(`train/nonfinite` counts the others), and the log std is projected back
into its bounds after it; if any advantage or value target is not finite,
no step of the update is kept and all count as skipped. The running input
statistics are updated with the trajectory's observations last, so the
first minibatch of every update sees the very policy that collected the
data (its ratio is 1, up to float rounding).
"""

import jax
import jax.numpy as jnp

from ilax.algorithms import advantages, base, optim, policy_gradient
from ilax.algorithms.policy_gradient import OnPolicyRows
from ilax.algorithms.ppo.config import PPOConfig
from ilax.networks import gaussian_entropy, gaussian_log_prob
from ilax.training import updates
from ilax.types import PolicyLearner


def clipped_surrogate(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantage: jax.Array,
    clip_epsilon: float,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """PPO's policy loss: -mean(min(r A, clip(r, 1 - eps, 1 + eps) A)).

    Returns:
      The loss and `approx_kl` (mean of (r - 1) - log r, an estimate of
      KL(old || new) that is never negative) and `clip_fraction` (the share
      of rows whose ratio lies outside the clip range).
    """
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    clipped = jnp.clip(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon)
    loss = -jnp.mean(jnp.minimum(ratio * advantage, clipped * advantage))
    return loss, {
        "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
        "clip_fraction": jnp.mean(
            (jnp.abs(ratio - 1.0) > clip_epsilon).astype(jnp.float32)
        ),
    }


def value_loss(
    value: jax.Array, old_value: jax.Array, target: jax.Array, value_clip: float
) -> jax.Array:
    """0.5 * mean((V - target)^2), the pessimistic clipped form if `value_clip` > 0."""
    squared = (value - target) ** 2
    if value_clip > 0:
        moved = old_value + jnp.clip(value - old_value, -value_clip, value_clip)
        squared = jnp.maximum(squared, (moved - target) ** 2)
    return 0.5 * jnp.mean(squared)


def make(
    config: PPOConfig,
    *,
    observation_size: int,
    action_size: int,
    action_bounds: tuple,
) -> PolicyLearner:
    """PPO for an environment of these sizes and action bounds (see the module).

    Returns:
      The `PolicyLearner`. `update`'s metrics are `ppo/loss` (the total),
      `ppo/policy_loss`, `ppo/value_loss`, `ppo/entropy`, `ppo/approx_kl`,
      `ppo/clip_fraction`, `ppo/grad_norm` (means over the minibatch steps),
      `value/mean`, `value/explained_variance`, `advantage/std`,
      `policy/log_std` and `train/nonfinite` (the skipped steps).

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    ac = policy_gradient.actor_critic(
        config,
        observation_size=observation_size,
        action_size=action_size,
        action_bounds=action_bounds,
        owner="PPO",
    )
    optimizer = optim.adam_optimizer(
        config.learning_rate, max_grad_norm=config.max_grad_norm
    )

    def loss_fn(params, normalizer, rows: OnPolicyRows):
        dist = ac.distribution(params, normalizer, rows.obs)
        advantage = rows.advantage
        if config.normalize_advantages:
            advantage = advantages.normalize_advantage(advantage)
        policy_loss, aux = clipped_surrogate(
            gaussian_log_prob(dist, rows.raw_action),
            rows.log_prob,
            advantage,
            config.clip_epsilon,
        )
        values = ac.value(params, normalizer, rows.obs)
        v_loss = value_loss(values, rows.value, rows.target, config.value_clip)
        entropy = jnp.mean(gaussian_entropy(dist))
        loss = policy_loss + config.value_coef * v_loss - config.entropy_coef * entropy
        return loss, {
            "policy_loss": policy_loss,
            "value_loss": v_loss,
            "entropy": entropy,
            **aux,
        }

    def minibatch_step(state: base.TrainState, rows: OnPolicyRows):
        state, metrics = optim.guarded_update(
            optimizer, loss_fn, state, rows, family="ppo"
        )
        return state.replace(params=ac.project(state.params)), metrics

    def epochs(state: base.TrainState, rows: OnPolicyRows, key: jax.Array):
        num_rows = rows.advantage.shape[0]
        optim.check_divides("ppo", "num_minibatches", config.num_minibatches, num_rows)

        def epoch(state, index):
            shuffled = optim.minibatches(
                rows, jax.random.fold_in(key, index), config.num_minibatches
            )
            return jax.lax.scan(minibatch_step, state, shuffled)

        state, step_metrics = jax.lax.scan(
            epoch, state, jnp.arange(config.epochs, dtype=jnp.uint32)
        )
        # [epochs, minibatches] -> one row per step, then means (skips summed).
        step_metrics = jax.tree.map(lambda x: x.reshape(-1), step_metrics)
        return state, updates.summarize(step_metrics)

    return policy_gradient.policy_learner(
        config,
        ac,
        init_opt_state=optimizer.init,
        policy_step=epochs,
        num_steps=config.epochs * config.num_minibatches,
    )
