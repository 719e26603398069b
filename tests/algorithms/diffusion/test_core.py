"""The DDPM core: the loss on hand-built cases, and the samplers driven by the
closed-form optimal noise predictor of a Gaussian mixture (no training)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.algorithms import diffusion

WEIGHTS = jnp.array([[0.3, 0.7]])  # [1, K], explicit rank for broadcasting
MEANS = jnp.array([[-2.0, 2.0]])
STDS = jnp.array([[0.5, 0.5]])
NUM_SAMPLES = 4000
# Binomial standard error of a measured weight: sqrt(0.3 * 0.7 / 4000) =
# 0.0072. Over 5 seeds the samplers' weights of the -2 mode measured 0.294 to
# 0.302 (DDPM, T = 1000 linear), 0.288 to 0.296 (DDPM, T = 100 cosine) and
# 0.274 to 0.303 (DDIM 10 and 20 steps): a discretization bias of at most
# ~0.012 on top of the sampling noise. 0.04 = 4 standard errors + 0.01.
WEIGHT_TOLERANCE = 0.04


def mixture_noise_predictor(schedule):
    """eps*(z_t, t) = -sqrt(1 - alpha_t) * score of the noised 1-D mixture.

    Component k of q(z_t) is N(sqrt(alpha_t) mu_k, alpha_t s_k^2 + 1 - alpha_t).
    """

    def predict(params, z, t, cond):
        del params, cond
        alpha = diffusion.alpha_at(schedule, t)[:, None]  # [B, 1]
        variance = alpha * STDS**2 + 1.0 - alpha  # [B, K]
        offset = z - jnp.sqrt(alpha) * MEANS  # [B, K]
        log_resp = (
            jnp.log(WEIGHTS) - 0.5 * jnp.log(variance) - 0.5 * offset**2 / variance
        )
        resp = jax.nn.softmax(log_resp, axis=-1)
        score = jnp.sum(resp * (-offset / variance), axis=-1, keepdims=True)
        return -jnp.sqrt(1.0 - alpha) * score

    return predict


def _check_mixture(samples, mean_tolerance, std_tolerance):
    x = np.asarray(samples)[:, 0]
    assert np.all(np.isfinite(x))
    negative = x < 0  # the components sit 8 stds apart
    assert abs(negative.mean() - 0.3) < WEIGHT_TOLERANCE, negative.mean()
    for side, mean in ((negative, -2.0), (~negative, 2.0)):
        assert abs(x[side].mean() - mean) < mean_tolerance
        assert abs(x[side].std() - 0.5) < std_tolerance


@pytest.mark.parametrize(
    "schedule",
    [diffusion.linear_schedule(1000), diffusion.cosine_schedule(100)],
    ids=["linear1000", "cosine100"],
)
def test_ddpm_with_optimal_predictor_reproduces_the_mixture(schedule):
    predict = mixture_noise_predictor(schedule)
    samples = jax.jit(
        lambda key: diffusion.ddpm_sample(
            predict, None, schedule, None, key, (NUM_SAMPLES, 1)
        )
    )(jax.random.key(1))
    # Measured: means within 0.02 of +-2, stds 0.49 to 0.51.
    _check_mixture(samples, mean_tolerance=0.05, std_tolerance=0.03)


@pytest.mark.parametrize("num_steps", [10, 20])
def test_ddim_with_optimal_predictor_reproduces_the_mixture(num_steps):
    schedule = diffusion.cosine_schedule(100)
    predict = mixture_noise_predictor(schedule)
    samples = diffusion.ddim_sample(
        predict, None, schedule, None, jax.random.key(2), (NUM_SAMPLES, 1), num_steps
    )
    # Measured: few steps pull the modes inward (at 10 steps the +2 mode's
    # mean is 1.89, the lighter -2 mode's -1.81; stds 0.44 to 0.47; at 20
    # steps means within 0.07 of +-2), a discretization error, not a bug.
    _check_mixture(samples, mean_tolerance=0.25, std_tolerance=0.1)


def test_ddim_timesteps_use_the_leading_spacing():
    np.testing.assert_array_equal(diffusion.ddim_timesteps(100, 5), [81, 61, 41, 21, 1])
    np.testing.assert_array_equal(diffusion.ddim_timesteps(3, 3), [3, 2, 1])
    with pytest.raises(ValueError, match="num_steps must be an int in 1..100"):
        diffusion.ddim_timesteps(100, 101)


def test_ddim_clip_bounds_the_samples():
    schedule = diffusion.cosine_schedule(50)
    samples = diffusion.ddim_sample(
        mixture_noise_predictor(schedule),
        None,
        schedule,
        None,
        jax.random.key(3),
        (500, 1),
        10,
        clip_x0=1.0,
    )
    assert float(jnp.max(jnp.abs(samples))) <= 1.0 + 1e-5


def test_loss_is_zero_for_the_true_noise_and_dimension_for_zero():
    schedule = diffusion.linear_schedule(50, beta_start=1e-3, beta_end=0.2)
    x0 = jax.random.normal(jax.random.key(4), (4096, 3))
    t_seen = []

    def oracle(params, z, t, cond):
        # Recover eps from z_t and x0: exact up to float error.
        t_seen.append(t)
        alpha = diffusion.alpha_at(schedule, t)[:, None]
        return (z - jnp.sqrt(alpha) * cond) / jnp.sqrt(1.0 - alpha)

    def zeros(params, z, t, cond):
        return jnp.zeros_like(z)

    key = jax.random.key(5)
    exact = diffusion.noise_prediction_loss(oracle, None, schedule, x0, x0, key)
    assert float(exact) < 1e-8
    (t,) = t_seen
    assert t.dtype == jnp.int32 and t.shape == (4096,)
    assert int(t.min()) == 1 and int(t.max()) == 50  # Bishop's t ~ U{1..T}
    blind = diffusion.noise_prediction_loss(
        zeros, None, schedule, x0, None, jax.random.key(6)
    )
    # E||eps||^2 = D = 3; the mean of 4096 chi-square(3) draws has std 0.038.
    assert abs(float(blind) - 3.0) < 0.15


def test_samplers_compile_once_and_are_deterministic():
    schedule = diffusion.cosine_schedule(20)
    predict = mixture_noise_predictor(schedule)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def sample(params, key):
        key_ddpm, key_ddim = jax.random.split(key)
        ddpm = diffusion.ddpm_sample(predict, params, schedule, None, key_ddpm, (8, 1))
        ddim = diffusion.ddim_sample(
            predict, params, schedule, None, key_ddim, (8, 1), 5
        )
        return ddpm, ddim

    chex.clear_trace_counter()
    first = sample(jnp.zeros(()), jax.random.key(7))
    again = sample(jnp.ones(()), jax.random.key(7))
    other = sample(jnp.zeros(()), jax.random.key(8))
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_ema_update():
    ema = {"w": jnp.array([1.0, 2.0]), "b": {"c": jnp.array(0.0)}}
    new = {"w": jnp.array([3.0, 2.0]), "b": {"c": jnp.array(10.0)}}
    out = diffusion.ema_update(ema, new, 0.75)
    np.testing.assert_allclose(out["w"], [1.5, 2.0])
    np.testing.assert_allclose(out["b"]["c"], 2.5)
