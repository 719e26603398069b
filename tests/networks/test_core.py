"""`from_nnx` and `mlp`: plain-dict params, purity, no retracing, vmap."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ilax import networks
from ilax.networks.mlp import MLP


def _all_keys(tree, prefix=()):
    for name, value in tree.items():
        if isinstance(value, dict):
            yield from _all_keys(value, prefix + (name,))
        else:
            yield prefix + (name,), value


def test_params_are_a_plain_dict_of_arrays_with_string_keys():
    net = networks.mlp(3, 2, hidden_sizes=(8, 4))
    params = net.init(jax.random.key(0))
    assert type(params) is dict
    leaves = dict(_all_keys(params))
    assert all(isinstance(name, str) for path in leaves for name in path)
    assert all(isinstance(v, jax.Array) for v in leaves.values())
    shapes = {"/".join(path): v.shape for path, v in leaves.items()}
    assert shapes == {
        "hidden/0/kernel": (3, 8),
        "hidden/0/bias": (8,),
        "hidden/1/kernel": (8, 4),
        "hidden/1/bias": (4,),
        "output/kernel": (4, 2),
        "output/bias": (2,),
    }


def test_apply_matches_the_nnx_module_call():
    x = jax.random.normal(jax.random.key(1), (5, 3))
    module = MLP(3, 2, hidden_sizes=(8, 8), activation="tanh", rngs=nnx.Rngs(7))
    net = networks.from_nnx(
        lambda rngs: MLP(3, 2, hidden_sizes=(8, 8), activation="tanh", rngs=rngs)
    )
    params = net.init(jax.random.key(7))
    # Same seed, same weights: nnx.Rngs(7) and a typed key(7) draw alike.
    np.testing.assert_allclose(net.apply(params, x), module(x), rtol=1e-6)
    # And apply really uses the params it is given.
    zeroed = jax.tree.map(jnp.zeros_like, params)
    np.testing.assert_array_equal(net.apply(zeroed, x), np.zeros((5, 2)))


def test_linear_when_there_are_no_hidden_layers():
    net = networks.mlp(3, 2, hidden_sizes=())
    params = net.init(jax.random.key(0))
    assert set(params) == {"output"}
    x = jnp.array([[1.0, 2.0, -1.0]])
    w, b = params["output"]["kernel"], params["output"]["bias"]
    np.testing.assert_allclose(net.apply(params, x), x @ w + b[None], rtol=1e-6)


def test_new_params_and_inputs_do_not_retrace():
    net = networks.mlp(3, 2)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def loss(params, x):
        return jnp.sum(net.apply(params, x) ** 2)

    grad = jax.jit(jax.grad(loss))
    for seed in range(3):
        params = net.init(jax.random.key(seed))
        x = jnp.full((4, 3), float(seed))
        loss(params, x)
    grads = grad(params, x)
    assert jax.tree.structure(grads) == jax.tree.structure(params)


def test_init_is_deterministic_per_key():
    net = networks.mlp(3, 2)
    a = net.init(jax.random.key(3))
    b = net.init(jax.random.key(3))
    c = net.init(jax.random.key(4))
    chex.assert_trees_all_equal(a, b)
    assert not np.allclose(a["output"]["kernel"], c["output"]["kernel"])


def test_vmap_over_keys_equals_a_loop():
    net = networks.mlp(3, 2, hidden_sizes=(4,))
    batched = jax.vmap(net.init)(jax.random.split(jax.random.key(5), 3))
    keys = jax.random.split(jax.random.key(5), 3)
    looped = [net.init(keys[i]) for i in range(3)]
    chex.assert_trees_all_close(batched, jax.tree.map(lambda *v: jnp.stack(v), *looped))
    x = jnp.ones((2, 3))
    outputs = jax.vmap(net.apply, in_axes=(0, None))(batched, x)
    for i in range(3):
        np.testing.assert_allclose(outputs[i], net.apply(looped[i], x), rtol=1e-6)


@pytest.mark.parametrize("activation", sorted(networks.ACTIVATIONS))
def test_every_activation_builds_and_applies(activation):
    net = networks.mlp(2, 1, hidden_sizes=(4,), activation=activation)
    out = net.apply(net.init(jax.random.key(0)), jnp.ones((3, 2)))
    assert out.shape == (3, 1) and bool(jnp.all(jnp.isfinite(out)))


def test_bad_layers_are_refused_with_the_field_name():
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'swish'"):
        networks.mlp(2, 1, activation="swish")
    with pytest.raises(ValueError, match=r"hidden_sizes must be positive.*\(8, 0\)"):
        networks.mlp(2, 1, hidden_sizes=(8, 0))


def test_modules_with_non_parameter_state_are_refused():
    class Normalized(nnx.Module):
        def __init__(self, rngs):
            self.norm = nnx.BatchNorm(2, rngs=rngs)

        def __call__(self, x):
            return self.norm(x)

    with pytest.raises(ValueError, match="only nnx.Param.*BatchStat"):
        networks.from_nnx(Normalized)


def test_missing_params_name_the_entry():
    net = networks.mlp(3, 2)
    params = net.init(jax.random.key(0))
    del params["output"]["bias"]
    with pytest.raises(ValueError, match="missing entry 'bias' under output"):
        net.apply(params, jnp.ones((1, 3)))
