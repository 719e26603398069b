"""Noise schedules of the DDPM forward process (Bishop ch. 20 notation).

A `Schedule` holds, for Bishop's steps t = 1..T, the per-step noise variance
`beta[t - 1]` and the cumulative signal fraction `alpha[t - 1]` =
prod_{tau <= t} (1 - beta_tau), so that q(z_t | x) = N(sqrt(alpha_t) x,
(1 - alpha_t) I). Arrays are 0-based: entry `t - 1` belongs to step t, and
alpha_0 = 1 (no noise) is implicit.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Schedule:
    """The variances of the forward process, `[T]` each (entry t - 1 is step t)."""

    beta: jax.Array  # [T] float32, beta_t in (0, 1)
    alpha: jax.Array  # [T] float32, cumulative product of (1 - beta)

    @property
    def num_steps(self) -> int:
        """T, the number of diffusion steps (static: it is an array shape)."""
        return self.beta.shape[0]


def from_betas(beta, *, owner: str = "Schedule") -> Schedule:
    """A `Schedule` from the variances beta_1..beta_T (float64 cumulative product).

    Raises:
      ValueError: naming `owner`'s field, when there is no step or a beta is
        outside the open interval (0, 1).
    """
    beta = np.asarray(beta, np.float64)
    if beta.ndim != 1 or beta.shape[0] < 1:
        raise ValueError(
            f"{owner}.num_steps must be >= 1 (beta of shape [T]); got beta of "
            f"shape {beta.shape}"
        )
    bad = ~((beta > 0.0) & (beta < 1.0))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(
            f"{owner}.beta must lie in (0, 1) at every step; got beta_{index + 1} "
            f"= {float(beta[index])!r} (step t = {index + 1} of {beta.shape[0]})"
        )
    alpha = np.cumprod(1.0 - beta)
    return Schedule(
        beta=jnp.asarray(beta, jnp.float32), alpha=jnp.asarray(alpha, jnp.float32)
    )


def _check_num_steps(owner: str, num_steps: int) -> None:
    if not (isinstance(num_steps, int) and num_steps >= 1):
        raise ValueError(f"{owner}: num_steps must be an int >= 1; got {num_steps!r}")


def linear_schedule(
    num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02
) -> Schedule:
    """Betas evenly spaced from `beta_start` to `beta_end` (Ho et al.).

    Ho et al.'s defaults are meant for T = 1000, where alpha_T is about 4e-5;
    with T = 100 they leave alpha_T near 0.36 (z_T is far from N(0, I)), so
    scale both by 1000 / T for shorter chains.

    Raises:
      ValueError: `num_steps < 1`, or a beta outside (0, 1), naming the field.
    """
    _check_num_steps("linear_schedule", num_steps)
    for field, value in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not 0.0 < value < 1.0:
            raise ValueError(
                f"linear_schedule: {field} must be in (0, 1); got {value!r}"
            )
    return from_betas(
        np.linspace(beta_start, beta_end, num_steps), owner="linear_schedule"
    )


def cosine_schedule(
    num_steps: int, s: float = 0.008, max_beta: float = 0.999
) -> Schedule:
    """Nichol & Dhariwal's cosine schedule (diffusers' `squaredcos_cap_v2`).

    alpha_t = f(t) / f(0) with f(t) = cos^2((t / T + s) / (1 + s) * pi / 2);
    beta_t = 1 - alpha_t / alpha_{t-1}, capped at `max_beta` because f(T) = 0
    would make beta_T = 1. The stored alpha is the product of the capped
    betas, so it equals f(t) / f(0) except at the capped last step(s).

    Raises:
      ValueError: `num_steps < 1`, `s < 0` or `max_beta` outside (0, 1).
    """
    _check_num_steps("cosine_schedule", num_steps)
    if not s >= 0.0:
        raise ValueError(f"cosine_schedule: s must be >= 0; got {s!r}")
    if not 0.0 < max_beta < 1.0:
        raise ValueError(
            f"cosine_schedule: max_beta must be in (0, 1); got {max_beta!r}"
        )
    steps = np.arange(num_steps + 1, dtype=np.float64) / num_steps
    f = np.cos((steps + s) / (1.0 + s) * math.pi / 2.0) ** 2
    beta = np.minimum(1.0 - f[1:] / f[:-1], max_beta)
    return from_betas(beta, owner="cosine_schedule")


def alpha_at(schedule: Schedule, t: jax.Array) -> jax.Array:
    """alpha_t for Bishop's 1-based steps `t` (any int array); alpha_0 = 1."""
    padded = jnp.concatenate([jnp.ones((1,), schedule.alpha.dtype), schedule.alpha])
    return padded[t]


def beta_at(schedule: Schedule, t: jax.Array) -> jax.Array:
    """beta_t for Bishop's 1-based steps `t` in 1..T (any int array)."""
    return schedule.beta[t - 1]
