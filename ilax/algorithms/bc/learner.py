"""Behavior cloning as a `Learner`: fit_normalizer, init, update and make_policy.

The policy network regresses normalized expert labels on normalized inputs
(the `obs` or `privileged` field, per the config) with an MSE, Gaussian or
mixture-of-Gaussians loss. With `horizon` > 1 the label is a flattened chunk
of that many actions and BC regresses all of them at once (the baseline of
the chunked policies). A step whose loss or gradients are not finite leaves
the parameters and optimizer state untouched and says so in
`train/nonfinite`.
"""

import jax
import jax.numpy as jnp

from ilax.algorithms import base, optim
from ilax.algorithms.bc import losses
from ilax.algorithms.bc.config import BCConfig
from ilax.data.normalizer import Normalizer
from ilax.networks import (
    Network,
    gaussian_mlp,
    mixture_mlp,
    mixture_mode,
    mlp,
    sample,
)
from ilax.types import Batch, Learner, Metrics, Params, Policy


def _network(config: BCConfig, observation_size: int, action_size: int) -> Network:
    layers = base.mlp_layers(config)
    heads = {**layers, "min_log_std": config.min_log_std}
    if config.loss == "mse":
        return mlp(observation_size, action_size, **layers)
    if config.loss == "gaussian":
        return gaussian_mlp(observation_size, action_size, **heads)
    return mixture_mlp(
        observation_size, action_size, num_components=config.num_components, **heads
    )


def make(
    config: BCConfig, *, observation_size: int, action_size: int, horizon: int = 1
) -> Learner:
    """Behavior cloning as a `Learner` (see the module docstring).

    Arguments and errors as every `ilax.types.LearnerFactory`.

    Returns:
      `Learner(fit_normalizer, init, update, make_policy)`. `update`'s
      metrics are `bc/loss`, `bc/grad_norm`, `bc/action_mse` (the predicted
      mode against the labels, squared error in raw action units, averaged
      over dimensions) and `train/nonfinite` (1.0 when the step was skipped).
    """
    spec = base.data_spec("BC", config, observation_size, action_size, horizon)
    network = _network(config, observation_size, spec.action_size)
    optimizer = optim.adam_optimizer(
        config.learning_rate,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
    )

    def predict(params: Params, normalized_inputs: jax.Array):
        """The network's output and its mode, both in normalized units."""
        out = network.apply(params, normalized_inputs)
        if config.loss == "mse":
            return out, out
        if config.loss == "gaussian":
            return out, out.mean
        return out, mixture_mode(out)

    def init(key: jax.Array, normalizer: Normalizer) -> base.TrainState:
        return base.new_state(spec, network.init(key), optimizer, normalizer)

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
        return loss, {"action_mse": jnp.mean((raw_mode - raw_action) ** 2)}

    def update(
        state: base.TrainState, batch: Batch, key: jax.Array
    ) -> tuple[base.TrainState, Metrics]:
        del key  # the BC losses are deterministic
        base.check_batch(spec, batch, "update")
        return optim.guarded_update(optimizer, loss_fn, state, batch, family="bc")

    def make_policy(state: base.TrainState) -> Policy:
        def act(inputs: jax.Array, key: jax.Array) -> jax.Array:
            out, mode = predict(state.params, inputs)
            return sample(out, key) if config.stochastic_policy else mode

        return base.normalized_policy(spec, state.normalizer, act)

    return base.learner(spec, config, init, update, make_policy)
