"""A conditional GAN policy as a `Learner`: init, update and make_policy, all pure.

A generator g(c, z) maps the normalized conditioning c (the `obs` or
`privileged` field) and noise z ~ N(0, I) to a normalized action; a
discriminator d(c, x) = sigmoid(logit) tells data from generated actions.
One `update` takes `discriminator_steps` discriminator steps on the same
minibatch (fresh noise each), then one generator step against the updated
discriminator; each player has its own Adam state. The policy draws z per
environment. The action may be a flattened chunk [Tp * A]. The normalizer
(shared with behavior cloning) is fitted once, in `init`. An update in which
any loss or gradient is not finite is discarded whole (both players and both
optimizer states stay as they were) and says so in `train/nonfinite`.
"""

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ilax import policies
from ilax.algorithms import checks, optim
from ilax.algorithms.gan import losses
from ilax.algorithms.gan.config import GANConfig
from ilax.data.normalizer import Normalizer, fit_normalizer
from ilax.networks import mlp
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything the learner needs to continue bit-identically."""

    generator_params: Params
    discriminator_params: Params
    generator_opt_state: optax.OptState
    discriminator_opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


def make(config: GANConfig, *, observation_size: int, action_size: int) -> Learner:
    """The conditional GAN learner (see the module docstring).

    Args:
      config: the settings; read once here.
      observation_size: width of the conditioning field (`config.input`).
      action_size: width of the actions (A, or Tp * A for a flattened chunk).

    Returns:
      `Learner(init, update, make_policy)`. `update`'s metrics are
      `gan/discriminator_loss` (mean over the update's discriminator steps),
      `gan/generator_loss` (the configured generator loss), `gan/d_real` and
      `gan/d_fake` (the mean of d on the data and on generated actions, at
      the last discriminator step, before it) and `train/nonfinite` (1.0 when
      the update was discarded). The policy is stateless.

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    config.check()
    checks.check_sizes(
        "gan.make", observation_size=observation_size, action_size=action_size
    )
    owner, noise_size = "gan", config.noise_size
    layers = {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }
    generator = mlp(observation_size + noise_size, action_size, **layers)
    discriminator = mlp(observation_size + action_size, 1, **layers)
    generator_optimizer = optax.adam(config.generator_learning_rate, b1=config.adam_b1)
    discriminator_optimizer = optax.adam(
        config.discriminator_learning_rate, b1=config.adam_b1
    )
    if config.generator_loss == "non_saturating":
        generator_loss = losses.non_saturating_generator_loss
    else:
        generator_loss = losses.minimax_generator_loss
    batch_checks = {
        "owner": owner,
        "input_field": config.input,
        "observation_size": observation_size,
        "action_size": action_size,
    }

    def generate(params: Params, cond: jax.Array, key: jax.Array) -> jax.Array:
        z = jax.random.normal(key, cond.shape[:-1] + (noise_size,), jnp.float32)
        return generator.apply(params, jnp.concatenate([cond, z], axis=-1))

    def logits(params: Params, cond: jax.Array, action: jax.Array) -> jax.Array:
        return discriminator.apply(params, jnp.concatenate([cond, action], axis=-1))[
            ..., 0
        ]

    def init(key: jax.Array, data: Batch) -> TrainState:
        checks.check_batch(data, where="init", **batch_checks)
        checks.check_finite(data, owner=owner, input_field=config.input)
        key_generator, key_discriminator = jax.random.split(key)
        normalizer = fit_normalizer(
            getattr(data, config.input),
            data.action,
            min_std=config.min_std,
            enabled=config.normalize,
        )
        generator_params = generator.init(key_generator)
        discriminator_params = discriminator.init(key_discriminator)
        return TrainState(
            generator_params=generator_params,
            discriminator_params=discriminator_params,
            generator_opt_state=generator_optimizer.init(generator_params),
            discriminator_opt_state=discriminator_optimizer.init(discriminator_params),
            step=jnp.zeros((), jnp.int32),
            normalizer=normalizer,
        )

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        checks.check_batch(batch, where="update", **batch_checks)
        key_discriminator, key_generator = jax.random.split(key)
        cond = state.normalizer.normalize_inputs(getattr(batch, config.input))
        real = state.normalizer.normalize_actions(batch.action)

        def discriminator_loss(params, fake):
            real_logits, fake_logits = (
                logits(params, cond, real),
                logits(params, cond, fake),
            )
            loss = losses.discriminator_loss(real_logits, fake_logits)
            return loss, (jax.nn.sigmoid(real_logits), jax.nn.sigmoid(fake_logits))

        def discriminator_step(carry, index):
            params, opt_state, finite = carry
            step_key = jax.random.fold_in(key_discriminator, index)
            fake = generate(state.generator_params, cond, step_key)
            (loss, (d_real, d_fake)), grads = jax.value_and_grad(
                discriminator_loss, has_aux=True
            )(params, fake)
            updates, opt_state = discriminator_optimizer.update(grads, opt_state)
            params = optax.apply_updates(params, updates)
            finite = finite & optim.grad_norm_and_finite(loss, grads)[1]
            return (params, opt_state, finite), (
                loss,
                jnp.mean(d_real),
                jnp.mean(d_fake),
            )

        (d_params, d_opt_state, d_finite), (d_losses, d_real, d_fake) = jax.lax.scan(
            discriminator_step,
            (
                state.discriminator_params,
                state.discriminator_opt_state,
                jnp.bool_(True),
            ),
            # Indices and fold_in, not split keys: jax's key-reuse checker
            # (jax 0.10) flags a scan over a key array once seeds are vmapped.
            jnp.arange(config.discriminator_steps, dtype=jnp.uint32),
        )

        def generator_objective(params):
            return generator_loss(
                logits(d_params, cond, generate(params, cond, key_generator))
            )

        g_loss, g_grads = jax.value_and_grad(generator_objective)(
            state.generator_params
        )
        g_updates, g_opt_state = generator_optimizer.update(
            g_grads, state.generator_opt_state
        )
        g_params = optax.apply_updates(state.generator_params, g_updates)
        finite = d_finite & optim.grad_norm_and_finite(g_loss, g_grads)[1]
        new = state.replace(
            generator_params=g_params,
            discriminator_params=d_params,
            generator_opt_state=g_opt_state,
            discriminator_opt_state=d_opt_state,
        )
        # Kept or discarded whole; `new` differs from `state` only in the players.
        state = optim.keep_if_finite(finite, new, state).replace(step=state.step + 1)
        metrics = {
            "gan/discriminator_loss": jnp.mean(d_losses),
            "gan/generator_loss": g_loss,
            "gan/d_real": d_real[-1],
            "gan/d_fake": d_fake[-1],
            "train/nonfinite": 1.0 - finite.astype(jnp.float32),
        }
        return state, metrics

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            cond = n.normalize_inputs(getattr(observation, config.input))
            action = generate(state.generator_params, cond, key)
            return n.denormalize_actions(action)

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
