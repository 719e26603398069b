"""GAN losses on discriminator logits, written with log-sigmoid for stability.

With d = sigmoid(logit), log d = log_sigmoid(logit) and log(1 - d) =
log_sigmoid(-logit): finite for any finite logit, where log(sigmoid(.))
would round to log(0) once |logit| passes ~17 in float32. The game is
min_g max_d E[log d(c, x)] + E[log(1 - d(c, g(c, z)))]; each function
returns a batch mean that its player minimizes.
"""

import jax
import jax.numpy as jnp


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-E[log d(c, x)] - E[log(1 - d(c, g(c, z)))]: the game's value, negated."""
    real = jnp.mean(jax.nn.log_sigmoid(real_logits))
    fake = jnp.mean(jax.nn.log_sigmoid(-fake_logits))
    return -(real + fake)


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """E[log(1 - d(c, g(c, z)))]: the generator's side of the game itself.

    Its gradient in the logit is -d, which vanishes where the discriminator
    rejects the samples confidently (d -> 0), early in training.
    """
    return jnp.mean(jax.nn.log_sigmoid(-fake_logits))


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """-E[log d(c, g(c, z))]: the same fixed point, without the saturation.

    Its gradient in the logit is -(1 - d), largest where the samples are
    rejected.
    """
    return -jnp.mean(jax.nn.log_sigmoid(fake_logits))
