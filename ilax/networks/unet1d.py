"""Diffusion Policy's 1-D temporal U-Net (Chi et al. 2023, "DP-CNN") as a denoiser.

The noisy action chunk is a sequence over the prediction horizon, with the
action dimensions as channels; convolutions over time give the prediction at
each step a view of its neighbours, which suits smooth action sequences better
than an MLP over the flattened chunk. The diffusion step and the observation
condition every residual block through FiLM (a per-channel scale and bias), as
in the paper. Same interface as `mlp_denoiser`: `apply(params, z, t, cond)`
on the flattened chunk `[..., horizon * action_dim]`.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from ilax.networks.core import Network, from_nnx
from ilax.networks.denoisers import sinusoidal_embedding

# Kernel sizes of the resampling layers, as in the paper: a stride-2 conv of
# width 3 halves the length and a stride-2 transposed conv of width 4 doubles it.
_DOWN_KERNEL = 3
_UP_KERNEL = 4


def same_conv(conv: nnx.Conv, x: jax.Array) -> jax.Array:
    """`conv(x)` for a stride-1 "SAME" `nnx.Conv` over `[B, L, C]`, fast for any L.

    XLA's CPU convolution runs 50 to 100 times slower when the sequence is
    shorter than the kernel (measured: width 5 over 4 steps of 256 channels,
    1 GFLOP/s against 45 at 5 steps), which is the default U-Net's coarsest
    level at horizon 16. There the same sum is one matrix product over the
    stacked shifted copies of the zero-padded input.
    """
    kernel = conv.kernel[...]
    width, length = kernel.shape[0], x.shape[-2]
    if length >= width:
        return conv(x)
    padded = jnp.pad(x, ((0, 0), ((width - 1) // 2, width // 2), (0, 0)))
    windows = jnp.concatenate([padded[:, i : i + length] for i in range(width)], -1)
    return windows @ kernel.reshape(-1, kernel.shape[-1]) + conv.bias[...][None, None]


class ConvBlock(nnx.Module):
    """Conv1d -> GroupNorm -> Mish over `[B, L, C]` (channels last)."""

    def __init__(self, in_size: int, out_size: int, kernel: int, groups: int, *, rngs):
        """A width-`kernel` "SAME" convolution, then a normalization over groups."""
        self.conv = nnx.Conv(in_size, out_size, (kernel,), padding="SAME", rngs=rngs)
        self.norm = nnx.GroupNorm(out_size, num_groups=groups, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jax.nn.mish(self.norm(same_conv(self.conv, x)))


class FiLMResidualBlock(nnx.Module):
    """Two conv blocks; the conditioning vector scales and shifts the first's output.

    FiLM (Perez et al. 2018) gives each channel its own affine map of the
    condition, so the diffusion step and the observation steer every level of
    the U-Net rather than only its input.
    """

    def __init__(self, in_size, out_size, cond_width, kernel, groups, *, rngs):
        """See the class docstring; a 1x1 conv matches the skip path's channels."""
        self.first = ConvBlock(in_size, out_size, kernel, groups, rngs=rngs)
        self.second = ConvBlock(out_size, out_size, kernel, groups, rngs=rngs)
        self.film = nnx.Linear(cond_width, 2 * out_size, rngs=rngs)
        matched = in_size == out_size
        self.residual = None if matched else nnx.Conv(in_size, out_size, 1, rngs=rngs)

    def __call__(self, x: jax.Array, cond: jax.Array) -> jax.Array:
        scale, bias = jnp.split(self.film(jax.nn.mish(cond)), 2, axis=-1)
        h = self.first(x) * scale[:, None, :] + bias[:, None, :]
        h = self.second(h)
        return h + (x if self.residual is None else self.residual(x))


class UNet1D(nnx.Module):
    """The temporal U-Net on `[B, L, action_dim]`, L a multiple of 2^(levels-1)."""

    def __init__(
        self,
        action_dim: int,
        cond_size: int,
        *,
        down_sizes: tuple[int, ...],
        kernel_size: int,
        groups: int,
        time_embedding: int,
        rngs: nnx.Rngs,
    ):
        """See `unet_denoiser`."""
        self.time_embedding = time_embedding
        # The paper's step encoder: embedding -> 4x wider -> Mish -> back.
        self.time_hidden = nnx.Linear(time_embedding, 4 * time_embedding, rngs=rngs)
        self.time_out = nnx.Linear(4 * time_embedding, time_embedding, rngs=rngs)
        cond_width = time_embedding + cond_size

        def block(in_size, out_size):
            return FiLMResidualBlock(
                in_size, out_size, cond_width, kernel_size, groups, rngs=rngs
            )

        self.down = nnx.List(
            [
                nnx.List([block(in_size, out_size), block(out_size, out_size)])
                for in_size, out_size in zip(
                    (action_dim, *down_sizes[:-1]), down_sizes, strict=True
                )
            ]
        )
        self.downsample = nnx.List(
            [
                nnx.Conv(c, c, (_DOWN_KERNEL,), strides=(2,), padding="SAME", rngs=rngs)
                for c in down_sizes[:-1]
            ]
        )
        self.mid = nnx.List([block(down_sizes[-1], down_sizes[-1]) for _ in range(2)])
        # Coarsest first: level i's input is the coarser output concatenated
        # with level i's skip, and it leaves at level i - 1's width and length.
        self.up = nnx.List(
            [
                nnx.List([block(2 * skip_size, out_size), block(out_size, out_size)])
                for skip_size, out_size in zip(
                    down_sizes[:0:-1], down_sizes[-2::-1], strict=True
                )
            ]
        )
        self.upsample = nnx.List(
            [
                nnx.ConvTranspose(
                    c, c, (_UP_KERNEL,), strides=(2,), padding="SAME", rngs=rngs
                )
                for c in reversed(down_sizes[:-1])
            ]
        )
        self.final_block = ConvBlock(
            down_sizes[0], down_sizes[0], kernel_size, groups, rngs=rngs
        )
        self.final = nnx.Conv(down_sizes[0], action_dim, (1,), rngs=rngs)

    def __call__(self, x: jax.Array, t: jax.Array, cond: jax.Array) -> jax.Array:
        """`x` `[B, L, action_dim]`, `t` `[B]`, `cond` `[B, cond_size]`."""
        step = sinusoidal_embedding(t, self.time_embedding)
        step = self.time_out(jax.nn.mish(self.time_hidden(step)))
        c = jnp.concatenate([step, cond], axis=-1)
        skips = []
        for level, blocks in enumerate(self.down):
            for b in blocks:
                x = b(x, c)
            skips.append(x)
            if level < len(self.downsample):
                x = self.downsample[level](x)
        for b in self.mid:
            x = b(x, c)
        # As in Chi et al.'s network, the up path concatenates the outputs of
        # every level but the finest: skips[0] reaches the output only
        # through the coarser levels.
        for blocks, upsample, skip in zip(
            self.up, self.upsample, reversed(skips[1:]), strict=True
        ):
            x = jnp.concatenate([x, skip], axis=-1)
            for b in blocks:
                x = b(x, c)
            x = upsample(x)
        return self.final(self.final_block(x))


class UNetDenoiser(nnx.Module):
    """`UNet1D` on flattened chunks with any batch shape, the horizon zero-padded."""

    def __init__(
        self,
        action_size: int,
        cond_size: int,
        *,
        horizon: int,
        down_sizes: tuple[int, ...],
        **net_options,
    ):
        """See `unet_denoiser`; `net_options` go to `UNet1D`."""
        self.horizon = horizon
        self.action_dim = action_size // horizon
        self.cond_size = cond_size
        self.multiple = 2 ** (len(down_sizes) - 1)
        self.net = UNet1D(
            self.action_dim, cond_size, down_sizes=down_sizes, **net_options
        )

    def __call__(self, z: jax.Array, t: jax.Array, cond: jax.Array) -> jax.Array:
        batch_shape = z.shape[:-1]
        rows = 1
        for size in batch_shape:
            rows *= size
        x = z.reshape(rows, self.horizon, self.action_dim)
        # Every level must halve evenly; the padded steps are cut off again
        # (they still enter the GroupNorm statistics, so they are not inert).
        padded = -(-self.horizon // self.multiple) * self.multiple
        x = jnp.pad(x, ((0, 0), (0, padded - self.horizon), (0, 0)))
        t = jnp.broadcast_to(t, batch_shape).reshape(rows)
        cond = cond.reshape(rows, self.cond_size)
        out = self.net(x, t, cond)[:, : self.horizon]
        return out.reshape(z.shape)


def unet_denoiser(
    action_size: int,
    cond_size: int,
    *,
    horizon: int,
    down_sizes: tuple[int, ...] = (64, 128, 256),
    kernel_size: int = 5,
    groups: int = 8,
    time_embedding: int = 64,
) -> Network:
    """Diffusion Policy's temporal U-Net noise predictor: `apply(params, z, t, cond)`.

    `z` is a flattened chunk `[..., action_size]` with `action_size = horizon
    * action_dim`, row-major (`z[..., j*A:(j+1)*A]` is step j), `t` the 1-based
    diffusion step `[...]` (or a scalar for all), `cond` `[..., cond_size]`;
    the output has `z`'s shape. Each of the `len(down_sizes)` levels holds two
    FiLM residual blocks; all but the last end in a stride-2 downsampling, and
    the up path mirrors them with skip connections. A horizon that is not a
    multiple of 2^(levels-1) (a single action included) is zero-padded at its
    end to the next multiple and the output cropped back.

    Raises:
      ValueError: naming `horizon` when it is not a positive divisor of
        `action_size`, `groups` when it does not divide every entry of
        `down_sizes`, or another bad size.
    """
    for name, value, low in (
        ("action_size", action_size, 1),
        ("cond_size", cond_size, 0),
        ("horizon", horizon, 1),
        ("kernel_size", kernel_size, 1),
        ("groups", groups, 1),
        ("time_embedding", time_embedding, 2),
    ):
        if not (isinstance(value, int) and value >= low):
            raise ValueError(
                f"unet_denoiser: {name} must be an int >= {low}; got {value!r}"
            )
    if action_size % horizon:
        raise ValueError(
            f"unet_denoiser: horizon must divide action_size ({action_size}) into "
            f"steps of equal width; got horizon={horizon}"
        )
    down_sizes = tuple(down_sizes)
    if not down_sizes or not all(isinstance(c, int) and c > 0 for c in down_sizes):
        raise ValueError(
            f"unet_denoiser: down_sizes must be positive ints, at least one; got "
            f"{down_sizes!r}"
        )
    if any(c % groups for c in down_sizes):
        raise ValueError(
            f"unet_denoiser: groups must divide every entry of down_sizes "
            f"{down_sizes} (GroupNorm splits channels evenly); got groups={groups}"
        )
    if time_embedding % 2:
        raise ValueError(
            f"unet_denoiser: time_embedding must be even (sin and cos halves); got "
            f"{time_embedding}"
        )
    return from_nnx(
        lambda rngs: UNetDenoiser(
            action_size,
            cond_size,
            horizon=horizon,
            down_sizes=down_sizes,
            kernel_size=kernel_size,
            groups=groups,
            time_embedding=time_embedding,
            rngs=rngs,
        )
    )
