"""A conditional DDPM policy as a `Learner`: fit_normalizer, init, update, make_policy.

A noise predictor g(z_t, t, c) is trained with Algorithm 20.1 on normalized
expert actions, conditioned on the normalized input field c (`obs` or
`privileged`); the policy samples one action per environment with Algorithm
20.2 (or DDIM) using an exponential moving average of the parameters. The
predictor is an MLP on the flattened action, or (`denoiser="unet"`)
Diffusion Policy's temporal U-Net, which reads the action as the row-major
chunk of `horizon` steps it is (the layout of
`ilax.chunking.flatten_window`) and convolves over them. A step whose loss
or gradients are not finite leaves the parameters, their average and the
optimizer state untouched and says so in `train/nonfinite`.
"""

import jax
from flax import struct

from ilax.algorithms import base, optim
from ilax.algorithms.diffusion import core
from ilax.algorithms.diffusion.config import MAX_FINAL_ALPHA, DiffusionConfig
from ilax.algorithms.diffusion.schedule import (
    Schedule,
    cosine_schedule,
    linear_schedule,
)
from ilax.data.normalizer import Normalizer
from ilax.networks.core import Network
from ilax.networks.denoisers import mlp_denoiser
from ilax.networks.unet1d import unet_denoiser
from ilax.types import Batch, Learner, Metrics, Params, Policy


@struct.dataclass
class DiffusionState(base.TrainState):
    """The shared train state plus the parameters' average."""

    ema_params: Params  # what the policy samples with


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
    config: DiffusionConfig, *, observation_size: int, action_size: int, horizon: int
) -> Network:
    """The config's noise predictor `apply(params, z, t, cond) -> eps_hat`.

    It denoises flat chunks of `horizon` actions of `action_size` each; the
    MLP ignores their structure, the U-Net convolves over the `horizon` steps.
    """
    if config.denoiser == "mlp":
        return mlp_denoiser(
            horizon * action_size,
            observation_size,
            hidden_sizes=tuple(config.hidden_sizes),
            time_embedding=config.time_embedding,
            activation=config.activation,
        )
    return unet_denoiser(
        horizon * action_size,
        observation_size,
        horizon=horizon,
        down_sizes=tuple(config.down_sizes),
        kernel_size=config.kernel_size,
        groups=config.groups,
        time_embedding=config.time_embedding,
    )


def make(
    config: DiffusionConfig,
    *,
    observation_size: int,
    action_size: int,
    horizon: int = 1,
) -> Learner:
    """The conditional DDPM learner (see the module docstring).

    Arguments and errors as every `ilax.types.LearnerFactory`.

    Returns:
      `Learner(fit_normalizer, init, update, make_policy)`; its state is a
      `DiffusionState`. `update`'s metrics are `diffusion/loss` (Algorithm
      20.1's loss on normalized actions), `diffusion/grad_norm` and
      `train/nonfinite` (1.0 when the step was skipped). The policy is
      stateless and draws a fresh sample each step.
    """
    spec = base.data_spec("diffusion", config, observation_size, action_size, horizon)
    schedule = make_schedule(config)
    network = make_denoiser(
        config,
        observation_size=observation_size,
        action_size=action_size,
        horizon=horizon,
    )
    optimizer = optim.adam_optimizer(
        config.learning_rate, weight_decay=config.weight_decay
    )
    clip_x0 = config.ddim_clip_x0 or None

    def init(key: jax.Array, normalizer: Normalizer) -> DiffusionState:
        params = network.init(key)
        return base.new_state(
            spec, params, optimizer, normalizer, DiffusionState, ema_params=params
        )

    def loss_fn(params: Params, normalizer: Normalizer, batch: Batch, key):
        cond = normalizer.normalize_inputs(getattr(batch, config.input))
        action = normalizer.normalize_actions(batch.action)
        loss = core.noise_prediction_loss(
            network.apply, params, schedule, action, cond, key
        )
        return loss, {}

    def average(params: Params, state: DiffusionState) -> dict[str, Params]:
        # The average takes the stepped parameters before the guard decides,
        # so a skipped step leaves it untouched with everything else.
        return {
            "ema_params": core.ema_update(state.ema_params, params, config.ema_decay)
        }

    def update(
        state: DiffusionState, batch: Batch, key: jax.Array
    ) -> tuple[DiffusionState, Metrics]:
        base.check_batch(spec, batch, "update")
        return optim.guarded_update(
            optimizer,
            loss_fn,
            state,
            batch,
            key,
            family="diffusion",
            also_update=average,
        )

    def make_policy(state: DiffusionState) -> Policy:
        def act(cond: jax.Array, key: jax.Array) -> jax.Array:
            cond, shape = cond[None], (1, spec.action_size)  # a batch of one
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
                    clip_x0=clip_x0,
                )
            return action[0]

        return base.normalized_policy(spec, state.normalizer, act)

    return base.learner(spec, config, init, update, make_policy)
