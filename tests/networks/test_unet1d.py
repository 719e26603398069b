"""Diffusion Policy's temporal U-Net denoiser: sizes, shapes, conditioning, locality."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ilax.networks import unet_denoiser
from ilax.networks.unet1d import same_conv

# Three levels (two halvings) like the default, at a fraction of its width.
SMALL = {"down_sizes": (8, 16, 32), "kernel_size": 5, "groups": 4, "time_embedding": 16}
# The tests that run the network use one width throughout: each distinct
# parameter shape compiles its own random draw at init, most of their time.
EVEN = {**SMALL, "down_sizes": (8, 8, 8)}
COND = 3


def _count(net):
    shapes = jax.eval_shape(net.init, jax.random.key(0))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shapes))


@pytest.mark.parametrize("down_sizes, expected", [((4,), 655), ((4, 8), 2851)])
def test_parameter_count_matches_the_architecture(down_sizes, expected):
    # By hand, action_dim 1, no cond, kernel 3, time embedding 2 (a conv
    # k*in*out + out, a GroupNorm 2*out, a FiLM Linear(2, 2*out)):
    # step encoder 2->8->2: 24 + 18 = 42; block(1, 4) 116 (1x1 residual 8
    # included); block(4, 4) 144; final block 60 and 1x1 conv 5.
    # One level: 42 + 116 + 144 (down) + 2 * 144 (mid) + 65 = 655.
    # Two levels add the stride-2 conv (52), block(4, 8) 424, block(8, 8)
    # 480, mid at 8 channels (2 * 480 instead of 2 * 144), the up level's
    # block(16, 4) 356 and block(4, 4) 144 on the skip concat, and the
    # transposed conv 68: 2851.
    net = unet_denoiser(
        1, 0, horizon=1, down_sizes=down_sizes, kernel_size=3, groups=2,
        time_embedding=2,
    )  # fmt: skip
    assert _count(net) == expected


def _inputs(seed, batch_shape, horizon, action_dim):
    # NumPy draws: a jax.random draw would compile once per shape.
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(*batch_shape, horizon * action_dim)).astype(np.float32)
    cond = rng.normal(size=(*batch_shape, COND)).astype(np.float32)
    return jnp.asarray(z), jnp.full(batch_shape, 7, jnp.int32), jnp.asarray(cond)


@pytest.mark.parametrize("width, length", [(5, 4), (5, 1), (4, 2)])
def test_short_sequences_match_the_convolution(width, length):
    # Shorter than the kernel, `same_conv` multiplies stacked shifted copies
    # instead of calling the convolution; even widths pad one more on the right.
    conv = nnx.Conv(3, 4, (width,), padding="SAME", rngs=nnx.Rngs(0))
    conv.bias[...] = jnp.arange(4.0)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, length, 3)), jnp.float32)
    np.testing.assert_allclose(same_conv(conv, x), conv(x), rtol=1e-5, atol=1e-5)


# Compiling is most of these tests' time, so those that run the network
# share one (its parameters do not depend on the horizon) and one jitted
# apply; shapes alone are checked by tracing (`jax.eval_shape`), which
# compiles nothing.
@pytest.fixture(scope="module")
def params():
    return unet_denoiser(2, COND, horizon=1, **EVEN).init(jax.random.key(0))


def _run(params, z, t, cond, *, horizon):
    net = unet_denoiser(z.shape[-1], COND, horizon=horizon, **EVEN)
    return net.apply(params, z, t, cond)


_apply = jax.jit(_run, static_argnames="horizon")


@pytest.mark.parametrize("horizon, action_dim", [(16, 2), (8, 3), (15, 2), (1, 2)])
def test_output_shape_is_the_input_shape(horizon, action_dim):
    # 15 and 1 are not multiples of 4 (two halvings): zero-padded to 16 and 4
    # inside, the output cropped back to the horizon.
    net = unet_denoiser(horizon * action_dim, COND, horizon=horizon, **SMALL)
    params = jax.eval_shape(net.init, jax.random.key(0))
    for batch_shape in [(), (5,)]:
        z, t, cond = _inputs(1, batch_shape, horizon, action_dim)
        out = jax.eval_shape(net.apply, params, z, t, cond)
        assert out.shape == z.shape


def test_batched_and_single_inputs_agree(params):
    z, t, cond = _inputs(2, (5,), 16, 2)
    batched = _apply(params, z, t, cond, horizon=16)
    single = _apply(params, z[2], t[2], cond[2], horizon=16)
    # GroupNorm normalizes each example on its own: no mixing across the batch.
    np.testing.assert_allclose(single, batched[2], rtol=1e-4, atol=1e-5)


def test_step_and_condition_change_the_output(params):
    z, t, cond = _inputs(3, (5,), 16, 2)
    base = _apply(params, z, t, cond, horizon=16)
    later = _apply(params, z, t + 40, cond, horizon=16)
    other = _apply(params, z, t, cond + 1.0, horizon=16)
    assert np.abs(later - base).max() > 1e-3
    assert np.abs(other - base).max() > 1e-3


def test_single_action_runs_padded(params):
    z, t, cond = _inputs(4, (5,), 1, 2)
    out = _apply(params, z, t, cond, horizon=1)
    assert out.shape == (5, 2) and np.all(np.isfinite(out))
    # Each example is its own 4-step sequence (3 padded steps): outputs differ.
    assert np.abs(out - out[:1]).max() > 1e-3


def test_first_step_reaches_the_far_end(params):
    z, t, cond = _inputs(2, (), 16, 2)
    nudged = z.at[:2].add(1.0)
    base = _apply(params, z, t, cond, horizon=16).reshape(16, 2)
    moved = _apply(params, nudged, t, cond, horizon=16).reshape(16, 2)
    # Kernel 5 (radius 2): two blocks of two convs per level and two mid
    # blocks give the convolutions a radius of about 90 steps at 3 levels,
    # so step 15 sees step 0 (GroupNorm's statistics would carry it anyway).
    assert np.abs(moved[-1] - base[-1]).max() > 1e-4


def test_convolutions_dominate_nearby_steps():
    # One level with kernel 3: the convolutions reach 9 steps (4 convs in
    # the level, 4 in the mid blocks, 1 in the final block). Farther away,
    # step 0 reaches the output only through GroupNorm's means over all 32
    # steps. Measured (6 init seeds, 8 inputs each): |d out_j / d z_0|
    # averaged over j <= 2 is 5.3x to 8.1x its maximum over j >= 10.
    horizon, action_dim = 32, 2
    net = unet_denoiser(
        horizon * action_dim, COND, horizon=horizon,
        **{**EVEN, "down_sizes": (8,), "kernel_size": 3},
    )  # fmt: skip
    net_params = net.init(jax.random.key(6))
    zs, t, cond = _inputs(7, (8,), horizon, action_dim)

    @jax.jit
    @jax.vmap
    def sensitivity(z):
        def output(first):
            out = net.apply(net_params, z.at[:action_dim].set(first), t[0], cond[0])
            return out.reshape(horizon, action_dim)

        jacobian = jax.jacfwd(output)(z[:action_dim])
        return jnp.linalg.norm(jacobian, axis=(1, 2))

    profile = np.asarray(sensitivity(zs)).mean(axis=0)
    assert np.all(profile[10:] > 0.0)  # the GroupNorm path
    assert profile[:3].mean() > 3.0 * profile[10:].max(), profile


def test_no_retrace_across_calls(params):
    # The same program as `_apply` (same name, same shapes), so the persistent
    # compilation cache saves compiling it twice.
    apply = jax.jit(chex.assert_max_traces(_run, n=1), static_argnames="horizon")
    z, t, cond = _inputs(3, (5,), 16, 2)
    first = apply(params, z, t, cond, horizon=16)
    shifted = jax.tree.map(lambda p: p + 0.01, params)
    second = apply(shifted, z + 1.0, t + 1, cond, horizon=16)
    assert not np.allclose(first, second)
    chex.clear_trace_counter()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"horizon": 3}, "horizon must divide action_size \\(8\\).*horizon=3"),
        ({"horizon": 0}, "horizon must be an int >= 1"),
        ({"groups": 3}, "groups must divide every entry of down_sizes.*groups=3"),
        ({"down_sizes": ()}, "down_sizes must be positive ints"),
        ({"time_embedding": 5}, "time_embedding must be even"),
    ],
)
def test_errors_name_the_argument(kwargs, match):
    args = {"action_size": 8, "cond_size": 1, "horizon": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        unet_denoiser(**args)
