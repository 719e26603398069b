"""What every learner shares: its train state, its input settings, its checks.

A learner (`ilax.types.Learner`) is built by a `make(config, *,
observation_size, action_size, horizon=1)` factory. Its config derives from
`LearnerConfig`, which declares the three fields every learner has (the
field it reads, whether and how it standardizes); its state is a
`TrainState`, or a subclass that adds what a learner must carry besides
(diffusion's parameter average). `DataSpec` is what a learner reads from a
`Batch`: with it, `fit_normalizer_fn`, `check_batch` and `new_state` are the
shape checks, the normalizer and the initial state that every learner would
otherwise write out again.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from ilax import config as config_lib
from ilax import policies
from ilax.algorithms import checks
from ilax.data import normalizer as normalizer_lib
from ilax.data.normalizer import Normalizer
from ilax.types import Batch, Learner, Observation, Params, Policy


@struct.dataclass
class TrainState:
    """Everything a learner needs to continue bit-identically.

    Keys come from the caller.
    """

    params: Params  # the trained networks; a dict by name where there are several
    opt_state: optax.OptState  # of `params` (a dict by name likewise)
    step: jax.Array  # int32, updates taken (skipped non-finite ones included)
    normalizer: Normalizer  # fitted once, before `init` (`Learner.fit_normalizer`)


@dataclasses.dataclass(kw_only=True)
class LearnerConfig:
    """The settings every learner shares: what it reads and how it standardizes."""

    input: str = "obs"
    """The `Observation`/`Batch` field the policy reads (and is conditioned
    on): `obs` (a student) or `privileged` (a teacher that sees the true
    state)."""
    normalize: bool = True
    """Standardize the input field and the actions with the per-column mean
    and std of the data given to `fit_normalizer` (an identity normalizer
    otherwise). This fixes the scale the losses refer to: unit-variance
    targets for regression, the N(0, I) a diffusion chain starts from, noise
    and latents of unit scale for the GAN and the VAEs."""
    min_std: float = 1e-2
    """Floor of the normalizer's standard deviations. A feature that is
    (nearly) constant in the demonstrations, like an occupancy cell the
    expert never leaves, would otherwise be divided by ~0 and turn the first
    off-distribution value into an input of size 1e6; with 1e-2 a unit
    deviation reads as 100, large but finite, and features whose real spread
    is below 1e-2 are rarely informative in these tasks' units."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid shared field."""
        config_lib.check_types(self)
        owner = type(self).__name__
        config_lib.check_choice(owner, "input", self.input, checks.INPUTS)
        config_lib.check_positive(owner, "min_std", self.min_std)


def input_size(config: LearnerConfig, env) -> int:
    """The width of the field a learner of `config` reads in `env`."""
    if config.input == "privileged":
        return env.privileged_size
    return env.observation_size


class DataSpec(NamedTuple):
    """What a learner reads from a flat `Batch`, for its checks and messages."""

    owner: str  # the learner as its messages spell it: "BC", "vae", ...
    input: str  # the field read, `obs` or `privileged`
    observation_size: int  # width of that field (To * O for a history)
    action_size: int  # width of `action`: horizon * one action's width
    horizon: int  # actions per prediction (Tp), 1 for single steps


def data_spec(
    owner: str,
    config: LearnerConfig,
    observation_size: int,
    action_size: int,
    horizon: int,
) -> DataSpec:
    """Checks a learner's config and sizes, and returns its spec.

    Every learner factory starts with this call.

    Args:
      owner: the learner's name in messages; also names the factory
        (`<owner>.make`) in size errors.
      config: the learner's config (its `input`).
      observation_size: width of the input field.
      action_size: width of one action.
      horizon: actions per prediction; the flat action is `horizon *
        action_size` wide, row-major (step j at `[j * A:(j + 1) * A]`).

    Raises:
      ValueError: an invalid config field, or a size that is not a positive
        int, naming it.
    """
    config.check()
    checks.check_sizes(
        f"{owner.lower()}.make",
        observation_size=observation_size,
        action_size=action_size,
        horizon=horizon,
    )
    return DataSpec(
        owner=owner,
        input=config.input,
        observation_size=observation_size,
        action_size=horizon * action_size,
        horizon=horizon,
    )


def mlp_layers(config: Any) -> dict[str, Any]:
    """The `hidden_sizes` and `activation` of a config, as `networks.mlp` takes them."""
    return {
        "hidden_sizes": tuple(config.hidden_sizes),
        "activation": config.activation,
    }


def check_batch(spec: DataSpec, batch: Batch, where: str) -> None:
    """Checks the shapes of the input field and the actions (at trace time).

    Raises:
      ValueError: naming the field, the expected and the actual shape.
    """
    checks.check_batch(
        batch,
        owner=spec.owner,
        input_field=spec.input,
        observation_size=spec.observation_size,
        action_size=spec.action_size,
        where=where,
    )


def fit_normalizer_fn(
    spec: DataSpec, config: LearnerConfig
) -> Callable[[Batch], Normalizer]:
    """The learner's `fit_normalizer`: checks the data, then fits the statistics.

    The returned function checks the shapes (always) and that concrete data
    is finite, then fits the mean and floored std of `spec.input` and of the
    actions (the identity if `config.normalize` is off).

    Raises (when called):
      ValueError: a field of the wrong shape, holding NaN or inf, or whose
        values are so large that their statistics are not finite, naming it.
    """

    def fit(data: Batch) -> Normalizer:
        check_batch(spec, data, "fit_normalizer")
        checks.check_finite(data, owner=spec.owner, input_field=spec.input)
        normalizer = normalizer_lib.fit_normalizer(
            getattr(data, spec.input),
            data.action,
            min_std=config.min_std,
            enabled=config.normalize,
        )
        _check_statistics(spec, normalizer)
        return normalizer

    return fit


def _check_statistics(spec: DataSpec, normalizer: Normalizer) -> None:
    """Raises if concrete statistics overflowed (finite data of size ~1e20)."""
    for name, field in (
        ("obs_mean", spec.input),
        ("obs_std", spec.input),
        ("action_mean", "action"),
        ("action_std", "action"),
    ):
        value = getattr(normalizer, name)
        if isinstance(value, jax.core.Tracer):
            continue
        if not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(
                f"{spec.owner} fit_normalizer: field {field!r} is finite but too "
                f"large for float32 statistics ({name} = {np.asarray(value)}); "
                "rescale the data"
            )


def check_normalizer(spec: DataSpec, normalizer: Normalizer) -> None:
    """Checks the normalizer's widths against the learner's (at trace time).

    Raises:
      ValueError: not a `Normalizer`, or a statistic of another width than
        the learner's, naming it.
    """
    if not isinstance(normalizer, Normalizer):
        raise ValueError(
            f"{spec.owner} init: expected a Normalizer (from the learner's "
            f"fit_normalizer); got {type(normalizer).__name__}"
        )
    for name, size in (
        ("obs_mean", spec.observation_size),
        ("obs_std", spec.observation_size),
        ("action_mean", spec.action_size),
        ("action_std", spec.action_size),
    ):
        shape = tuple(jnp.shape(getattr(normalizer, name)))
        if shape != (size,):
            raise ValueError(
                f"{spec.owner} init: normalizer.{name} must have shape ({size},) "
                f"for this learner; got {shape} (fit it with this learner's "
                "fit_normalizer)"
            )


def new_state(
    spec: DataSpec,
    params: Params,
    optimizer: optax.GradientTransformation | dict[str, optax.GradientTransformation],
    normalizer: Normalizer,
    state_class: type[TrainState] = TrainState,
    **extra_fields,
) -> TrainState:
    """The state of a fresh learner: `params`, their optimizer state, step 0.

    Args:
      spec: the learner's spec (checks the normalizer's widths).
      params: the freshly initialized parameters.
      optimizer: their optimizer, or one per network by name (then `params`
        and the optimizer state are dicts by the same names).
      normalizer: from the learner's `fit_normalizer`.
      state_class: `TrainState` or a subclass.
      **extra_fields: the subclass's own fields.

    Raises:
      ValueError: a normalizer of other widths than the learner's.
    """
    check_normalizer(spec, normalizer)
    if isinstance(optimizer, dict):
        opt_state = {name: optimizer[name].init(params[name]) for name in optimizer}
    else:
        opt_state = optimizer.init(params)
    return state_class(
        params=params,
        opt_state=opt_state,
        step=jnp.zeros((), jnp.int32),
        normalizer=normalizer,
        **extra_fields,
    )


def normalized_policy(
    spec: DataSpec,
    normalizer: Normalizer,
    act: Callable[[jax.Array, jax.Array], jax.Array],
) -> Policy:
    """A stateless policy around `act`, which works in normalized units.

    Args:
      spec: the learner's spec (the field the policy reads).
      normalizer: the train state's normalizer.
      act: `(normalized_input [observation_size], key) -> normalized action
        [action_size]` for one environment.
    """

    def act_in_raw_units(observation: Observation, key: jax.Array) -> jax.Array:
        inputs = normalizer.normalize_inputs(getattr(observation, spec.input))
        return normalizer.denormalize_actions(act(inputs, key))

    return policies.stateless(act_in_raw_units)


def learner(
    spec: DataSpec, config: LearnerConfig, init, update, make_policy
) -> Learner:
    """The `Learner` of `init`, `update` and `make_policy`.

    Its `fit_normalizer` is the shared one of `spec` and `config`
    (`fit_normalizer_fn`).
    """
    return Learner(
        fit_normalizer=fit_normalizer_fn(spec, config),
        init=init,
        update=update,
        make_policy=make_policy,
    )
