"""The negative ELBO's pieces against hand-computed values."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ilax.algorithms import vae


def test_kl_matches_the_closed_form_by_hand():
    # mu = (1, 0), log sigma = (0, log 2): per dimension
    # 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2) = 0.5 and 0.5 * (3 - 2 log 2).
    mean = jnp.array([[1.0, 0.0]])
    log_var = 2.0 * jnp.log(jnp.array([[1.0, 2.0]]))
    expected = 0.5 + 0.5 * (3.0 - 2.0 * math.log(2.0))  # 1.30685
    np.testing.assert_allclose(vae.gaussian_kl(mean, log_var), [expected], rtol=1e-6)
    # The prior itself costs nothing.
    np.testing.assert_allclose(
        vae.gaussian_kl(jnp.zeros((3, 4)), jnp.zeros((3, 4))), 0.0
    )


def test_kl_agrees_with_a_monte_carlo_estimate():
    mean, log_var = jnp.array([0.5, -1.0]), jnp.array([-1.0, 0.6])
    mean_n, log_var_n = (jnp.broadcast_to(v, (200_000, 2)) for v in (mean, log_var))
    z = vae.reparameterize(mean_n, log_var_n, jax.random.key(0))
    # E_q[log q(z) - log p(z)] with both log densities written out.
    mean, log_var, var = mean_n, log_var_n, jnp.exp(log_var_n)
    log_q = -0.5 * jnp.sum((z - mean) ** 2 / var + log_var, axis=-1)
    log_p = -0.5 * jnp.sum(z**2, axis=-1)
    np.testing.assert_allclose(
        jnp.mean(log_q - log_p), vae.gaussian_kl(mean[0], log_var[0]), atol=0.02
    )


def test_reconstruction_is_half_the_summed_squared_error():
    prediction = jnp.array([[1.0, 2.0], [0.5, 0.5]])
    target = jnp.array([[0.0, 0.0], [0.5, -0.5]])
    np.testing.assert_allclose(
        vae.reconstruction_nll(prediction, target), [2.5, 0.5], rtol=1e-6
    )


def test_negative_elbo_weights_the_kl():
    prediction, target = jnp.array([[1.0], [3.0]]), jnp.array([[0.0], [1.0]])
    mean, log_var = jnp.array([[1.0], [0.0]]), jnp.zeros((2, 1))
    # Reconstruction: mean of 0.5 and 2.0; KL: mean of 0.5 and 0.
    loss, (reconstruction, kl) = vae.negative_elbo(
        prediction, target, mean, log_var, kl_weight=10.0
    )
    np.testing.assert_allclose(reconstruction, 1.25, rtol=1e-6)
    np.testing.assert_allclose(kl, 0.25, rtol=1e-6)
    np.testing.assert_allclose(loss, 1.25 + 10.0 * 0.25, rtol=1e-6)


def test_reparameterization_passes_gradients():
    mean, log_var = jnp.array([0.3, -0.2]), jnp.array([0.0, math.log(4.0)])
    key = jax.random.key(1)
    eps = jax.random.normal(jax.random.clone(key), (2,))  # the same draw
    z = vae.reparameterize(mean, log_var, jax.random.clone(key))
    np.testing.assert_allclose(z, mean + jnp.array([1.0, 2.0]) * eps, rtol=1e-6)
    grad_mean, grad_log_var = jax.grad(
        lambda m, v: jnp.sum(vae.reparameterize(m, v, key)), argnums=(0, 1)
    )(mean, log_var)
    np.testing.assert_allclose(grad_mean, [1.0, 1.0])
    # d/d(log_var) of exp(log_var / 2) * eps = 0.5 * sigma * eps.
    np.testing.assert_allclose(
        grad_log_var, 0.5 * jnp.array([1.0, 2.0]) * eps, rtol=1e-6
    )
