"""Policy heads: MLPs that output a Gaussian or a mixture of Gaussians."""

import jax
import jax.numpy as jnp
from flax import nnx

from ilax.networks.core import Network, from_nnx
from ilax.networks.distributions import Gaussian, MixtureOfGaussians
from ilax.networks.mlp import MLP, check_layers


def bound_log_std(raw: jax.Array, min_log_std: float, max_log_std: float):
    """Squashes `raw` into [min_log_std, max_log_std] with a scaled tanh.

    The tanh is centred on the interval's midpoint with unit slope there, so
    the map is nearly the identity in the middle of the range and bends
    smoothly into the bounds (a clip would cut the gradient off abruptly).
    With the default bounds (-5, 2), raw = 0 gives a log std of about -0.09,
    a standard deviation near 1 in normalized units.
    """
    middle = 0.5 * (max_log_std + min_log_std)
    half_width = 0.5 * (max_log_std - min_log_std)
    return middle + half_width * jnp.tanh((raw - middle) / half_width)


def _check_bounds(owner: str, min_log_std: float, max_log_std: float) -> None:
    if not min_log_std < max_log_std:
        raise ValueError(
            f"{owner}: min_log_std must be < max_log_std; got {min_log_std} and "
            f"{max_log_std}"
        )


class GaussianMLP(nnx.Module):
    """An MLP whose output is split into a mean and a bounded log std."""

    def __init__(
        self,
        input_size: int,
        action_size: int,
        *,
        hidden_sizes: tuple[int, ...],
        activation: str,
        min_log_std: float,
        max_log_std: float,
        rngs: nnx.Rngs,
    ):
        """See `gaussian_mlp`."""
        self.action_size = action_size
        self.min_log_std, self.max_log_std = min_log_std, max_log_std
        self.body = MLP(
            input_size,
            2 * action_size,
            hidden_sizes=hidden_sizes,
            activation=activation,
            rngs=rngs,
        )

    def __call__(self, x: jax.Array) -> Gaussian:
        out = self.body(x)
        mean, raw_log_std = jnp.split(out, [self.action_size], axis=-1)
        log_std = bound_log_std(raw_log_std, self.min_log_std, self.max_log_std)
        return Gaussian(mean, log_std)


def gaussian_mlp(
    input_size: int,
    action_size: int,
    *,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "relu",
    min_log_std: float = -5.0,
    max_log_std: float = 2.0,
) -> Network:
    """A state-dependent diagonal Gaussian: `apply(params, x) -> Gaussian`.

    Raises:
      ValueError: bad layers, or `min_log_std >= max_log_std`.
    """
    check_layers("gaussian_mlp", tuple(hidden_sizes), activation)
    _check_bounds("gaussian_mlp", min_log_std, max_log_std)
    return from_nnx(
        lambda rngs: GaussianMLP(
            input_size,
            action_size,
            hidden_sizes=tuple(hidden_sizes),
            activation=activation,
            min_log_std=min_log_std,
            max_log_std=max_log_std,
            rngs=rngs,
        )
    )


class StateIndependentGaussianMLP(nnx.Module):
    """An MLP for the mean and one learned log std per action dimension."""

    def __init__(
        self,
        input_size: int,
        action_size: int,
        *,
        hidden_sizes: tuple[int, ...],
        activation: str,
        init_log_std: float,
        rngs: nnx.Rngs,
    ):
        """See `state_independent_gaussian_mlp`."""
        self.body = MLP(
            input_size,
            action_size,
            hidden_sizes=hidden_sizes,
            activation=activation,
            rngs=rngs,
        )
        self.log_std = nnx.Param(jnp.full((action_size,), init_log_std, jnp.float32))

    def __call__(self, x: jax.Array) -> Gaussian:
        mean = self.body(x)
        return Gaussian(mean, jnp.broadcast_to(self.log_std[...], mean.shape))


def state_independent_gaussian_mlp(
    input_size: int,
    action_size: int,
    *,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "tanh",
    init_log_std: float = 0.0,
) -> Network:
    """The policy-gradient Gaussian: `apply(params, x) -> Gaussian`.

    The mean is an MLP of the input; the log std is a parameter of its own
    (`params["log_std"]`, `[action_size]`), the same in every state, as PPO
    and TRPO use it. It is not bounded here: the learner decides what a log
    std outside its range means.

    Raises:
      ValueError: bad layers.
    """
    check_layers("state_independent_gaussian_mlp", tuple(hidden_sizes), activation)
    return from_nnx(
        lambda rngs: StateIndependentGaussianMLP(
            input_size,
            action_size,
            hidden_sizes=tuple(hidden_sizes),
            activation=activation,
            init_log_std=init_log_std,
            rngs=rngs,
        )
    )


def _spread_means_init(num_components: int, action_size: int, mean_spread: float):
    """Bias initializer of the mixture's output layer.

    Logits and log stds start at zero bias. Along every action dimension the
    K component means start at the K evenly spaced points of
    [-mean_spread, mean_spread], in an independent random order per
    dimension: no two components start in the same place, so each can be
    pulled toward a different mode (components that start together receive
    the same gradient and tend to stay together).
    """
    if num_components > 1:
        grid = mean_spread * jnp.linspace(-1.0, 1.0, num_components)
    else:
        grid = jnp.zeros((1,))

    def init(key, shape, dtype=jnp.float32):
        keys = jax.random.split(key, action_size)
        columns = [jax.random.permutation(k, grid) for k in keys]
        means = jnp.stack(columns, axis=-1).reshape(-1).astype(dtype)  # [K * A]
        bias = jnp.zeros(shape, dtype)
        return bias.at[num_components : num_components * (1 + action_size)].set(means)

    return init


class MixtureMLP(nnx.Module):
    """An MLP whose output is split into logits, means and bounded log stds."""

    def __init__(
        self,
        input_size: int,
        action_size: int,
        *,
        num_components: int,
        hidden_sizes: tuple[int, ...],
        activation: str,
        min_log_std: float,
        max_log_std: float,
        mean_spread: float,
        rngs: nnx.Rngs,
    ):
        """See `mixture_mlp`."""
        self.action_size, self.num_components = action_size, num_components
        self.min_log_std, self.max_log_std = min_log_std, max_log_std
        self.body = MLP(
            input_size,
            num_components * (1 + 2 * action_size),
            hidden_sizes=hidden_sizes,
            activation=activation,
            output_bias_init=_spread_means_init(
                num_components, action_size, mean_spread
            ),
            rngs=rngs,
        )

    def __call__(self, x: jax.Array) -> MixtureOfGaussians:
        out = self.body(x)
        k, a = self.num_components, self.action_size
        logits, mean, raw_log_std = jnp.split(out, [k, k * (1 + a)], axis=-1)
        shape = out.shape[:-1] + (k, a)
        log_std = bound_log_std(
            raw_log_std.reshape(shape), self.min_log_std, self.max_log_std
        )
        return MixtureOfGaussians(logits, mean.reshape(shape), log_std)


def mixture_mlp(
    input_size: int,
    action_size: int,
    *,
    num_components: int = 5,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "relu",
    min_log_std: float = -5.0,
    max_log_std: float = 2.0,
    mean_spread: float = 1.0,
) -> Network:
    """A mixture of diagonal Gaussians: `apply(params, x) -> MixtureOfGaussians`.

    Args:
      input_size: width of the input's last axis.
      action_size: width of each component's mean.
      num_components: K, the number of components.
      hidden_sizes: widths of the hidden layers.
      activation: the hidden layers' activation (see `mlp.ACTIVATIONS`).
      min_log_std: lower bound of every component's log std.
      max_log_std: upper bound of every component's log std.
      mean_spread: initial component means span [-mean_spread, mean_spread]
        along every dimension (in the units of the targets, normalized ones
        for BC).

    Raises:
      ValueError: bad layers, `num_components < 1` or bad log std bounds.
    """
    check_layers("mixture_mlp", tuple(hidden_sizes), activation)
    _check_bounds("mixture_mlp", min_log_std, max_log_std)
    if num_components < 1:
        raise ValueError(
            f"mixture_mlp: num_components must be >= 1; got {num_components}"
        )
    return from_nnx(
        lambda rngs: MixtureMLP(
            input_size,
            action_size,
            num_components=num_components,
            hidden_sizes=tuple(hidden_sizes),
            activation=activation,
            min_log_std=min_log_std,
            max_log_std=max_log_std,
            mean_spread=mean_spread,
            rngs=rngs,
        )
    )
