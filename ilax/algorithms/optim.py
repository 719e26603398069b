"""The optimizer and the non-finite step guard that the learners share.

Every learner takes Adam(W) steps and refuses a step whose loss or gradients
are not finite: it computes the new parameters and optimizer state anyway
(inside jit there is no early exit) and then keeps the old ones, so one bad
batch cannot poison the run, and reports the skip in `train/nonfinite`.
`guarded_update` is that whole step for a learner with one loss; a learner
with several players (the GAN) builds its own from the same two pieces,
`grad_norm_and_finite` and `keep_if_finite`.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import optax

Tree = TypeVar("Tree")
State = TypeVar("State")


def adam_optimizer(
    learning_rate: float,
    *,
    b1: float = 0.9,
    weight_decay: float = 0.0,
    max_grad_norm: float = 0.0,
) -> optax.GradientTransformation:
    """AdamW (plain Adam at `weight_decay` 0), after optional global-norm clipping.

    Args:
      learning_rate: the step size.
      b1: the decay of the first moment.
      weight_decay: decoupled weight decay.
      max_grad_norm: clip gradients to this global norm first; 0 turns it off.

    Returns:
      The transformation; its `update` needs the parameters (for the decay).
    """
    adam = optax.adamw(learning_rate, b1=b1, weight_decay=weight_decay)
    if max_grad_norm > 0:
        return optax.chain(optax.clip_by_global_norm(max_grad_norm), adam)
    return adam


def grad_norm_and_finite(
    loss: jax.Array, grads: optax.Params
) -> tuple[jax.Array, jax.Array]:
    """The gradients' global norm and whether it and the loss are both finite."""
    grad_norm = optax.tree.norm(grads)
    return grad_norm, jnp.isfinite(loss) & jnp.isfinite(grad_norm)


def keep_if_finite(finite: jax.Array, new_tree: Tree, old_tree: Tree) -> Tree:
    """`new_tree` where `finite` (a scalar bool) holds, `old_tree` otherwise."""
    return jax.tree.map(
        lambda new, old: jnp.where(finite, new, old), new_tree, old_tree
    )


def nonfinite_metric(finite: jax.Array) -> jax.Array:
    """`train/nonfinite`: 1.0 for a skipped step, 0.0 for a kept one."""
    return 1.0 - finite.astype(jnp.float32)


def guarded_update(
    optimizer: optax.GradientTransformation,
    loss_fn: Callable[..., tuple[jax.Array, dict[str, jax.Array]]],
    state: State,
    *args: Any,
    family: str,
    also_update: Callable[[optax.Params, State], dict[str, Any]] | None = None,
) -> tuple[State, dict[str, jax.Array]]:
    """One optimizer step of a learner's loss, kept only if it is finite.

    Args:
      optimizer: the optax optimizer of `state.params`.
      loss_fn: `(params, normalizer, *args) -> (loss, aux)`, `aux` a dict of
        scalar metrics.
      state: a train state (`ilax.algorithms.base.TrainState` or a subclass).
      *args: passed on to `loss_fn` (the batch, a key).
      family: the metrics' prefix (`bc`, `vae`, ...).
      also_update: `(new_params, state) -> {field: value}`, more fields the
        step changes (diffusion's parameter average); they are kept or
        discarded with the step.

    Returns:
      `(state, metrics)`: the stepped state, or the old one with only `step`
      advanced if the loss or the gradients were not finite; metrics
      `<family>/loss`, `<family>/<aux name>`, `<family>/grad_norm` and
      `train/nonfinite`.
    """
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params, state.normalizer, *args
    )
    grad_norm, finite = grad_norm_and_finite(loss, grads)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    stepped = {"params": params, "opt_state": opt_state}
    if also_update is not None:
        stepped.update(also_update(params, state))
    # Only the fields the step changes pass the guard: the normalizer and the
    # rest stay untouched values, which XLA may fold into a whole run.
    current = {name: getattr(state, name) for name in stepped}
    new_state = state.replace(
        **keep_if_finite(finite, stepped, current), step=state.step + 1
    )
    metrics = {
        f"{family}/loss": loss,
        **{f"{family}/{name}": value for name, value in aux.items()},
        f"{family}/grad_norm": grad_norm,
        "train/nonfinite": nonfinite_metric(finite),
    }
    return new_state, metrics


def check_divides(owner: str, field: str, parts: int, rows: int) -> None:
    """Raises ValueError unless `parts` (config field `field`) divides `rows`."""
    if rows % parts:
        raise ValueError(
            f"{owner.upper()} update: {owner.upper()}Config.{field} ({parts}) must "
            f"divide the rows of an iteration (num_envs * unroll_length = {rows})"
        )


def minibatches(rows: Any, key: jax.Array, parts: int) -> Any:
    """`rows` shuffled by `key` and split into `parts` equal minibatches."""
    num_rows = jax.tree.leaves(rows)[0].shape[0]
    order = jax.random.permutation(key, num_rows)
    size = num_rows // parts
    return jax.tree.map(lambda x: x[order].reshape((parts, size) + x.shape[1:]), rows)
