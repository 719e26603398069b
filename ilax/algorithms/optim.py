"""The optimizer and the non-finite step guard that the learners share.

Every learner takes Adam(W) steps and refuses a step whose loss or gradients
are not finite: it computes the new parameters and optimizer state anyway
(inside jit there is no early exit) and then keeps the old ones, so one bad
batch cannot poison the run, and reports the skip in `train/nonfinite`.
"""

from typing import NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import optax

Tree = TypeVar("Tree")


def adam_optimizer(
    learning_rate: float, *, weight_decay: float = 0.0, max_grad_norm: float = 0.0
) -> optax.GradientTransformation:
    """AdamW (plain Adam at `weight_decay` 0), after optional global-norm clipping.

    Args:
      learning_rate: the step size.
      weight_decay: decoupled weight decay.
      max_grad_norm: clip gradients to this global norm first; 0 turns it off.

    Returns:
      The transformation; its `update` needs the parameters (for the decay).
    """
    adam = optax.adamw(learning_rate, weight_decay=weight_decay)
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


class GuardedStep(NamedTuple):
    """What `guarded_step` returns."""

    params: optax.Params  # the new parameters, or the old ones if not `finite`
    opt_state: optax.OptState  # likewise
    grad_norm: jax.Array  # global norm of the gradients (before any clipping)
    finite: jax.Array  # scalar bool: the loss and the gradients were finite


def guarded_step(
    optimizer: optax.GradientTransformation,
    loss: jax.Array,
    grads: optax.Params,
    params: optax.Params,
    opt_state: optax.OptState,
) -> GuardedStep:
    """One optimizer step, kept only if the loss and the gradients are finite."""
    grad_norm, finite = grad_norm_and_finite(loss, grads)
    updates, new_opt_state = optimizer.update(grads, opt_state, params)
    new_params = optax.apply_updates(params, updates)
    return GuardedStep(
        params=keep_if_finite(finite, new_params, params),
        opt_state=keep_if_finite(finite, new_opt_state, opt_state),
        grad_norm=grad_norm,
        finite=finite,
    )


def latent_variable_update(
    family: str, optimizer: optax.GradientTransformation, loss_fn, state, batch, key
):
    """One guarded step of a latent-variable loss (the CVAE's and ACT's).

    Args:
      family: the metrics' prefix (`vae`, `act`).
      optimizer: the optax optimizer of `state.params`.
      loss_fn: `(params, normalizer, batch, key) -> (loss, (reconstruction,
        kl))`.
      state: a train state with `params`, `opt_state`, `step`, `normalizer`.
      batch: the minibatch.
      key: a typed key for the loss (the latent's draw).

    Returns:
      `(state, metrics)` with `<family>/loss`, `/reconstruction`, `/kl`,
      `/grad_norm` and `train/nonfinite`; a non-finite step keeps the state.
    """
    (loss, (reconstruction, kl)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params, state.normalizer, batch, key
    )
    step = guarded_step(optimizer, loss, grads, state.params, state.opt_state)
    state = state.replace(
        params=step.params, opt_state=step.opt_state, step=state.step + 1
    )
    metrics = {
        f"{family}/loss": loss,
        f"{family}/reconstruction": reconstruction,
        f"{family}/kl": kl,
        f"{family}/grad_norm": step.grad_norm,
        "train/nonfinite": 1.0 - step.finite.astype(jnp.float32),
    }
    return state, metrics
