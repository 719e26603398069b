"""Behavior cloning as a `Learner`: init, update and make_policy, all pure.

The policy network regresses normalized expert labels on normalized inputs
(the `obs` or `privileged` field, per the config) with an MSE, Gaussian or
mixture-of-Gaussians loss. The normalizer is fitted once, in `init`, and
stored in the train state, so a restored state acts exactly like the saved
one. A step whose loss or gradients are not finite leaves the parameters and
optimizer state untouched and says so in `train/nonfinite`.
"""

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ilax import policies
from ilax.algorithms import checks, optim
from ilax.algorithms.bc import losses
from ilax.algorithms.bc.config import BCConfig
from ilax.data.normalizer import Normalizer, fit_normalizer
from ilax.networks import (
    Network,
    gaussian_mlp,
    mixture_mlp,
    mixture_mode,
    mlp,
    sample,
)
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything BC needs to continue bit-identically (keys come from the caller)."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


def _network(config: BCConfig, observation_size: int, action_size: int) -> Network:
    layers = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }
    heads = {**layers, "min_log_std": config.min_log_std}
    if config.loss == "mse":
        return mlp(observation_size, action_size, **layers)
    if config.loss == "gaussian":
        return gaussian_mlp(observation_size, action_size, **heads)
    return mixture_mlp(
        observation_size, action_size, num_components=config.num_components, **heads
    )


def make(config: BCConfig, *, observation_size: int, action_size: int) -> Learner:
    """Behavior cloning as a `Learner` (see the module docstring).

    Args:
      config: the settings; read once here.
      observation_size: width of the input field (`obs` or `privileged`, per
        `config.input`).
      action_size: width of the actions.

    Returns:
      `Learner(init, update, make_policy)`. `update`'s metrics are `bc/loss`,
      `bc/grad_norm`, `bc/action_mse` (the predicted mode against the labels,
      squared error in raw action units, averaged over dimensions) and
      `train/nonfinite` (1.0 when the step was skipped).

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    config.check()
    checks.check_sizes(
        "bc.make", observation_size=observation_size, action_size=action_size
    )
    network = _network(config, observation_size, action_size)
    optimizer = optim.adam_optimizer(
        config.learning_rate,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
    )
    batch_checks = {
        "owner": "BC",
        "input_field": config.input,
        "observation_size": observation_size,
        "action_size": action_size,
    }

    def predict(params: Params, normalized_inputs: jax.Array):
        """The network's output and its mode, both in normalized units."""
        out = network.apply(params, normalized_inputs)
        if config.loss == "mse":
            return out, out
        if config.loss == "gaussian":
            return out, out.mean
        return out, mixture_mode(out)

    def init(key: jax.Array, data: Batch) -> TrainState:
        checks.check_batch(data, where="init", **batch_checks)
        checks.check_finite(data, owner="BC", input_field=config.input)
        normalizer = fit_normalizer(
            getattr(data, config.input),
            data.action,
            min_std=config.min_std,
            enabled=config.normalize,
        )
        params = network.init(key)
        return TrainState(
            params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
            normalizer=normalizer,
        )

    def loss_fn(params, normalizer: Normalizer, batch: Batch):
        raw_action = jnp.asarray(batch.action, jnp.float32)
        inputs = normalizer.normalize_inputs(getattr(batch, config.input))
        target = normalizer.normalize_actions(raw_action)
        out, mode = predict(params, inputs)
        if config.loss == "mse":
            loss = losses.mse_loss(out, target)
        elif config.loss == "gaussian":
            loss = losses.gaussian_nll(out, target)
        else:
            loss = losses.mixture_nll(out, target)
        raw_mode = normalizer.denormalize_actions(mode)
        return loss, jnp.mean((raw_mode - raw_action) ** 2)

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        del key  # the BC losses are deterministic
        checks.check_batch(batch, where="update", **batch_checks)
        (loss, action_mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.normalizer, batch
        )
        step = optim.guarded_step(optimizer, loss, grads, state.params, state.opt_state)
        state = state.replace(
            params=step.params, opt_state=step.opt_state, step=state.step + 1
        )
        metrics = {
            "bc/loss": loss,
            "bc/grad_norm": step.grad_norm,
            "bc/action_mse": action_mse,
            "train/nonfinite": 1.0 - step.finite.astype(jnp.float32),
        }
        return state, metrics

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            inputs = n.normalize_inputs(getattr(observation, config.input))
            out, mode = predict(state.params, inputs)
            action = sample(out, key) if config.stochastic_policy else mode
            return n.denormalize_actions(action)

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
