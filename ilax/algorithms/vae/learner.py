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
"""

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ilax import policies
from ilax.algorithms import checks, optim
from ilax.algorithms.vae import losses
from ilax.algorithms.vae.config import VAEConfig
from ilax.data.normalizer import Normalizer, fit_normalizer
from ilax.networks import mlp
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything the learner needs to continue bit-identically."""

    params: Params  # {"encoder": ..., "decoder": ...}
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


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
    checks.check_sizes(
        "vae.make", observation_size=observation_size, action_size=action_size
    )
    owner, latent = "vae", config.latent_size
    layers = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }
    encoder = mlp(action_size + observation_size, 2 * latent, **layers)
    decoder = mlp(latent + observation_size, action_size, **layers)
    optimizer = optim.adam_optimizer(
        config.learning_rate, weight_decay=config.weight_decay
    )
    batch_checks = {
        "owner": owner,
        "input_field": config.input,
        "observation_size": observation_size,
        "action_size": action_size,
    }

    def decode(params: Params, z: jax.Array, cond: jax.Array) -> jax.Array:
        return decoder.apply(params["decoder"], jnp.concatenate([z, cond], axis=-1))

    def init(key: jax.Array, data: Batch) -> TrainState:
        checks.check_batch(data, where="init", **batch_checks)
        checks.check_finite(data, owner=owner, input_field=config.input)
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
        cond = normalizer.normalize_inputs(getattr(batch, config.input))
        x = normalizer.normalize_actions(batch.action)
        stats = encoder.apply(params["encoder"], jnp.concatenate([x, cond], axis=-1))
        mean, log_var = stats[..., :latent], stats[..., latent:]
        z = losses.reparameterize(mean, log_var, key)
        return losses.negative_elbo(
            decode(params, z, cond), x, mean, log_var, config.kl_weight
        )

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        checks.check_batch(batch, where="update", **batch_checks)
        return optim.latent_variable_update(
            "vae", optimizer, loss_fn, state, batch, key
        )

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            cond = n.normalize_inputs(getattr(observation, config.input))
            if config.prior_sample:
                z = jax.random.normal(key, (latent,), jnp.float32)
            else:
                z = jnp.zeros((latent,), jnp.float32)
            action = decode(state.params, z, cond)
            return n.denormalize_actions(action)

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
