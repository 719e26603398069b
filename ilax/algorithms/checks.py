"""Input checks shared by the learners: sizes, batch shapes, finite data.

Each raises a ValueError that names its owner (the learner, as its messages
spell it), the field, the expected and the actual value. Shape checks run at
trace time, so they also guard jitted updates; the finiteness check needs
concrete data and passes traced values over.
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ilax import config as config_lib
from ilax.networks import ACTIVATIONS
from ilax.types import Batch

INPUTS = ("obs", "privileged")
"""The `Observation`/`Batch` fields a policy may read."""


def check_network_fields(config: Any) -> None:
    """Checks a config's `activation` and `hidden_sizes` (an MLP's layers).

    Raises:
      ValueError: naming the field, the expected and the actual value.
    """
    owner = type(config).__name__
    config_lib.check_choice(owner, "activation", config.activation, tuple(ACTIVATIONS))
    if not all(isinstance(w, int) and w > 0 for w in config.hidden_sizes):
        raise ValueError(
            f"{owner}.hidden_sizes must be positive ints; got {config.hidden_sizes!r}"
        )


def check_sizes(owner: str, **sizes: int) -> None:
    """Raises ValueError naming the first size that is not a positive int."""
    for name, size in sizes.items():
        if not (isinstance(size, int) and size > 0):
            raise ValueError(f"{owner}: {name} must be a positive int; got {size!r}")


def check_width(owner: str, where: str, field: str, value, size: int) -> None:
    """Checks that a time-major trajectory field is `[T, B, size]` (at trace time).

    Raises:
      ValueError: naming the field, the expected and the actual shape.
    """
    shape = tuple(jnp.shape(value))
    if len(shape) != 3 or shape[-1] != size:
        raise ValueError(
            f"{owner} {where}: trajectory field {field!r} must have shape "
            f"[T, B, {size}]; got {shape}"
        )


def check_batch(
    batch: Batch,
    *,
    owner: str,
    input_field: str,
    observation_size: int,
    action_size: int,
    where: str,
) -> None:
    """Checks the shapes of the input field and the actions (at trace time).

    Args:
      batch: the data.
      owner: the learner, first word of every message (e.g. "BC", "vae").
      input_field: the field the learner reads (`obs` or `privileged`).
      observation_size: the learner's width of `input_field`.
      action_size: the learner's width of `action`.
      where: the function checking, e.g. "init" or "update".

    Raises:
      ValueError: naming the field, the expected and the actual shape, for a
        field that is not 2-D, has no rows, or whose width differs from the
        learner's size, or for fields that disagree in rows.
    """
    rows = {}
    for field, size, role in (
        (input_field, observation_size, "observation"),
        ("action", action_size, "action"),
    ):
        shape = tuple(jnp.shape(getattr(batch, field)))
        if len(shape) != 2:
            raise ValueError(
                f"{owner} {where}: field {field!r} must be 2-D [rows, {size}]; got "
                f"shape {shape}"
            )
        if shape[0] == 0:
            raise ValueError(
                f"{owner} {where}: field {field!r} is empty (0 rows); expected at "
                f"least one row of size {size}"
            )
        if shape[1] != size:
            raise ValueError(
                f"{owner} {where}: the dataset's {role} size (field {field!r}) is "
                f"{shape[1]}, but the learner's {role}_size is {size} (field "
                f"{field!r} must have shape [rows >= 1, {size}]; got {shape})"
            )
        rows[field] = shape[0]
    if rows[input_field] != rows["action"]:
        raise ValueError(
            f"{owner} {where}: fields disagree in rows: {input_field!r} has "
            f"{rows[input_field]}, 'action' has {rows['action']}"
        )


def check_action_mask(batch: Batch, *, owner: str, chunk_size: int, where: str) -> None:
    """Checks `batch.action_mask`, where present, against the chunk (at trace time).

    Raises:
      ValueError: a mask that is not bool `[rows, chunk_size]`, naming the
        field, the expected and the actual shape and dtype.
    """
    mask = batch.action_mask
    if mask is None:
        return
    expected = (jnp.shape(batch.action)[0], chunk_size)
    if tuple(mask.shape) != expected or mask.dtype != jnp.bool_:
        raise ValueError(
            f"{owner} {where}: field 'action_mask' must be bool {expected} (rows, "
            f"chunk_size); got {mask.dtype} {tuple(mask.shape)}"
        )


def check_finite(
    batch: Batch, *, owner: str, input_field: str, where: str = "fit_normalizer"
) -> None:
    """Checks that concrete data holds no NaN or inf in `input_field` or `action`.

    Traced values are passed over: only concrete data can be checked before
    it is used.

    Raises:
      ValueError: naming the field, the count of non-finite values and the
        index of the first.
    """
    for field in (input_field, "action"):
        array = getattr(batch, field)
        if isinstance(array, jax.core.Tracer):
            continue
        bad = ~np.isfinite(np.asarray(array))
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{owner} {where}: field {field!r} holds {int(bad.sum())} non-finite "
                f"values (expected all finite); the first at index {first}"
            )
