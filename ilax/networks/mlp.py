"""Multi-layer perceptrons: the nnx module and its pure `Network` factory."""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from ilax.networks.core import Network, from_nnx

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
    "elu": jax.nn.elu,
}

# Initializers are values; a module-level one keeps the default out of a call.
_ZEROS = nnx.initializers.zeros_init()


def check_layers(owner: str, hidden_sizes: tuple[int, ...], activation: str) -> None:
    """Raises ValueError naming `owner`'s field for a bad width or activation."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"{owner}: activation must be one of {', '.join(map(repr, ACTIVATIONS))}; "
            f"got {activation!r}"
        )
    if any(not isinstance(w, int) or w < 1 for w in hidden_sizes):
        raise ValueError(
            f"{owner}: hidden_sizes must be positive ints; got {hidden_sizes!r}"
        )


class MLP(nnx.Module):
    """Dense layers with an activation between them, none after the last.

    `hidden_sizes=()` gives a single linear map.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        hidden_sizes: tuple[int, ...] = (64, 64),
        activation: str = "relu",
        output_bias_init: nnx.Initializer = _ZEROS,
        rngs: nnx.Rngs,
    ):
        """Builds the layers.

        Args:
          input_size: width of the input's last axis.
          output_size: width of the output's last axis.
          hidden_sizes: widths of the hidden layers, input side first.
          activation: one of `ACTIVATIONS`.
          output_bias_init: initializer of the last layer's bias (heads use it
            to place their initial outputs).
          rngs: random streams for the initial weights.
        """
        check_layers("MLP", tuple(hidden_sizes), activation)
        self.activation = activation
        widths = (input_size, *hidden_sizes)
        self.hidden = nnx.List(
            [
                nnx.Linear(fan_in, fan_out, rngs=rngs)
                for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True)
            ]
        )
        self.output = nnx.Linear(
            widths[-1], output_size, bias_init=output_bias_init, rngs=rngs
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATIONS[self.activation]
        for layer in self.hidden:
            x = act(layer(x))
        return self.output(x)


def mlp(
    input_size: int,
    output_size: int,
    *,
    hidden_sizes: tuple[int, ...] = (64, 64),
    activation: str = "relu",
) -> Network:
    """An MLP as a `Network`; `apply(params, x)` maps `[..., input_size]` inputs.

    Raises:
      ValueError: unknown activation or non-positive widths.
    """
    check_layers("mlp", tuple(hidden_sizes), activation)
    return from_nnx(
        lambda rngs: MLP(
            input_size,
            output_size,
            hidden_sizes=tuple(hidden_sizes),
            activation=activation,
            rngs=rngs,
        )
    )
