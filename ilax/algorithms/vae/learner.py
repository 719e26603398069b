"""A conditional VAE policy as a `Learner`: init, update and make_policy, all pure.

An MLP encoder q(z | x, c) gives the mean and log-variance of a diagonal
Gaussian over the latent, an MLP decoder p(x | z, c) the mean of a
unit-variance Gaussian over the (normalized) action x, and both are trained
on the negative ELBO with the reparameterization trick; c is the normalized
`obs` (or `privileged`) field. The policy decodes z ~ N(0, I) per
environment, or z = 0. The action may be a flattened chunk [Tp * A]: nothing
here reads its structure. The normalizer (shared with behavior cloning) is
fitted once, in `init`. A step whose loss or gradients are not finite leaves
the parameters and optimizer state untouched and says so in
`train/nonfinite`.

`check_batch` and `check_finite` are the input checks the generative
learners of this stage (VAE, GAN) share.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from ilax import policies
from ilax.algorithms.bc.learner import (
    Normalizer,
    denormalize,
    fit_normalizer,
    normalize,
)
from ilax.algorithms.vae import losses
from ilax.algorithms.vae.config import VAEConfig
from ilax.networks import mlp
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything the learner needs to continue bit-identically."""

    params: Params  # {"encoder": ..., "decoder": ...}
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


def check_sizes(owner: str, **sizes: int) -> None:
    """Raises ValueError naming the first size that is not a positive int."""
    for name, size in sizes.items():
        if not (isinstance(size, int) and size > 0):
            raise ValueError(f"{owner}: {name} must be a positive int; got {size!r}")


def check_batch(
    batch: Batch,
    *,
    owner: str,
    input_field: str,
    observation_size: int,
    action_size: int,
    where: str,
) -> None:
    """Checks the shapes of the conditioning field and the actions (at trace time).

    Raises:
      ValueError: naming the field, the expected and the actual shape, for a
        field that is not [rows >= 1, size], or fields that disagree in rows.
    """
    rows = {}
    for field, size in ((input_field, observation_size), ("action", action_size)):
        shape = tuple(jnp.shape(getattr(batch, field)))
        if len(shape) != 2 or shape[0] == 0 or shape[1] != size:
            raise ValueError(
                f"{owner} {where}: field {field!r} must have shape [rows >= 1, "
                f"{size}]; got {shape}"
            )
        rows[field] = shape[0]
    if rows[input_field] != rows["action"]:
        raise ValueError(
            f"{owner} {where}: fields disagree in rows: {input_field!r} has "
            f"{rows[input_field]}, 'action' has {rows['action']}"
        )


def check_finite(batch: Batch, *, owner: str, fields: Sequence[str]) -> None:
    """Raises ValueError naming the first field of concrete data with a NaN or inf."""
    for field in fields:
        array = getattr(batch, field)
        if isinstance(array, jax.core.Tracer):
            continue  # only concrete data can be checked before it is used
        bad = ~np.isfinite(np.asarray(array))
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{owner} init: field {field!r} holds {int(bad.sum())} non-finite "
                f"values (expected all finite); the first at index {first}"
            )


def make(config: VAEConfig, *, observation_size: int, action_size: int) -> Learner:
    """The conditional VAE learner (see the module docstring).

    Args:
      config: the settings; read once here.
      observation_size: width of the conditioning field (`config.input`).
      action_size: width of the actions (A, or Tp * A for a flattened chunk).

    Returns:
      `Learner(init, update, make_policy)`. `update`'s metrics are
      `vae/loss` (reconstruction + kl_weight * KL), `vae/reconstruction`
      (half the squared error summed over action dimensions, normalized
      units), `vae/kl` (nats, summed over latent dimensions), `vae/grad_norm`
      and `train/nonfinite` (1.0 when the step was skipped); all but the last
      are batch means. The policy is stateless.

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    config.check()
    check_sizes("vae.make", observation_size=observation_size, action_size=action_size)
    owner, latent = "vae", config.latent_size
    layers = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }
    encoder = mlp(action_size + observation_size, 2 * latent, **layers)
    decoder = mlp(latent + observation_size, action_size, **layers)
    optimizer = optax.adamw(config.learning_rate, weight_decay=config.weight_decay)
    checks = {
        "owner": owner,
        "input_field": config.input,
        "observation_size": observation_size,
        "action_size": action_size,
    }

    def decode(params: Params, z: jax.Array, cond: jax.Array) -> jax.Array:
        return decoder.apply(params["decoder"], jnp.concatenate([z, cond], axis=-1))

    def init(key: jax.Array, data: Batch) -> TrainState:
        check_batch(data, where="init", **checks)
        check_finite(data, owner=owner, fields=(config.input, "action"))
        key_encoder, key_decoder = jax.random.split(key)
        normalizer = fit_normalizer(
            getattr(data, config.input),
            data.action,
            min_std=config.min_std,
            enabled=config.normalize,
        )
        params = {
            "encoder": encoder.init(key_encoder),
            "decoder": decoder.init(key_decoder),
        }
        return TrainState(
            params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
            normalizer=normalizer,
        )

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        n = normalizer
        raw_cond = jnp.asarray(getattr(batch, config.input), jnp.float32)
        cond = normalize(raw_cond, n.obs_mean, n.obs_std)
        x = normalize(
            jnp.asarray(batch.action, jnp.float32), n.action_mean, n.action_std
        )
        stats = encoder.apply(params["encoder"], jnp.concatenate([x, cond], axis=-1))
        mean, log_var = stats[..., :latent], stats[..., latent:]
        z = losses.reparameterize(mean, log_var, key)
        return losses.negative_elbo(
            decode(params, z, cond), x, mean, log_var, config.kl_weight
        )

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        check_batch(batch, where="update", **checks)
        (loss, (reconstruction, kl)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state.params, state.normalizer, batch, key
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
            "vae/loss": loss,
            "vae/reconstruction": reconstruction,
            "vae/kl": kl,
            "vae/grad_norm": grad_norm,
            "train/nonfinite": 1.0 - finite.astype(jnp.float32),
        }
        return state, metrics

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            raw_cond = jnp.asarray(getattr(observation, config.input), jnp.float32)
            cond = normalize(raw_cond, n.obs_mean, n.obs_std)
            if config.prior_sample:
                z = jax.random.normal(key, (latent,), jnp.float32)
            else:
                z = jnp.zeros((latent,), jnp.float32)
            action = decode(state.params, z, cond)
            return denormalize(action, n.action_mean, n.action_std)

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
