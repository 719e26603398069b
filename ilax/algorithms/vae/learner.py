"""A conditional VAE policy as a `Learner`: fit_normalizer, init, update, make_policy.

An MLP encoder q(z | x, c) gives the mean and log-variance of a diagonal
Gaussian over the latent, an MLP decoder p(x | z, c) the mean of a
unit-variance Gaussian over the (normalized) action x, and both are trained
on the negative ELBO with the reparameterization trick; c is the normalized
`obs` (or `privileged`) field. The policy decodes z ~ N(0, I) per
environment, or z = 0. The action may be a flattened chunk [Tp * A]: nothing
here reads its structure. A step whose loss or gradients are not finite
leaves the parameters and optimizer state untouched and says so in
`train/nonfinite`.
"""

import jax
import jax.numpy as jnp

from ilax.algorithms import base, optim
from ilax.algorithms.vae import losses
from ilax.algorithms.vae.config import VAEConfig
from ilax.data.normalizer import Normalizer
from ilax.networks import mlp
from ilax.types import Batch, Learner, Metrics, Params, Policy


def make(
    config: VAEConfig, *, observation_size: int, action_size: int, horizon: int = 1
) -> Learner:
    """The conditional VAE learner (see the module docstring).

    Arguments and errors as every `ilax.types.LearnerFactory`.

    Returns:
      `Learner(fit_normalizer, init, update, make_policy)`. `update`'s
      metrics are `vae/loss` (reconstruction + kl_weight * KL),
      `vae/reconstruction` (half the squared error summed over action
      dimensions, normalized units), `vae/kl` (nats, summed over latent
      dimensions), `vae/grad_norm` and `train/nonfinite` (1.0 when the step
      was skipped); all but the last are batch means. The policy is
      stateless.
    """
    spec = base.data_spec("vae", config, observation_size, action_size, horizon)
    latent, width = config.latent_size, spec.action_size
    layers = base.mlp_layers(config)
    encoder = mlp(width + observation_size, 2 * latent, **layers)
    decoder = mlp(latent + observation_size, width, **layers)
    optimizer = optim.adam_optimizer(
        config.learning_rate, weight_decay=config.weight_decay
    )

    def decode(params: Params, z: jax.Array, cond: jax.Array) -> jax.Array:
        return decoder.apply(params["decoder"], jnp.concatenate([z, cond], axis=-1))

    def init(key: jax.Array, normalizer: Normalizer) -> base.TrainState:
        key_encoder, key_decoder = jax.random.split(key)
        params = {
            "encoder": encoder.init(key_encoder),
            "decoder": decoder.init(key_decoder),
        }
        return base.new_state(spec, params, optimizer, normalizer)

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        cond = normalizer.normalize_inputs(getattr(batch, config.input))
        x = normalizer.normalize_actions(batch.action)
        stats = encoder.apply(params["encoder"], jnp.concatenate([x, cond], axis=-1))
        mean, log_var = stats[..., :latent], stats[..., latent:]
        z = losses.reparameterize(mean, log_var, key)
        loss, (reconstruction, kl) = losses.negative_elbo(
            decode(params, z, cond), x, mean, log_var, config.kl_weight
        )
        return loss, {"reconstruction": reconstruction, "kl": kl}

    def update(
        state: base.TrainState, batch: Batch, key: jax.Array
    ) -> tuple[base.TrainState, Metrics]:
        base.check_batch(spec, batch, "update")
        return optim.guarded_update(optimizer, loss_fn, state, batch, key, family="vae")

    def make_policy(state: base.TrainState) -> Policy:
        def act(cond: jax.Array, key: jax.Array) -> jax.Array:
            if config.prior_sample:
                z = jax.random.normal(key, (latent,), jnp.float32)
            else:
                z = jnp.zeros((latent,), jnp.float32)
            return decode(state.params, z, cond)

        return base.normalized_policy(spec, state.normalizer, act)

    return base.learner(spec, config, init, update, make_policy)
