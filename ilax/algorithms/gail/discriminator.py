"""The discriminator of adversarial imitation, and GAIL's reward from it.

`classifier(config, init_params=..., inputs=..., score=...)` is what GAIL
and AIRL share: pure functions over a `DiscriminatorState` that train a
logit l(rows) to tell expert rows from the policy's, D = sigmoid(l) being
the probability that a row is the expert's. Its loss is the binary
cross-entropy of expert (label 1) against policy (label 0) rows, minus an
entropy bonus on D, plus an optional gradient penalty on the logit's
gradient with respect to the (standardized) inputs.

`make(config, observation_size=..., action_size=..., expert=...)` is
GAIL's: an MLP logit of a transition x = (s, a), or (s, s') for a
state-only discriminator, whose reward is -log(1 - D) = softplus(l) or
log D = -softplus(-l). AIRL's structured logit is `ilax.algorithms.airl`.

Inputs are standardized with the statistics of the expert's transitions,
fixed when the discriminator is made (they are constants of the program).
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from ilax.algorithms import optim
from ilax.algorithms.gail.config import ClassifierConfig, DiscriminatorConfig
from ilax.networks import mlp
from ilax.types import Metrics, Params, Trajectory


class Transitions(NamedTuple):
    """Flat transitions `[N, ...]`: what a discriminator classifies."""

    obs: Any  # [N, O]
    action: Any  # [N, A] as the environment executed it
    next_obs: Any  # [N, O]
    terminated: Any = None  # [N] bool, the task ended there; None: never


def from_trajectory(trajectory: Trajectory) -> Transitions:
    """A trajectory's steps as flat transitions (its executed actions)."""

    def flat(x):
        return x.reshape((-1,) + x.shape[2:])

    return Transitions(
        obs=flat(trajectory.obs),
        action=flat(trajectory.action),
        next_obs=flat(trajectory.next_obs),
        terminated=flat(trajectory.terminated),
    )


@struct.dataclass
class DiscriminatorState:
    """The classifier's parameters, their Adam state and its step count."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)


class Discriminator(NamedTuple):
    """A discriminator as pure functions (see the module docstring)."""

    init: Any  # key -> DiscriminatorState
    logit: Any  # (params, rows) -> [N]
    update: Any  # (state, expert rows, policy rows, key) -> (state, metrics)
    reward: Any  # (state, rows) -> [N], the policy's reward


def bernoulli_entropy(logit: jax.Array) -> jax.Array:
    """Entropy of Bernoulli(sigmoid(logit)), elementwise, stable for any logit."""
    p = jax.nn.sigmoid(logit)
    return jax.nn.softplus(logit) - p * logit


def check_expert_widths(
    owner: str, expert: Transitions, observation_size: int, action_size: int
) -> None:
    """Raises ValueError unless the expert transitions have the task's widths."""
    for field, width in (
        ("obs", observation_size),
        ("action", action_size),
        ("next_obs", observation_size),
    ):
        shape = np.shape(getattr(expert, field))
        if len(shape) != 2 or shape[1] != width:
            raise ValueError(
                f"{owner}: the expert transitions' {field!r} must have shape "
                f"[N, {width}] for this task; got {shape}"
            )


def standardizer(expert_rows: Any, min_std: float):
    """`x -> (x - mean) / std` with the statistics of `expert_rows` `[N, F]`."""
    rows = np.asarray(expert_rows, np.float32)
    mean = jnp.asarray(rows.mean(axis=0))
    std = jnp.asarray(np.maximum(rows.std(axis=0), min_std))

    def standardize(x: jax.Array) -> jax.Array:
        x = jnp.asarray(x, jnp.float32)
        return (x - jnp.broadcast_to(mean, x.shape)) / jnp.broadcast_to(std, x.shape)

    return standardize


def classifier(
    config: ClassifierConfig, *, init_params, inputs, score
) -> Discriminator:
    """The training of a logit of expert against policy rows (no reward yet).

    Args:
      config: the optimizer, entropy bonus and gradient penalty settings.
      init_params: `key -> params`.
      inputs: `rows -> x`, the differentiable inputs (a pytree of `[N, ...]`
        arrays, standardized); the gradient penalty is taken with respect
        to them.
      score: `(params, x, rows) -> [N]` logits; `rows` carries what is not
        differentiated (a termination flag, a log-probability). Must also
        accept one row (no leading axis), for the gradient penalty.

    Returns:
      A `Discriminator` whose `reward` is None (the method sets it).
    """
    optimizer = optim.adam_optimizer(config.learning_rate)

    def logit(params: Params, rows) -> jax.Array:
        return score(params, inputs(rows), rows)

    def init(key: jax.Array) -> DiscriminatorState:
        params = init_params(key)
        return DiscriminatorState(
            params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
        )

    def penalty(params, expert_x, policy_x, policy_rows, key):
        count = jax.tree.leaves(expert_x)[0].shape[0]
        mix = jax.random.uniform(key, (count,))

        def between(e, p):
            weight = mix.reshape((count,) + (1,) * (e.ndim - 1))
            return weight * e + (1.0 - weight) * p

        points = jax.tree.map(between, expert_x, policy_x)
        grads = jax.vmap(jax.grad(lambda x, row: score(params, x, row)))(
            points, policy_rows
        )
        squares = sum(
            jnp.sum(g.reshape((count, -1)) ** 2, axis=-1)
            for g in jax.tree.leaves(grads)
        )
        return jnp.mean((jnp.sqrt(squares + 1e-12) - 1.0) ** 2)

    def loss_fn(params, expert_rows, policy_rows, key):
        expert_x, policy_x = inputs(expert_rows), inputs(policy_rows)
        expert_logit = score(params, expert_x, expert_rows)
        policy_logit = score(params, policy_x, policy_rows)
        # -log D on expert rows, -log(1 - D) on policy rows.
        cross_entropy = jnp.mean(jax.nn.softplus(-expert_logit)) + jnp.mean(
            jax.nn.softplus(policy_logit)
        )
        entropy = jnp.mean(
            bernoulli_entropy(jnp.concatenate([expert_logit, policy_logit]))
        )
        loss = cross_entropy - config.entropy_coef * entropy
        if config.gradient_penalty > 0:
            loss = loss + config.gradient_penalty * penalty(
                params, expert_x, policy_x, policy_rows, key
            )
        return loss, {
            "cross_entropy": cross_entropy,
            "entropy": entropy,
            "expert_accuracy": jnp.mean((expert_logit > 0).astype(jnp.float32)),
            "policy_accuracy": jnp.mean((policy_logit < 0).astype(jnp.float32)),
        }

    def one_step(state, expert_rows, policy_rows, key):
        (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, expert_rows, policy_rows, key
        )
        grad_norm, finite = optim.grad_norm_and_finite(loss, grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        stepped = {
            "params": optax.apply_updates(state.params, updates),
            "opt_state": opt_state,
        }
        current = {"params": state.params, "opt_state": state.opt_state}
        state = state.replace(
            **optim.keep_if_finite(finite, stepped, current), step=state.step + 1
        )
        metrics = {
            "discriminator/loss": loss,
            **{f"discriminator/{name}": value for name, value in aux.items()},
            "discriminator/grad_norm": grad_norm,
            "train/nonfinite": optim.nonfinite_metric(finite),
        }
        return state, metrics

    def update(
        state: DiscriminatorState, expert_rows, policy_rows, key: jax.Array
    ) -> tuple[DiscriminatorState, Metrics]:
        def body(state, index):
            return one_step(
                state, expert_rows, policy_rows, jax.random.fold_in(key, index)
            )

        state, metrics = jax.lax.scan(
            body,
            state,
            jnp.arange(config.updates_per_iteration, dtype=jnp.uint32),
        )
        summary = {name: values[-1] for name, values in metrics.items()}
        summary["train/nonfinite"] = jnp.sum(metrics["train/nonfinite"])
        return state, summary

    return Discriminator(init=init, logit=logit, update=update, reward=None)


def make(
    config: DiscriminatorConfig,
    *,
    observation_size: int,
    action_size: int,
    expert: Transitions,
) -> Discriminator:
    """GAIL's discriminator of `config`, standardized by the `expert` transitions.

    Raises:
      ValueError: an invalid config field, or expert transitions of other
        widths than the task's, naming them.
    """
    config.check()
    check_expert_widths("discriminator", expert, observation_size, action_size)

    def raw_features(rows: Transitions) -> jax.Array:
        second = rows.next_obs if config.state_only else rows.action
        return jnp.concatenate(
            [jnp.asarray(rows.obs, jnp.float32), jnp.asarray(second, jnp.float32)], -1
        )

    expert_features = np.asarray(raw_features(expert))
    standardize = standardizer(expert_features, config.min_std)
    network = mlp(
        expert_features.shape[1],
        1,
        hidden_sizes=tuple(config.hidden_sizes),
        activation=config.activation,
    )
    discriminator = classifier(
        config,
        init_params=network.init,
        inputs=lambda rows: standardize(raw_features(rows)),
        score=lambda params, x, rows: network.apply(params, x)[..., 0],
    )

    def reward(state: DiscriminatorState, rows: Transitions) -> jax.Array:
        value = discriminator.logit(state.params, rows)
        if config.reward == "log_d":
            return -jax.nn.softplus(-value)
        return jax.nn.softplus(value)

    return discriminator._replace(reward=reward)
