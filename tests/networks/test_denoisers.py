"""The MLP noise predictor and its time embedding."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.networks.denoisers import mlp_denoiser, sinusoidal_embedding


def test_sinusoidal_embedding_values():
    features = sinusoidal_embedding(jnp.array([0, 3]), 4)
    # Frequencies 1 and 1/100 (10000 ** -(1/2)); sin half first, then cos.
    expected = [
        [0.0, 0.0, 1.0, 1.0],
        [math.sin(3), math.sin(0.03), math.cos(3), math.cos(0.03)],
    ]
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_mlp_denoiser_shapes_and_time_dependence():
    net = mlp_denoiser(2, 3, hidden_sizes=(16,), time_embedding=8)
    params = net.init(jax.random.key(0))
    z, cond = jnp.ones((5, 2)), jnp.ones((5, 3))
    early = net.apply(params, z, jnp.full((5,), 1, jnp.int32), cond)
    late = net.apply(params, z, jnp.full((5,), 50, jnp.int32), cond)
    assert early.shape == (5, 2)
    assert not np.allclose(early, late)
    single = net.apply(params, z[0], jnp.array(1, jnp.int32), cond[0])
    np.testing.assert_allclose(single, early[0], rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"time_embedding": 5}, "time_embedding must be even"),
        ({"action_size": 0}, "action_size"),
        ({"hidden_sizes": (0,)}, "hidden_sizes"),
    ],
)
def test_mlp_denoiser_errors(kwargs, match):
    args = {"action_size": 2, "cond_size": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        mlp_denoiser(**args)
