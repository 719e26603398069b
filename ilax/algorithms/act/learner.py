"""ACT (Zhao et al. 2023) as a flat `Learner`: a transformer CVAE over action chunks.

The learner reads a flat `Batch`: `obs` `[B, observation_size]` (one
observation or a flattened history, one token either way) and `action`
`[B, k * A]`, a flattened chunk where `action[:, j*A:(j+1)*A]` is the action
j steps ahead (`ilax.chunking.flatten_window` builds such batches); it
reshapes the chunk to `[B, k, A]` so that each of the k actions is one token
of the encoder and one query of the decoder. Both fields are standardized
per column by a normalizer fitted in `init`.

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
import optax
from flax import struct

from ilax import policies
from ilax.algorithms import checks, optim
from ilax.algorithms.act.config import ACTConfig
from ilax.algorithms.vae.losses import gaussian_kl, reparameterize
from ilax.data.normalizer import Normalizer, fit_normalizer
from ilax.networks import act_decoder, act_encoder
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything the learner needs to continue bit-identically."""

    params: Params  # {"encoder": ..., "decoder": ...}; no "encoder" without CVAE
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


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


def make(config: ACTConfig, *, observation_size: int, action_size: int) -> Learner:
    """The ACT learner (see the module docstring).

    Args:
      config: the settings; read once here.
      observation_size: width of `obs` (To * O for a flattened history).
      action_size: width of the flattened chunk, `config.chunk_size * A`.

    Returns:
      `Learner(init, update, make_policy)`. `update(state, batch, key)` uses
      `key` for the reparameterized z (unused without a CVAE); its metrics
      are `act/loss`, `act/reconstruction` (mean per-element L1 or squared
      error, normalized units), `act/kl` (nats summed over the latent; 0
      without a CVAE), `act/grad_norm` and `train/nonfinite` (1.0 when the
      step was skipped). The policy is stateless and deterministic (z = 0)
      and returns `[..., action_size]` chunks in raw units.

    Raises:
      ValueError: an invalid config field or size, naming it; an
        `action_size` that `chunk_size` does not divide.
    """
    config.check()
    checks.check_sizes(
        "act.make", observation_size=observation_size, action_size=action_size
    )
    k, latent = config.chunk_size, config.latent_size
    if action_size % k:
        raise ValueError(
            f"act.make: action_size ({action_size}) must be chunk_size times the "
            f"action dimension; ACTConfig.chunk_size {k} does not divide it"
        )
    action_dim = action_size // k
    shared = {
        "model_size": config.model_size,
        "num_heads": config.num_heads,
        "feedforward_size": config.feedforward_size,
    }
    sizes = (observation_size, action_dim, k, latent)
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
    batch_checks = {
        "owner": "act",
        "input_field": "obs",
        "observation_size": observation_size,
        "action_size": action_size,
    }

    def init(key: jax.Array, data: Batch) -> TrainState:
        checks.check_batch(data, where="init", **batch_checks)
        checks.check_finite(data, owner="act", input_field="obs")
        key_encoder, key_decoder = jax.random.split(key)
        normalizer = fit_normalizer(
            data.obs, data.action, min_std=config.min_std, enabled=config.normalize
        )
        params = {"decoder": decoder.init(key_decoder)}
        if config.use_cvae:
            params["encoder"] = encoder.init(key_encoder)
        return TrainState(
            params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
            normalizer=normalizer,
        )

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        cond = normalizer.normalize_inputs(batch.obs)
        target = normalizer.normalize_actions(batch.action)
        target = target.reshape(target.shape[:-1] + (k, action_dim))
        mask = batch.action_mask if config.mask_padding else None
        if config.use_cvae:
            mean, log_var = encoder.apply(params["encoder"], cond, target, mask)
            z = reparameterize(mean, log_var, key)
        else:
            mean = log_var = None
            z = jnp.zeros(cond.shape[:-1] + (latent,), jnp.float32)
        prediction = decoder.apply(params["decoder"], cond, z)
        return chunk_loss(
            prediction,
            target,
            mean,
            log_var,
            kl_weight=config.kl_weight,
            loss=config.loss,
            mask=mask,
        )

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        checks.check_batch(batch, where="update", **batch_checks)
        if config.mask_padding:
            checks.check_action_mask(batch, owner="act", chunk_size=k, where="update")
        return optim.latent_variable_update(
            "act", optimizer, loss_fn, state, batch, key
        )

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            del key  # z = 0: the policy is deterministic, as in ACT
            cond = n.normalize_inputs(observation.obs)
            z = jnp.zeros(cond.shape[:-1] + (latent,), jnp.float32)
            chunk = decoder.apply(state.params["decoder"], cond, z)
            return n.denormalize_actions(chunk.reshape(chunk.shape[:-2] + (-1,)))

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
