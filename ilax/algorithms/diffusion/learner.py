"""A conditional DDPM policy as a `Learner`: init, update and make_policy, all pure.

A noise predictor g(z_t, t, obs) is trained with Algorithm 20.1 on
normalized expert actions, conditioned on the normalized `obs`; the policy
samples one action per environment with Algorithm 20.2 (or DDIM) using an
exponential moving average of the parameters. The predictor is an MLP on the
flattened action, or (`denoiser="unet"`) Diffusion Policy's temporal U-Net,
which reads the action as a row-major chunk of `horizon` steps (the layout of
`ilax.chunking.flatten_window`) and convolves over them. The normalizer
(shared with behavior cloning) is fitted once, in `init`. A step whose loss or gradients
are not finite leaves the parameters, their average and the optimizer state
untouched and says so in `train/nonfinite`.
"""

import jax
import jax.numpy as jnp
import optax
from flax import struct

from ilax import policies
from ilax.algorithms import checks, optim
from ilax.algorithms.diffusion import core
from ilax.algorithms.diffusion.config import MAX_FINAL_ALPHA, DiffusionConfig
from ilax.algorithms.diffusion.schedule import (
    Schedule,
    cosine_schedule,
    linear_schedule,
)
from ilax.data.normalizer import Normalizer, fit_normalizer
from ilax.networks.core import Network
from ilax.networks.denoisers import mlp_denoiser
from ilax.networks.unet1d import unet_denoiser
from ilax.types import Batch, Learner, Metrics, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything the learner needs to continue bit-identically."""

    params: Params
    ema_params: Params  # what the policy samples with
    opt_state: optax.OptState
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer


def make_schedule(config: DiffusionConfig) -> Schedule:
    """The config's noise schedule.

    Raises:
      ValueError: a schedule whose alpha_T exceeds `MAX_FINAL_ALPHA` (the
        chain would not reach N(0, I)), naming the fields to change.
    """
    if config.schedule == "cosine":
        schedule = cosine_schedule(config.num_steps)
    else:
        schedule = linear_schedule(config.num_steps, config.beta_start, config.beta_end)
    final_alpha = float(schedule.alpha[-1])
    if final_alpha > MAX_FINAL_ALPHA:
        raise ValueError(
            f"DiffusionConfig: alpha_T = {final_alpha:.3g} (expected <= "
            f"{MAX_FINAL_ALPHA}) with schedule={config.schedule!r}, num_steps="
            f"{config.num_steps}, beta_start={config.beta_start}, beta_end="
            f"{config.beta_end}: z_T would not be N(0, I); raise num_steps or beta_end"
        )
    return schedule


def make_denoiser(
    config: DiffusionConfig, *, observation_size: int, action_size: int
) -> Network:
    """The config's noise predictor `apply(params, z, t, obs) -> eps_hat`.

    Raises:
      ValueError: with the U-Net, a `horizon` that does not divide
        `action_size`, naming both.
    """
    if config.denoiser == "mlp":
        return mlp_denoiser(
            action_size,
            observation_size,
            hidden_sizes=tuple(config.hidden_sizes),
            time_embedding=config.time_embedding,
            activation=config.activation,
        )
    if action_size % config.horizon:
        raise ValueError(
            f"DiffusionConfig.horizon must divide action_size ({action_size}) into "
            f"equal steps; got {config.horizon}"
        )
    return unet_denoiser(
        action_size,
        observation_size,
        horizon=config.horizon,
        down_sizes=tuple(config.down_sizes),
        kernel_size=config.kernel_size,
        groups=config.groups,
        time_embedding=config.time_embedding,
    )


def make(
    config: DiffusionConfig, *, observation_size: int, action_size: int
) -> Learner:
    """The conditional DDPM learner (see the module docstring).

    Args:
      config: the settings; read once here.
      observation_size: width of `obs`, the conditioning.
      action_size: width of the actions (for the U-Net, a flattened chunk of
        `config.horizon` steps).

    Returns:
      `Learner(init, update, make_policy)`. `update`'s metrics are
      `diffusion/loss` (Algorithm 20.1's loss on normalized actions),
      `diffusion/grad_norm` and `train/nonfinite` (1.0 when the step was
      skipped). The policy is stateless and draws a fresh sample each step.

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    config.check()
    checks.check_sizes(
        "diffusion.make", observation_size=observation_size, action_size=action_size
    )
    batch_checks = {
        "owner": "diffusion",
        "input_field": "obs",
        "observation_size": observation_size,
        "action_size": action_size,
    }
    schedule = make_schedule(config)
    network = make_denoiser(
        config, observation_size=observation_size, action_size=action_size
    )
    optimizer = optim.adam_optimizer(
        config.learning_rate, weight_decay=config.weight_decay
    )

    def init(key: jax.Array, data: Batch) -> TrainState:
        checks.check_batch(data, where="init", **batch_checks)
        checks.check_finite(data, owner="diffusion", input_field="obs")
        normalizer = fit_normalizer(
            data.obs, data.action, min_std=config.min_std, enabled=config.normalize
        )
        params = network.init(key)
        return TrainState(
            params=params,
            ema_params=params,
            opt_state=optimizer.init(params),
            step=jnp.zeros((), jnp.int32),
            normalizer=normalizer,
        )

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        obs = normalizer.normalize_inputs(batch.obs)
        action = normalizer.normalize_actions(batch.action)
        return core.noise_prediction_loss(
            network.apply, params, schedule, action, obs, key
        )

    def update(
        state: TrainState, batch: Batch, key: jax.Array
    ) -> tuple[TrainState, Metrics]:
        checks.check_batch(batch, where="update", **batch_checks)
        loss, grads = jax.value_and_grad(loss_fn)(
            state.params, state.normalizer, batch, key
        )
        # Not `optim.guarded_step`: averaging its guarded parameters instead of
        # these changed the average's last bits on CPU, and runs should stay
        # bit-identical to earlier ones.
        grad_norm, finite = optim.grad_norm_and_finite(loss, grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        ema_params = core.ema_update(state.ema_params, params, config.ema_decay)
        state = state.replace(
            params=optim.keep_if_finite(finite, params, state.params),
            ema_params=optim.keep_if_finite(finite, ema_params, state.ema_params),
            opt_state=optim.keep_if_finite(finite, opt_state, state.opt_state),
            step=state.step + 1,
        )
        metrics = {
            "diffusion/loss": loss,
            "diffusion/grad_norm": grad_norm,
            "train/nonfinite": 1.0 - finite.astype(jnp.float32),
        }
        return state, metrics

    def make_policy(state: TrainState) -> Policy:
        n = state.normalizer

        def act(observation: Observation, key: jax.Array) -> jax.Array:
            cond = n.normalize_inputs(observation.obs)[None]  # a batch of one
            shape = (1, action_size)
            if config.sampler == "ddpm":
                action = core.ddpm_sample(
                    network.apply, state.ema_params, schedule, cond, key, shape
                )
            else:
                action = core.ddim_sample(
                    network.apply,
                    state.ema_params,
                    schedule,
                    cond,
                    key,
                    shape,
                    config.ddim_steps,
                )
            return n.denormalize_actions(action[0])

        return policies.stateless(act)

    return Learner(init=init, update=update, make_policy=make_policy)
