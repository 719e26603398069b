"""TRPO as a `PolicyLearner`: one natural-gradient step per iteration.

`update` computes GAE advantages with the current value network, then:

1. the policy step: the gradient g of the surrogate mean(r A) (+ entropy)
   at the old parameters; x = F^-1 g by conjugate gradient, where F v is
   the Hessian-vector product of the mean KL(old || new) (the Fisher
   matrix) plus `cg_damping` v; the full step x scaled to reach `max_kl`
   under the quadratic model, sqrt(2 max_kl / x'Fx); a backtracking line
   search over the fractions 1, 1/2, ... keeping the first whose exact KL
   is within `max_kl` and whose surrogate improves by at least
   `accept_ratio` of the predicted improvement (none: the policy stays);
2. the value fit: `value_epochs` passes of Adam over the rows.

The policy parameters are handled as one flat vector
(`jax.flatten_util.ravel_pytree`). A policy step whose gradient or step is
not finite is not taken (`train/nonfinite` = 1); non-finite advantages
refuse the whole update, as in PPO.
"""

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from ilax.algorithms import advantages, base, optim, policy_gradient
from ilax.algorithms.policy_gradient import OnPolicyRows
from ilax.algorithms.trpo.config import TRPOConfig
from ilax.networks import Gaussian, gaussian_entropy, gaussian_log_prob
from ilax.types import PolicyLearner


def gaussian_kl(old: Gaussian, new: Gaussian) -> jax.Array:
    """KL(old || new) of diagonal Gaussians, summed over the last axis."""
    variance_ratio = jnp.exp(2.0 * (old.log_std - new.log_std))
    mean_term = (old.mean - new.mean) ** 2 * jnp.exp(-2.0 * new.log_std)
    return jnp.sum(
        new.log_std - old.log_std + 0.5 * (variance_ratio + mean_term) - 0.5, axis=-1
    )


def conjugate_gradient(matvec, b: jax.Array, iterations: int) -> jax.Array:
    """Approximately solves A x = b for a symmetric positive definite A.

    `iterations` steps of conjugate gradient from x = 0; once the residual
    vanishes (below 1e-10 squared norm) the iterate stays where it is.
    """

    def one(_, carry):
        x, residual, direction, rr = carry
        product = matvec(direction)
        active = rr > 1e-10
        alpha = jnp.where(active, rr / jnp.maximum(direction @ product, 1e-30), 0.0)
        x = x + alpha * direction
        residual = residual - alpha * product
        new_rr = residual @ residual
        beta = jnp.where(active, new_rr / jnp.maximum(rr, 1e-30), 0.0)
        direction = residual + beta * direction
        return x, residual, direction, jnp.where(active, new_rr, rr)

    start = (jnp.zeros_like(b), b, b, b @ b)
    return jax.lax.fori_loop(0, iterations, one, start)[0]


def make(
    config: TRPOConfig,
    *,
    observation_size: int,
    action_size: int,
    action_bounds: tuple,
) -> PolicyLearner:
    """TRPO for an environment of these sizes and action bounds (see the module).

    Returns:
      The `PolicyLearner`. `update`'s metrics: `trpo/surrogate_gain` (the
      accepted step's improvement of the surrogate), `trpo/kl` (its mean
      KL), `trpo/step_fraction` (the accepted fraction, 0 when none was),
      `trpo/grad_norm`, `trpo/entropy`, `trpo/value_loss` (mean over the
      value steps), `value/mean`, `value/explained_variance`,
      `advantage/std`, `policy/log_std` and `train/nonfinite`.

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    ac = policy_gradient.actor_critic(
        config,
        observation_size=observation_size,
        action_size=action_size,
        action_bounds=action_bounds,
        owner="TRPO",
    )
    value_optimizer = optim.adam_optimizer(config.value_learning_rate)
    fractions = 0.5 ** jnp.arange(config.line_search_steps, dtype=jnp.float32)

    def policy_step(params, normalizer, rows: OnPolicyRows, advantage: jax.Array):
        flat, unravel = ravel_pytree(params["policy"])

        def dist_of(vector) -> Gaussian:
            return ac.distribution(
                {**params, "policy": unravel(vector)}, normalizer, rows.obs
            )

        old = jax.tree.map(jax.lax.stop_gradient, dist_of(flat))

        def surrogate(vector):
            dist = dist_of(vector)
            ratio = jnp.exp(gaussian_log_prob(dist, rows.raw_action) - rows.log_prob)
            bonus = config.entropy_coef * jnp.mean(gaussian_entropy(dist))
            return jnp.mean(ratio * advantage) + bonus

        def mean_kl(vector):
            return jnp.mean(gaussian_kl(old, dist_of(vector)))

        def fisher_product(v):
            hessian_v = jax.jvp(jax.grad(mean_kl), (flat,), (v,))[1]
            return hessian_v + config.cg_damping * v

        before, gradient = jax.value_and_grad(surrogate)(flat)
        direction = conjugate_gradient(fisher_product, gradient, config.cg_iterations)
        curvature = direction @ fisher_product(direction)
        scale = jnp.sqrt(2.0 * config.max_kl / jnp.maximum(curvature, 1e-12))
        full_step = scale * direction
        predicted = gradient @ full_step

        def projected(vector):
            # The log std's bounds apply before the KL is checked, so the
            # kept step is the one inside the trust region.
            policy = unravel(vector)
            policy = {
                **policy,
                "log_std": jnp.clip(
                    policy["log_std"], config.min_log_std, config.max_log_std
                ),
            }
            return ravel_pytree(policy)[0]

        def try_fraction(fraction):
            candidate = projected(flat + fraction * full_step)
            gain = surrogate(candidate) - before
            kl = mean_kl(candidate)
            ok = (kl <= config.max_kl) & (
                gain >= config.accept_ratio * fraction * predicted
            )
            return ok & (gain > 0), gain, kl

        accepted, gains, kls = jax.vmap(try_fraction)(fractions)
        first = jnp.argmax(accepted)  # 0 when none is accepted; masked below
        any_accepted = jnp.any(accepted)
        finite = jnp.isfinite(before) & jnp.all(jnp.isfinite(full_step))
        take = any_accepted & finite
        fraction = jnp.where(take, fractions[first], 0.0)
        new_flat = jnp.where(take, projected(flat + fraction * full_step), flat)
        metrics = {
            "trpo/surrogate_gain": jnp.where(take, gains[first], 0.0),
            "trpo/kl": jnp.where(take, kls[first], 0.0),
            "trpo/step_fraction": fraction,
            "trpo/grad_norm": jnp.linalg.norm(gradient),
            "trpo/entropy": jnp.mean(gaussian_entropy(old)),
            "train/nonfinite": optim.nonfinite_metric(finite),
        }
        return unravel(new_flat), metrics

    def value_fit(params, opt_state, normalizer, rows: OnPolicyRows, key):
        def loss_fn(value_params, batch):
            values = ac.value({**params, "value": value_params}, normalizer, batch.obs)
            return 0.5 * jnp.mean((values - batch.target) ** 2)

        def one_step(carry, batch):
            value_params, opt_state = carry
            loss, grads = jax.value_and_grad(loss_fn)(value_params, batch)
            _, finite = optim.grad_norm_and_finite(loss, grads)
            updates, new_opt_state = value_optimizer.update(
                grads, opt_state, value_params
            )
            stepped = (optax.apply_updates(value_params, updates), new_opt_state)
            carry = optim.keep_if_finite(finite, stepped, carry)
            return carry, (loss, optim.nonfinite_metric(finite))

        def epoch(carry, index):
            shuffled = optim.minibatches(
                rows, jax.random.fold_in(key, index), config.value_minibatches
            )
            return jax.lax.scan(one_step, carry, shuffled)

        (value_params, opt_state), (losses, skipped) = jax.lax.scan(
            epoch,
            (params["value"], opt_state),
            jnp.arange(config.value_epochs, dtype=jnp.uint32),
        )
        return value_params, opt_state, jnp.mean(losses), jnp.sum(skipped)

    def trust_region_step(state: base.TrainState, rows: OnPolicyRows, key):
        optim.check_divides(
            "trpo", "value_minibatches", config.value_minibatches, rows.target.shape[0]
        )
        advantage = rows.advantage
        if config.normalize_advantages:
            advantage = advantages.normalize_advantage(advantage)
        policy_params, metrics = policy_step(
            state.params, state.normalizer, rows, advantage
        )
        value_params, opt_state, value_loss, value_skipped = value_fit(
            state.params, state.opt_state, state.normalizer, rows, key
        )
        stepped = state.replace(
            params=ac.project({"policy": policy_params, "value": value_params}),
            opt_state=opt_state,
            step=state.step + 1,
        )
        metrics["trpo/value_loss"] = value_loss
        metrics["train/nonfinite"] = metrics["train/nonfinite"] + value_skipped
        return stepped, metrics

    return policy_gradient.policy_learner(
        config,
        ac,
        init_opt_state=lambda params: value_optimizer.init(params["value"]),
        policy_step=trust_region_step,
        # One policy step and the value fit's steps.
        num_steps=1 + config.value_epochs * config.value_minibatches,
    )
