"""A fixed-capacity, on-device buffer of labelled steps for aggregation.

DAgger, DART and teacher/student training add the states they visit, with
expert labels, to one growing data set and refit on all of it. Growing arrays
cannot live inside `jit`, so the buffer has a fixed capacity chosen up front
and a count of the rows filled; adding and sampling are pure functions. When
the buffer is full, the oldest rows are overwritten (first in, first out), so
a capacity that covers the whole run keeps every label.
"""

import jax
import jax.numpy as jnp
from flax import struct

from ilax.types import Batch


@struct.dataclass
class Buffer:
    """`capacity` rows of (obs, privileged, label), `size` of them filled.

    Row `i` is valid when `i < size`. `cursor` is the row the next addition
    starts at; `total_added` counts every row ever added (the label budget).
    """

    obs: jax.Array  # [C, O]
    privileged: jax.Array  # [C, P]
    action: jax.Array  # [C, A]
    size: jax.Array  # int32, rows filled
    cursor: jax.Array  # int32, next row to write
    total_added: jax.Array  # int32, rows added since creation

    @property
    def capacity(self) -> int:
        return self.obs.shape[0]


def create(
    capacity: int, observation_size: int, privileged_size: int, action_size: int
) -> Buffer:
    """An empty buffer of float32 rows."""
    if capacity < 1:
        raise ValueError(f"buffer capacity: expected at least 1, got {capacity}")

    def zeros(size):
        return jnp.zeros((capacity, size), jnp.float32)

    return Buffer(
        obs=zeros(observation_size),
        privileged=zeros(privileged_size),
        action=zeros(action_size),
        size=jnp.zeros((), jnp.int32),
        cursor=jnp.zeros((), jnp.int32),
        total_added=jnp.zeros((), jnp.int32),
    )


def _check_rows(buffer: Buffer, rows: Batch) -> None:
    for name in ("obs", "privileged", "action"):
        expected = getattr(buffer, name).shape[1]
        actual = getattr(rows, name).shape
        if len(actual) != 2 or actual[1] != expected:
            raise ValueError(
                f"buffer add: {name} rows must have shape [N, {expected}]; got {actual}"
            )


def add(buffer: Buffer, rows: Batch) -> Buffer:
    """Appends the N rows of `rows`, overwriting the oldest when full.

    N is static; if it exceeds the capacity, only the last `capacity` rows
    are kept.
    """
    _check_rows(buffer, rows)
    num_rows = num_offered = rows.obs.shape[0]
    capacity = buffer.capacity
    if num_rows > capacity:
        rows = jax.tree.map(lambda x: x[num_rows - capacity :], rows)
        num_rows = capacity
    index = (buffer.cursor + jnp.arange(num_rows, dtype=jnp.int32)) % capacity

    def write(stored, new):
        return stored.at[index].set(new.astype(stored.dtype))

    return buffer.replace(
        obs=write(buffer.obs, rows.obs),
        privileged=write(buffer.privileged, rows.privileged),
        action=write(buffer.action, rows.action),
        size=jnp.minimum(buffer.size + num_rows, capacity),
        cursor=(buffer.cursor + num_rows) % capacity,
        total_added=buffer.total_added + num_offered,
    )


def sample(buffer: Buffer, key: jax.Array, batch_size: int) -> Batch:
    """Draws `batch_size` filled rows uniformly, with replacement.

    An empty buffer yields row 0 (zeros); callers add before they sample.
    """
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return Batch(
        obs=buffer.obs[index],
        privileged=buffer.privileged[index],
        action=buffer.action[index],
    )


def newest(buffer: Buffer, num_rows: int) -> Batch:
    """The `num_rows` most recently added rows, oldest first (static count)."""
    index = (
        buffer.cursor - num_rows + jnp.arange(num_rows, dtype=jnp.int32)
    ) % buffer.capacity
    return Batch(
        obs=buffer.obs[index],
        privileged=buffer.privileged[index],
        action=buffer.action[index],
    )


def from_trajectory_labels(obs, privileged, labels) -> Batch:
    """Flattens time-major `[T, B, ...]` arrays into rows `[T * B, ...]`."""

    def flat(x):
        return x.reshape((-1,) + x.shape[2:])

    return Batch(obs=flat(obs), privileged=flat(privileged), action=flat(labels))
