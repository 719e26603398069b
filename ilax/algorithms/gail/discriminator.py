"""The discriminator of adversarial imitation, and GAIL's reward from it.

`make(config, observation_size=..., action_size=..., expert=...)` returns
a `Discriminator`: pure functions over a `DiscriminatorState`. The
classifier's logit l(x) scores a transition x = (s, a), or (s, s') for a
state-only discriminator; D = sigmoid(l) is the probability that x is the
expert's. Its loss is the binary cross-entropy of expert (label 1) against
policy (label 0) transitions, minus an entropy bonus on D, plus an optional
gradient penalty. The reward is -log(1 - D) = softplus(l) or
log D = -softplus(-l).

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
from ilax.algorithms.gail.config import DiscriminatorConfig
from ilax.networks import mlp
from ilax.types import Metrics, Params, Trajectory


class Transitions(NamedTuple):
    """Flat transitions `[N, ...]`: what a discriminator classifies."""

    obs: Any  # [N, O]
    action: Any  # [N, A] as the environment executed it
    next_obs: Any  # [N, O]


def from_trajectory(trajectory: Trajectory) -> Transitions:
    """A trajectory's steps as flat transitions (its executed actions)."""

    def flat(x):
        return x.reshape((-1,) + x.shape[2:])

    return Transitions(
        flat(trajectory.obs), flat(trajectory.action), flat(trajectory.next_obs)
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
    logit: Any  # (params, Transitions) -> [N]
    update: Any  # (state, expert, policy, key) -> (state, metrics)
    reward: Any  # (state, Transitions) -> [N]


def bernoulli_entropy(logit: jax.Array) -> jax.Array:
    """Entropy of Bernoulli(sigmoid(logit)), elementwise, stable for any logit."""
    p = jax.nn.sigmoid(logit)
    return jax.nn.softplus(logit) - p * logit


def make(
    config: DiscriminatorConfig,
    *,
    observation_size: int,
    action_size: int,
    expert: Transitions,
) -> Discriminator:
    """The discriminator of `config`, standardized by the `expert` transitions.

    Raises:
      ValueError: an invalid config field, or expert transitions of other
        widths than the task's, naming them.
    """
    config.check()
    for field, width in (
        ("obs", observation_size),
        ("action", action_size),
        ("next_obs", observation_size),
    ):
        shape = np.shape(getattr(expert, field))
        if len(shape) != 2 or shape[1] != width:
            raise ValueError(
                f"discriminator: the expert transitions' {field!r} must have shape "
                f"[N, {width}] for this task; got {shape}"
            )

    def raw_features(rows: Transitions) -> jax.Array:
        second = rows.next_obs if config.state_only else rows.action
        return jnp.concatenate(
            [jnp.asarray(rows.obs, jnp.float32), jnp.asarray(second, jnp.float32)], -1
        )

    expert_features = np.asarray(raw_features(expert))
    mean = jnp.asarray(expert_features.mean(axis=0))
    std = jnp.asarray(np.maximum(expert_features.std(axis=0), config.min_std))
    network = mlp(
        expert_features.shape[1],
        1,
        hidden_sizes=tuple(config.hidden_sizes),
        activation=config.activation,
    )
    optimizer = optim.adam_optimizer(config.learning_rate)

    def features(rows: Transitions) -> jax.Array:
        raw = raw_features(rows)
        return (raw - jnp.broadcast_to(mean, raw.shape)) / jnp.broadcast_to(
            std, raw.shape
        )

    def logit(params: Params, rows: Transitions) -> jax.Array:
        return network.apply(params, features(rows))[..., 0]

    def init(key: jax.Array) -> DiscriminatorState:
        params = network.init(key)
        return DiscriminatorState(
            params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
        )

    def penalty(params, expert_x, policy_x, key):
        mix = jax.random.uniform(key, (expert_x.shape[0], 1))
        points = mix * expert_x + (1.0 - mix) * policy_x

        def one(x):
            return network.apply(params, x)[0]

        grads = jax.vmap(jax.grad(one))(points)
        norms = jnp.sqrt(jnp.sum(grads**2, axis=-1) + 1e-12)
        return jnp.mean((norms - 1.0) ** 2)

    def loss_fn(params, expert_rows, policy_rows, key):
        expert_x, policy_x = features(expert_rows), features(policy_rows)
        expert_logit = network.apply(params, expert_x)[..., 0]
        policy_logit = network.apply(params, policy_x)[..., 0]
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
                params, expert_x, policy_x, key
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
        state: DiscriminatorState,
        expert_rows: Transitions,
        policy_rows: Transitions,
        key: jax.Array,
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

    def reward(state: DiscriminatorState, rows: Transitions) -> jax.Array:
        value = logit(state.params, rows)
        if config.reward == "log_d":
            return -jax.nn.softplus(-value)
        return jax.nn.softplus(value)

    return Discriminator(init=init, logit=logit, update=update, reward=reward)
