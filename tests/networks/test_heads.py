"""Gaussian and mixture heads: shapes, log std bounds, spread initial means."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import networks


def test_bound_log_std_is_smooth_bounded_and_near_identity_inside():
    raw = jnp.linspace(-50.0, 50.0, 1001)
    bounded = networks.bound_log_std(raw, -5.0, 2.0)
    assert bool(jnp.all(bounded >= -5.0)) and bool(jnp.all(bounded <= 2.0))
    inside = networks.bound_log_std(jnp.linspace(-8.0, 5.0, 101), -5.0, 2.0)
    assert bool(jnp.all(jnp.diff(inside) > 0))  # strictly increasing
    # raw = 0 by hand: midpoint -1.5, half width 3.5.
    expected = -1.5 + 3.5 * math.tanh(1.5 / 3.5)
    np.testing.assert_allclose(
        networks.bound_log_std(0.0, -5.0, 2.0), expected, atol=1e-6
    )
    slope = jax.grad(lambda r: networks.bound_log_std(r, -5.0, 2.0))(-1.0)
    assert 0.95 < slope <= 1.0  # 1 - tanh(0.5 / 3.5)^2 = 0.980


def test_gaussian_head_shapes_and_bounds():
    net = networks.gaussian_mlp(3, 2, hidden_sizes=(8,), min_log_std=-4.0)
    params = net.init(jax.random.key(0))
    x = 1e3 * jax.random.normal(jax.random.key(1), (6, 3))  # saturates the head
    dist = net.apply(params, x)
    assert isinstance(dist, networks.Gaussian)
    assert dist.mean.shape == (6, 2) and dist.log_std.shape == (6, 2)
    assert bool(jnp.all(dist.log_std >= -4.0)) and bool(jnp.all(dist.log_std <= 2.0))
    single = net.apply(params, x[0])
    np.testing.assert_allclose(single.mean, dist.mean[0], rtol=1e-5)


def test_mixture_head_shapes():
    net = networks.mixture_mlp(3, 2, num_components=4, hidden_sizes=(8,))
    dist = jax.jit(net.apply)(net.init(jax.random.key(0)), jnp.ones((6, 3)))
    assert isinstance(dist, networks.MixtureOfGaussians)
    assert dist.logits.shape == (6, 4)
    assert dist.mean.shape == (6, 4, 2) and dist.log_std.shape == (6, 4, 2)
    assert networks.mixture_sample(dist, jax.random.key(1)).shape == (6, 2)
    assert networks.mixture_mode(dist).shape == (6, 2)


def test_mixture_components_start_spread_apart():
    net = networks.mixture_mlp(2, 3, num_components=5, mean_spread=1.5)
    params = net.init(jax.random.key(0))
    # At a zero input every hidden unit is relu(0) = 0, so the output is the
    # last layer's bias: the initial means alone, equal weights, equal stds.
    dist = net.apply(params, jnp.zeros((2,)))
    np.testing.assert_array_equal(dist.logits, np.zeros(5))
    for dim in range(3):
        np.testing.assert_allclose(
            np.sort(dist.mean[:, dim]), 1.5 * np.linspace(-1, 1, 5), atol=1e-6
        )
    # The order differs between dimensions, so components are not collinear.
    orders = {tuple(np.argsort(dist.mean[:, dim])) for dim in range(3)}
    assert len(orders) > 1


def test_head_arguments_are_checked():
    with pytest.raises(ValueError, match="min_log_std must be < max_log_std"):
        networks.gaussian_mlp(2, 1, min_log_std=1.0, max_log_std=0.0)
    with pytest.raises(ValueError, match="num_components must be >= 1; got 0"):
        networks.mixture_mlp(2, 1, num_components=0)
    with pytest.raises(ValueError, match="activation must be one of"):
        networks.mixture_mlp(2, 1, activation="sigmoid")
