"""A conditional GAN policy as a `Learner`: fit_normalizer, init, update, make_policy.

A generator g(c, z) maps the normalized conditioning c (the `obs` or
`privileged` field) and noise z ~ N(0, I) to a normalized action; a
discriminator d(c, x) = sigmoid(logit) tells data from generated actions.
One `update` takes `discriminator_steps` discriminator steps on the same
minibatch (fresh noise each), then one generator step against the updated
discriminator; each player has its own Adam state, under its name in the
train state's `params` and `opt_state`. The policy draws z per environment.
The action may be a flattened chunk [Tp * A]. An update in which any loss or
gradient is not finite is discarded whole (both players and both optimizer
states stay as they were) and says so in `train/nonfinite`.
"""

import jax
import jax.numpy as jnp
import optax

from ilax.algorithms import base, optim
from ilax.algorithms.gan import losses
from ilax.algorithms.gan.config import GANConfig
from ilax.data.normalizer import Normalizer
from ilax.networks import mlp
from ilax.types import Batch, Learner, Metrics, Params, Policy

PLAYERS = ("generator", "discriminator")


def make(
    config: GANConfig, *, observation_size: int, action_size: int, horizon: int = 1
) -> Learner:
    """The conditional GAN learner (see the module docstring).

    Arguments and errors as every `ilax.types.LearnerFactory`.

    Returns:
      `Learner(fit_normalizer, init, update, make_policy)`. `update`'s
      metrics are `gan/discriminator_loss` (mean over the update's
      discriminator steps), `gan/generator_loss` (the configured generator
      loss), `gan/d_real` and `gan/d_fake` (the mean of d on the data and on
      generated actions, at the last discriminator step, before it) and
      `train/nonfinite` (1.0 when the update was discarded). The policy is
      stateless.
    """
    spec = base.data_spec("gan", config, observation_size, action_size, horizon)
    noise_size, width = config.noise_size, spec.action_size
    layers = base.mlp_layers(config)
    networks = {
        "generator": mlp(observation_size + noise_size, width, **layers),
        "discriminator": mlp(observation_size + width, 1, **layers),
    }
    optimizers = {
        "generator": optim.adam_optimizer(
            config.generator_learning_rate, b1=config.adam_b1
        ),
        "discriminator": optim.adam_optimizer(
            config.discriminator_learning_rate, b1=config.adam_b1
        ),
    }
    if config.generator_loss == "non_saturating":
        generator_loss = losses.non_saturating_generator_loss
    else:
        generator_loss = losses.minimax_generator_loss

    def generate(params: Params, cond: jax.Array, key: jax.Array) -> jax.Array:
        z = jax.random.normal(key, cond.shape[:-1] + (noise_size,), jnp.float32)
        return networks["generator"].apply(params, jnp.concatenate([cond, z], -1))

    def logits(params: Params, cond: jax.Array, action: jax.Array) -> jax.Array:
        inputs = jnp.concatenate([cond, action], axis=-1)
        return networks["discriminator"].apply(params, inputs)[..., 0]

    def init(key: jax.Array, normalizer: Normalizer) -> base.TrainState:
        keys = dict(zip(PLAYERS, jax.random.split(key), strict=True))
        params = {name: networks[name].init(keys[name]) for name in PLAYERS}
        return base.new_state(spec, params, optimizers, normalizer)

    def update(
        state: base.TrainState, batch: Batch, key: jax.Array
    ) -> tuple[base.TrainState, Metrics]:
        base.check_batch(spec, batch, "update")
        key_discriminator, key_generator = jax.random.split(key)
        cond = state.normalizer.normalize_inputs(getattr(batch, config.input))
        real = state.normalizer.normalize_actions(batch.action)
        generator_params = state.params["generator"]
        optimizer = optimizers["discriminator"]

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
            fake = generate(generator_params, cond, step_key)
            (loss, (d_real, d_fake)), grads = jax.value_and_grad(
                discriminator_loss, has_aux=True
            )(params, fake)
            updates, opt_state = optimizer.update(grads, opt_state, params)
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
                state.params["discriminator"],
                state.opt_state["discriminator"],
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

        g_loss, g_grads = jax.value_and_grad(generator_objective)(generator_params)
        g_updates, g_opt_state = optimizers["generator"].update(
            g_grads, state.opt_state["generator"], generator_params
        )
        g_params = optax.apply_updates(generator_params, g_updates)
        finite = d_finite & optim.grad_norm_and_finite(g_loss, g_grads)[1]
        new = state.replace(
            params={"generator": g_params, "discriminator": d_params},
            opt_state={"generator": g_opt_state, "discriminator": d_opt_state},
        )
        # Kept or discarded whole; `new` differs from `state` only in the players.
        state = optim.keep_if_finite(finite, new, state).replace(step=state.step + 1)
        metrics = {
            "gan/discriminator_loss": jnp.mean(d_losses),
            "gan/generator_loss": g_loss,
            "gan/d_real": d_real[-1],
            "gan/d_fake": d_fake[-1],
            "train/nonfinite": optim.nonfinite_metric(finite),
        }
        return state, metrics

    def make_policy(state: base.TrainState) -> Policy:
        def act(cond: jax.Array, key: jax.Array) -> jax.Array:
            return generate(state.params["generator"], cond, key)

        return base.normalized_policy(spec, state.normalizer, act)

    return base.learner(spec, config, init, update, make_policy)
