"""The GAN losses against hand-computed values, and their gradients' directions."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ilax.algorithms import gan


def test_losses_at_an_undecided_discriminator_are_log_2():
    # d = sigmoid(0) = 1/2 everywhere.
    zeros = jnp.zeros(5)
    np.testing.assert_allclose(gan.discriminator_loss(zeros, zeros), 2 * math.log(2))
    np.testing.assert_allclose(gan.non_saturating_generator_loss(zeros), math.log(2))
    np.testing.assert_allclose(gan.minimax_generator_loss(zeros), -math.log(2))


def test_losses_at_given_logits():
    real, fake = jnp.array([2.0, 0.0]), jnp.array([-1.0, 3.0])
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    d_real, d_fake = [sig(2.0), sig(0.0)], [sig(-1.0), sig(3.0)]
    expected_d = -(
        (math.log(d_real[0]) + math.log(d_real[1])) / 2
        + (math.log(1 - d_fake[0]) + math.log(1 - d_fake[1])) / 2
    )  # 0.3134 / 2 + ... = 2.0397
    np.testing.assert_allclose(
        gan.discriminator_loss(real, fake), expected_d, rtol=1e-6
    )
    np.testing.assert_allclose(
        gan.non_saturating_generator_loss(fake),
        -(math.log(d_fake[0]) + math.log(d_fake[1])) / 2,
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        gan.minimax_generator_loss(fake),
        (math.log(1 - d_fake[0]) + math.log(1 - d_fake[1])) / 2,
        rtol=1e-6,
    )


def test_losses_stay_finite_at_extreme_logits():
    # log(sigmoid(-100)) in float32 would be log(0) = -inf.
    big = jnp.array([100.0, -100.0])
    for value in (
        gan.discriminator_loss(big, big),
        gan.non_saturating_generator_loss(big),
        gan.minimax_generator_loss(big),
    ):
        assert np.isfinite(float(value))
    np.testing.assert_allclose(gan.non_saturating_generator_loss(big), 50.0, rtol=1e-6)


def test_minimax_saturates_where_non_saturating_does_not():
    # A confident discriminator rejects the sample: logit -8, d = 3.4e-4.
    logit = jnp.array([-8.0])
    minimax = jax.grad(gan.minimax_generator_loss)(logit)[0]
    non_saturating = jax.grad(gan.non_saturating_generator_loss)(logit)[0]
    d = 1 / (1 + math.exp(8.0))
    # Both push the logit up (negative gradient): d and 1 - d in size.
    np.testing.assert_allclose(minimax, -d, rtol=1e-5)
    np.testing.assert_allclose(non_saturating, -(1 - d), rtol=1e-5)
    assert abs(float(non_saturating)) > 1000 * abs(float(minimax))
    # The discriminator's gradient pushes real logits up and fake ones down.
    grad_real, grad_fake = jax.grad(gan.discriminator_loss, argnums=(0, 1))(
        jnp.zeros(1), jnp.zeros(1)
    )
    assert float(grad_real[0]) < 0 < float(grad_fake[0])
