"""The one DDPM core (Bishop Algorithms 20.1 and 20.2) every diffusion user shares.

All functions work on a batch with one leading axis: data `x0` and noisy
samples `z` are `[B, *event_shape]` (an action `[A]` now, an action chunk
`[Tp, A]` later), and the conditioning `cond` is any pytree whose leaves lead
with B (or `None`).

Timestep convention: a noise predictor is called as
`predict_noise(params, z, t, cond)` with `t` an int32 array `[B]` holding
Bishop's 1-based step, t in 1..T (t = T is nearly pure noise, t = 1 the
least noisy). Schedule arrays are 0-based, so step t reads entry t - 1;
`schedule.alpha_at(s, 0)` is alpha_0 = 1.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ilax.algorithms.diffusion.schedule import Schedule, alpha_at, beta_at
from ilax.types import Key, Params

NoisePredictor = Callable[[Params, jax.Array, jax.Array, Any], jax.Array]


def _per_example(values: jax.Array, like: jax.Array) -> jax.Array:
    """Per-example scalars `[B]` shaped to broadcast against `like` `[B, ...]`."""
    return values.reshape(values.shape + (1,) * (like.ndim - 1))


def _step_array(t: int | jax.Array, batch: int) -> jax.Array:
    return jnp.full((batch,), t, jnp.int32)


def noise_prediction_loss(
    predict_noise: NoisePredictor,
    params: Params,
    schedule: Schedule,
    x0: jax.Array,
    cond: Any,
    key: Key,
) -> jax.Array:
    """Algorithm 20.1's loss: squared error of the predicted total noise.

    For every example: t ~ U{1..T}, eps ~ N(0, I), z_t = sqrt(alpha_t) x0 +
    sqrt(1 - alpha_t) eps, and ||g(z_t, t, cond) - eps||^2 summed over the
    event dimensions (unweighted, as in Ho et al.); then the batch mean. A
    predictor that outputs zeros therefore scores E||eps||^2 = D, the number
    of event dimensions.

    Args:
      predict_noise: `(params, z, t, cond) -> eps_hat`, `z` and `eps_hat` of
        `x0`'s shape, `t` int32 `[B]` in 1..T.
      params: the predictor's parameters.
      schedule: the noise schedule.
      x0: clean data `[B, *event_shape]`.
      cond: conditioning, leaves leading with B (or None).
      key: a typed key.

    Returns:
      The scalar loss.
    """
    key_t, key_eps = jax.random.split(key)
    batch = x0.shape[0]
    t = jax.random.randint(key_t, (batch,), 1, schedule.num_steps + 1, jnp.int32)
    eps = jax.random.normal(key_eps, x0.shape, x0.dtype)
    alpha = _per_example(alpha_at(schedule, t), x0)
    z_t = jnp.sqrt(alpha) * x0 + jnp.sqrt(1.0 - alpha) * eps
    error = predict_noise(params, z_t, t, cond) - eps
    return jnp.mean(jnp.sum(error.reshape(batch, -1) ** 2, axis=-1))


def ddpm_sample(
    predict_noise: NoisePredictor,
    params: Params,
    schedule: Schedule,
    cond: Any,
    key: Key,
    shape: tuple[int, ...],
) -> jax.Array:
    """Algorithm 20.2: ancestral sampling with the forward variances beta_t.

    z_T ~ N(0, I); for t = T..1, mu = (z_t - beta_t / sqrt(1 - alpha_t) *
    g(z_t, t)) / sqrt(1 - beta_t), and z_{t-1} = mu + sqrt(beta_t) eps for
    t > 1, while the last step returns mu(z_1, 1) without noise. One
    `lax.scan` over the T steps; step t's noise uses `fold_in(key, t)`.

    Args:
      predict_noise: see `noise_prediction_loss`.
      params: the predictor's parameters.
      schedule: the noise schedule.
      cond: conditioning, leaves leading with `shape[0]` (or None).
      key: a typed key.
      shape: `(B, *event_shape)`, the shape of the samples.

    Returns:
      Samples `[B, *event_shape]` (float32).
    """
    key_init, key_steps = jax.random.split(key)
    z_final = jax.random.normal(key_init, shape, jnp.float32)

    def reverse_step(z, t):
        beta = beta_at(schedule, t)
        alpha = alpha_at(schedule, t)
        eps_hat = predict_noise(params, z, _step_array(t, shape[0]), cond)
        mean = (z - beta / jnp.sqrt(1.0 - alpha) * eps_hat) / jnp.sqrt(1.0 - beta)
        noise = jax.random.normal(jax.random.fold_in(key_steps, t), shape, z.dtype)
        # The last step (t = 1) is the mean alone: Bishop's noise-free x.
        return mean + jnp.where(t > 1, jnp.sqrt(beta), 0.0) * noise, None

    steps = jnp.arange(schedule.num_steps, 0, -1, dtype=jnp.int32)  # T..1
    x, _ = jax.lax.scan(reverse_step, z_final, steps)
    return x


def ddim_timesteps(num_train_steps: int, num_steps: int) -> jax.Array:
    """The subsequence tau_K > ... > tau_1 = 1 of 1..T with stride T // K, `[K]`.

    tau_k = 1 + (k - 1) * (T // K): the "leading" spacing of DDIM
    implementations (diffusers' default, which Diffusion Policy samples
    with). It ends at the cleanest step and, for K < T, starts below T: at
    t = T the cosine schedule's sqrt(alpha_T) is ~5e-4, so a first step there
    turns a small error of a learned noise predictor into a huge x0 estimate
    (measured on 2-D data: energy distance 23-30x100 from T, against 0.2-0.3
    for DDPM-100). For K = T it is every step.

    Raises:
      ValueError: `num_steps` outside 1..T.
    """
    if not (isinstance(num_steps, int) and 1 <= num_steps <= num_train_steps):
        raise ValueError(
            f"ddim_sample: num_steps must be an int in 1..{num_train_steps} (the "
            f"schedule's T); got {num_steps!r}"
        )
    stride = num_train_steps // num_steps
    return (1 + stride * jnp.arange(num_steps - 1, -1, -1)).astype(jnp.int32)


def ddim_sample(
    predict_noise: NoisePredictor,
    params: Params,
    schedule: Schedule,
    cond: Any,
    key: Key,
    shape: tuple[int, ...],
    num_steps: int,
    *,
    clip_x0: float | None = None,
) -> jax.Array:
    """Deterministic DDIM (eta = 0) on `num_steps` steps of 1..T (`ddim_timesteps`).

    From z_T ~ N(0, I), each step from t to the next smaller s (s = 0 after
    the last) predicts x0_hat = (z_t - sqrt(1 - alpha_t) g) / sqrt(alpha_t)
    and moves to z_s = sqrt(alpha_s) x0_hat + sqrt(1 - alpha_s) g (Song et
    al.), so the only randomness is z_T. One `lax.scan`.

    Args:
      predict_noise: see `noise_prediction_loss`.
      params: the predictor's parameters.
      schedule: the noise schedule.
      cond: conditioning, leaves leading with `shape[0]` (or None).
      key: a typed key (it draws z_T only).
      shape: `(B, *event_shape)`, the shape of the samples.
      num_steps: network evaluations, a static int in 1..T.
      clip_x0: if set, clip every estimate x0_hat to [-clip_x0, clip_x0]
        (and recompute the noise from it). Not part of DDIM proper, but at
        t = T the cosine schedule's sqrt(alpha_T) is ~5e-4, so without a
        bound a small error of a learned g becomes a huge x0_hat.

    Returns:
      Samples `[B, *event_shape]` (float32).

    Raises:
      ValueError: `num_steps` outside 1..T.
    """
    current = ddim_timesteps(schedule.num_steps, num_steps)
    following = jnp.concatenate([current[1:], jnp.zeros((1,), jnp.int32)])
    z_final = jax.random.normal(key, shape, jnp.float32)

    def step(z, ts):
        t, s = ts
        alpha_t, alpha_s = alpha_at(schedule, t), alpha_at(schedule, s)
        eps_hat = predict_noise(params, z, _step_array(t, shape[0]), cond)
        x0_hat = (z - jnp.sqrt(1.0 - alpha_t) * eps_hat) / jnp.sqrt(alpha_t)
        if clip_x0 is not None:
            x0_hat = jnp.clip(x0_hat, -clip_x0, clip_x0)
            # The noise direction must agree with the clipped estimate, or
            # the next z would carry the unclipped error back in.
            eps_hat = (z - jnp.sqrt(alpha_t) * x0_hat) / jnp.sqrt(1.0 - alpha_t)
        return jnp.sqrt(alpha_s) * x0_hat + jnp.sqrt(1.0 - alpha_s) * eps_hat, None

    x, _ = jax.lax.scan(step, z_final, (current, following))
    return x


def ema_update(ema_params: Params, params: Params, decay: float | jax.Array):
    """Exponential moving average: `decay * ema + (1 - decay) * params`, leafwise."""
    return jax.tree.map(
        lambda ema, new: decay * ema + (1.0 - decay) * new, ema_params, params
    )
