"""Noise predictors for diffusion: `apply(params, z, t, cond) -> eps_hat`.

The diffusion step t (an int, Bishop's 1-based index) enters through a
sinusoidal embedding, so nearby steps get similar inputs and the network
need not learn a lookup table per step.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx

from ilax.networks.core import Network, from_nnx
from ilax.networks.mlp import MLP, check_layers


def sinusoidal_embedding(t: jax.Array, size: int) -> jax.Array:
    """Transformer-style features of `t` `[...]`: `[..., size]`, sin then cos.

    Frequencies fall geometrically from 1 to 1/10000, so the fastest
    features tell neighbouring steps apart and the slowest vary smoothly
    over the whole chain.
    """
    half = size // 2
    frequencies = jnp.exp(-math.log(10000.0) * jnp.arange(half) / max(half, 1))
    t = jnp.asarray(t, jnp.float32)
    angles = t[..., None] * frequencies.reshape((1,) * t.ndim + (half,))
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


class MLPDenoiser(nnx.Module):
    """An MLP on [z, embedding(t), cond] that outputs the predicted noise."""

    def __init__(
        self,
        action_size: int,
        cond_size: int,
        *,
        hidden_sizes: tuple[int, ...],
        time_embedding: int,
        activation: str,
        rngs: nnx.Rngs,
    ):
        """See `mlp_denoiser`."""
        self.time_embedding = time_embedding
        self.body = MLP(
            action_size + time_embedding + cond_size,
            action_size,
            hidden_sizes=hidden_sizes,
            activation=activation,
            rngs=rngs,
        )

    def __call__(self, z: jax.Array, t: jax.Array, cond: jax.Array) -> jax.Array:
        features = sinusoidal_embedding(t, self.time_embedding)
        return self.body(jnp.concatenate([z, features, cond], axis=-1))


def mlp_denoiser(
    action_size: int,
    cond_size: int,
    *,
    hidden_sizes: tuple[int, ...] = (256, 256),
    time_embedding: int = 64,
    activation: str = "silu",
) -> Network:
    """An MLP noise predictor: `apply(params, z, t, cond) -> eps_hat`.

    `z` is `[..., action_size]`, `t` an int array of the leading shape `[...]`
    and `cond` `[..., cond_size]` (`cond_size=0` for an unconditional model);
    the output has `z`'s shape. An action chunk `[Tp, A]` can use it with
    `action_size = Tp * A` on the flattened chunk.

    Raises:
      ValueError: bad layers, a non-positive `action_size`, a negative
        `cond_size`, or an odd or non-positive `time_embedding`.
    """
    check_layers("mlp_denoiser", tuple(hidden_sizes), activation)
    for name, value, low in (
        ("action_size", action_size, 1),
        ("cond_size", cond_size, 0),
        ("time_embedding", time_embedding, 2),
    ):
        if not (isinstance(value, int) and value >= low):
            raise ValueError(
                f"mlp_denoiser: {name} must be an int >= {low}; got {value!r}"
            )
    if time_embedding % 2:
        raise ValueError(
            f"mlp_denoiser: time_embedding must be even (sin and cos halves); got "
            f"{time_embedding}"
        )
    return from_nnx(
        lambda rngs: MLPDenoiser(
            action_size,
            cond_size,
            hidden_sizes=tuple(hidden_sizes),
            time_embedding=time_embedding,
            activation=activation,
            rngs=rngs,
        )
    )
