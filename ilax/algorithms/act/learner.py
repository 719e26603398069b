"""ACT (Zhao et al. 2023) as a flat `Learner`: a transformer CVAE over action chunks.

The learner reads a flat `Batch`: its input field (`obs` by default)
`[B, observation_size]` (one observation or a flattened history, one token
either way) and `action` `[B, k * A]`, a flattened chunk of k = `horizon`
actions where `action[:, j*A:(j+1)*A]` is the action j steps ahead
(`ilax.chunking.flatten_window` builds such batches); it reshapes the chunk
to `[B, k, A]` so that each of the k actions is one token of the encoder and
one query of the decoder. Both fields are standardized per column.

Training (use_cvae): the encoder gives q(z | obs, chunk) = N(mean,
diag(exp(log_var))), z is drawn by reparameterization with the update's key,
and the decoder reconstructs the chunk from (obs, z). With `use_cvae=False`
there is no encoder and z = 0. The policy decodes z = 0 and returns the
denormalized flat chunk `[k * A]` per environment; `ilax.chunking` executes
it (receding horizon or temporal ensembling). Chunk positions past an
episode's end (which `Window` fills with the last action) are trained on by
default; with `mask_padding` they are left out of the reconstruction loss
and hidden from the CVAE encoder's attention, using the batch's
`action_mask` (flattened windows carry one), as ACT's code masks its padding.
A step whose loss or gradients are not finite leaves the parameters and the
optimizer state untouched and reports `train/nonfinite`.
"""

import jax
import jax.numpy as jnp

from ilax.algorithms import base, checks, optim
from ilax.algorithms.act.config import ACTConfig
from ilax.algorithms.vae.losses import gaussian_kl, reparameterize
from ilax.data.normalizer import Normalizer
from ilax.networks import act_decoder, act_encoder
from ilax.types import Batch, Learner, Metrics, Params, Policy


def chunk_loss(
    prediction: jax.Array,
    target: jax.Array,
    mean: jax.Array | None,
    log_var: jax.Array | None,
    *,
    kl_weight: float,
    loss: str = "l1",
    mask: jax.Array | None = None,
) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    """ACT's loss and its two terms.

    With B rows, k chunk steps, A action dimensions, L latent dimensions and
    m_bj = 1 for a chunk step inside the episode (0 for padding; all 1
    without a mask):

        reconstruction = 1/B sum_b 1/(k A) sum_{j, d} m_bj |a_bjd - a_hat_bjd|
                         (squared difference for `loss="mse"`)
        kl = 1/B sum_b sum_l 0.5 (mean_bl^2 + exp(log_var_bl) - 1 - log_var_bl)
        loss = reconstruction + kl_weight * kl

    as in ACT's `policy.py` (L1 averaged over all elements with padded ones
    zeroed, KL summed over the latent and averaged over the batch).

    Args:
      prediction: `[B, k, A]` the decoded chunk (normalized units).
      target: `[B, k, A]` the data's chunk (normalized units).
      mean: `[B, L]` the posterior's mean; None without a CVAE (kl = 0).
      log_var: `[B, L]` the posterior's log-variance; None without a CVAE.
      kl_weight: beta.
      loss: `l1` or `mse`.
      mask: `[B, k]` bool, False for padded chunk steps; None keeps all.

    Returns:
      `(loss, (reconstruction, kl))`, scalars.
    """
    error = prediction - target
    per_element = jnp.abs(error) if loss == "l1" else jnp.square(error)
    if mask is not None:
        per_element = jnp.where(mask[..., None], per_element, 0.0)
    reconstruction = jnp.mean(per_element)
    if mean is None:
        kl = jnp.zeros((), reconstruction.dtype)
    else:
        kl = jnp.mean(gaussian_kl(mean, log_var))
    return reconstruction + kl_weight * kl, (reconstruction, kl)


def make(
    config: ACTConfig, *, observation_size: int, action_size: int, horizon: int = 1
) -> Learner:
    """The ACT learner (see the module docstring).

    Arguments and errors as every `ilax.types.LearnerFactory` (`horizon` is k, ACT's
    `num_queries`).

    Returns:
      `Learner(fit_normalizer, init, update, make_policy)`; the train state's
      `params` are `{"encoder": ..., "decoder": ...}`, without "encoder" when
      `use_cvae` is off. `update(state, batch, key)` uses `key` for the
      reparameterized z (unused without a CVAE); its metrics are `act/loss`,
      `act/reconstruction` (mean per-element L1 or squared error, normalized
      units), `act/kl` (nats summed over the latent; 0 without a CVAE),
      `act/grad_norm` and `train/nonfinite` (1.0 when the step was skipped).
      The policy is stateless and deterministic (z = 0) and returns
      `[..., k * A]` chunks in raw units.
    """
    spec = base.data_spec("act", config, observation_size, action_size, horizon)
    k, latent = horizon, config.latent_size
    shared = {
        "model_size": config.model_size,
        "num_heads": config.num_heads,
        "feedforward_size": config.feedforward_size,
    }
    sizes = (observation_size, action_size, k, latent)
    encoder = act_encoder(*sizes, num_layers=config.encoder_layers, **shared)
    decoder = act_decoder(
        *sizes,
        encoder_layers=config.encoder_layers,
        decoder_layers=config.decoder_layers,
        **shared,
    )
    optimizer = optim.adam_optimizer(
        config.learning_rate, weight_decay=config.weight_decay
    )

    def init(key: jax.Array, normalizer: Normalizer) -> base.TrainState:
        key_encoder, key_decoder = jax.random.split(key)
        params = {"decoder": decoder.init(key_decoder)}
        if config.use_cvae:
            params["encoder"] = encoder.init(key_encoder)
        return base.new_state(spec, params, optimizer, normalizer)

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        cond = normalizer.normalize_inputs(getattr(batch, config.input))
        target = normalizer.normalize_actions(batch.action)
        target = target.reshape(target.shape[:-1] + (k, action_size))
        mask = batch.action_mask if config.mask_padding else None
        if config.use_cvae:
            mean, log_var = encoder.apply(params["encoder"], cond, target, mask)
            z = reparameterize(mean, log_var, key)
        else:
            mean = log_var = None
            z = jnp.zeros(cond.shape[:-1] + (latent,), jnp.float32)
        prediction = decoder.apply(params["decoder"], cond, z)
        loss, (reconstruction, kl) = chunk_loss(
            prediction,
            target,
            mean,
            log_var,
            kl_weight=config.kl_weight,
            loss=config.loss,
            mask=mask,
        )
        return loss, {"reconstruction": reconstruction, "kl": kl}

    def update(
        state: base.TrainState, batch: Batch, key: jax.Array
    ) -> tuple[base.TrainState, Metrics]:
        base.check_batch(spec, batch, "update")
        if config.mask_padding:
            checks.check_action_mask(batch, owner="act", chunk_size=k, where="update")
        return optim.guarded_update(optimizer, loss_fn, state, batch, key, family="act")

    def make_policy(state: base.TrainState) -> Policy:
        def act(cond: jax.Array, key: jax.Array) -> jax.Array:
            del key  # z = 0: the policy is deterministic, as in ACT
            z = jnp.zeros(cond.shape[:-1] + (latent,), jnp.float32)
            chunk = decoder.apply(state.params["decoder"], cond, z)
            return chunk.reshape(chunk.shape[:-2] + (-1,))

        return base.normalized_policy(spec, state.normalizer, act)

    return base.learner(spec, config, init, update, make_policy)
