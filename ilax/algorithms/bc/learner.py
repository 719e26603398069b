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
import numpy as np
import optax
from flax import struct

from ilax import policies
from ilax.algorithms.bc import losses
from ilax.algorithms.bc.config import BCConfig
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
class Normalizer:
    """Per-feature statistics that standardize inputs and actions."""

    obs_mean: jax.Array  # [O] of the field the policy reads
    obs_std: jax.Array  # [O]
    action_mean: jax.Array  # [A]
    action_std: jax.Array  # [A]


@struct.dataclass
class TrainState:
    """Everything BC needs to continue bit-identically (keys come from the caller)."""

    params: Params
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


def _leading(stat: jax.Array, x: jax.Array) -> jax.Array:
    # Explicit broadcasting: feature statistics [F] against inputs [..., F].
    return jnp.broadcast_to(stat, x.shape)


def normalize(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """`(x - mean) / std` over the last axis of `x`."""
    return (x - _leading(mean, x)) / _leading(std, x)


def denormalize(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """`x * std + mean` over the last axis of `x`."""
    return x * _leading(std, x) + _leading(mean, x)


def fit_normalizer(
    inputs: jax.Array, actions: jax.Array, *, min_std: float, enabled: bool = True
) -> Normalizer:
    """Mean and floored std of each column; the identity if not `enabled`."""

    def stats(x):
        x = jnp.asarray(x, jnp.float32)
        if not enabled:
            return jnp.zeros(x.shape[-1]), jnp.ones(x.shape[-1])
        return jnp.mean(x, axis=0), jnp.maximum(jnp.std(x, axis=0), min_std)

    obs_mean, obs_std = stats(inputs)
    action_mean, action_std = stats(actions)
    return Normalizer(obs_mean, obs_std, action_mean, action_std)


def check_batch(
    config: BCConfig,
    batch: Batch,
    *,
    observation_size: int,
    action_size: int,
    where: str,
) -> None:
    """Checks the shapes of the fields BC reads (at trace time).

    Raises:
      ValueError: naming the field, the expected and the actual size, for a
        field that is not 2-D, has no rows, or whose width differs from the
        learner's `observation_size`/`action_size`.
    """
    inputs = getattr(batch, config.input)
    rows = {}
    for field, array, size, role in (
        (config.input, inputs, observation_size, "observation"),
        ("action", batch.action, action_size, "action"),
    ):
        shape = tuple(jnp.shape(array))
        if len(shape) != 2:
            raise ValueError(
                f"BC {where}: field {field!r} must be 2-D [rows, {size}]; got shape "
                f"{shape}"
            )
        if shape[0] == 0:
            raise ValueError(
                f"BC {where}: field {field!r} is empty (0 rows); expected at least "
                f"one row of size {size}"
            )
        if shape[1] != size:
            raise ValueError(
                f"BC {where}: the dataset's {role} size (field {field!r}) is "
                f"{shape[1]}, but the learner's {role}_size is {size}"
            )
        rows[field] = shape[0]
    if len(set(rows.values())) != 1:
        raise ValueError(
            f"BC {where}: fields disagree in rows: "
            + ", ".join(f"{field!r} has {n}" for field, n in rows.items())
        )


def _check_finite(config: BCConfig, data: Batch) -> None:
    for field in (config.input, "action"):
        array = getattr(data, field)
        if isinstance(array, jax.core.Tracer):
            continue  # only concrete data can be checked before it is used
        values = np.asarray(array)
        bad = ~np.isfinite(values)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"BC init: field {field!r} holds {int(bad.sum())} non-finite "
                f"values (expected all finite); the first at index {first}"
            )


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


def _optimizer(config: BCConfig) -> optax.GradientTransformation:
    adam = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    if config.max_grad_norm > 0:
        return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), adam)
    return adam


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
    for name, size in (
        ("observation_size", observation_size),
        ("action_size", action_size),
    ):
        if not (isinstance(size, int) and size > 0):
            raise ValueError(f"bc.make: {name} must be a positive int; got {size!r}")
    network = _network(config, observation_size, action_size)
    optimizer = _optimizer(config)
    sizes = {"observation_size": observation_size, "action_size": action_size}

    def predict(params: Params, normalized_inputs: jax.Array):
        """The network's output and its mode, both in normalized units."""
        out = network.apply(params, normalized_inputs)
        if config.loss == "mse":
            return out, out
        if config.loss == "gaussian":
            return out, out.mean
        return out, mixture_mode(out)

    def init(key: jax.Array, data: Batch) -> TrainState:
        check_batch(config, data, where="init", **sizes)
        _check_finite(config, data)
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
        n = normalizer
        raw_inputs = jnp.asarray(getattr(batch, config.input), jnp.float32)
        raw_action = jnp.asarray(batch.action, jnp.float32)
        inputs = normalize(raw_inputs, n.obs_mean, n.obs_std)
        target = normalize(raw_action, n.action_mean, n.action_std)
        out, mode = predict(params, inputs)
        if config.loss == "mse":
            loss = losses.mse_loss(out, target)
        elif config.loss == "gaussian":
            loss = losses.gaussian_nll(out, target)
        else:
            loss = losses.mixture_nll(out, target)
        raw_mode = denormalize(mode, n.action_mean, n.action_std)
        return loss, jnp.mean((raw_mode - raw_action) ** 2)

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        del key  # the BC losses are deterministic
        check_batch(config, batch, where="update", **sizes)
        (loss, action_mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.normalizer, batch
        )
        grad_norm = optax.tree.norm(grads)
        finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)

        def keep_if_finite(new, old):
            return jax.tree.map(lambda n, o: jnp.where(finite, n, o), new, old)

        state = state.replace(
            params=keep_if_finite(params, state.params),
            opt_state=keep_if_finite(opt_state, state.opt_state),
            step=state.step + 1,
        )
        metrics = {
            "bc/loss": loss,
            "bc/grad_norm": grad_norm,
            "bc/action_mse": action_mse,
            "train/nonfinite": 1.0 - finite.astype(jnp.float32),
        }
        return state, metrics

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            raw_inputs = jnp.asarray(getattr(observation, config.input), jnp.float32)
            inputs = normalize(raw_inputs, n.obs_mean, n.obs_std)
            out, mode = predict(state.params, inputs)
            action = sample(out, key) if config.stochastic_policy else mode
            return denormalize(action, n.action_mean, n.action_std)

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
