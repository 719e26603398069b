"""The shared optimizer factory and the non-finite step guard."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ilax.algorithms import optim


def test_keep_if_finite_picks_the_whole_tree_by_one_flag():
    new = {"w": jnp.ones(3), "b": (jnp.full((2,), 2.0),)}
    old = {"w": jnp.zeros(3), "b": (jnp.full((2,), -1.0),)}
    kept = optim.keep_if_finite(jnp.bool_(True), new, old)
    jax.tree.map(np.testing.assert_array_equal, kept, new)
    reverted = optim.keep_if_finite(jnp.bool_(False), new, old)
    jax.tree.map(np.testing.assert_array_equal, reverted, old)


def test_grad_norm_and_finite_flags_a_nan_loss_or_an_inf_gradient():
    grads = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
    norm, finite = optim.grad_norm_and_finite(jnp.float32(1.0), grads)
    np.testing.assert_allclose(norm, 5.0)  # the 3-4-5 triangle
    assert bool(finite)
    assert not bool(optim.grad_norm_and_finite(jnp.float32(jnp.nan), grads)[1])
    bad = {"a": jnp.array([jnp.inf]), "b": jnp.array([4.0])}
    assert not bool(optim.grad_norm_and_finite(jnp.float32(1.0), bad)[1])


def test_adam_optimizer_is_adamw_and_clips_to_the_global_norm():
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([30.0, 40.0])}  # global norm 50
    step = optim.adam_optimizer(0.1, weight_decay=0.01)
    reference = optax.adamw(0.1, weight_decay=0.01)
    ours, _ = step.update(grads, step.init(params), params)
    theirs, _ = reference.update(grads, reference.init(params), params)
    np.testing.assert_array_equal(ours["w"], theirs["w"])
    # With clipping to 5 the optimizer sees grads / 10; Adam's first step is
    # scale invariant, so only the clipped moments tell: mu = 0.1 * g / 10.
    clipped = optim.adam_optimizer(0.1, max_grad_norm=5.0)
    _, state = clipped.update(grads, clipped.init(params), params)
    adam_state = state[1][0]
    np.testing.assert_allclose(adam_state.mu["w"], [0.3, 0.4], rtol=1e-6)
