"""The aggregation buffer: appending, wrap-around, sampling only filled rows."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.data import buffer as buffer_lib
from ilax.types import Batch


def rows(start: int, count: int) -> Batch:
    """Rows whose every entry is its global row number (easy to trace)."""
    values = jnp.arange(start, start + count, dtype=jnp.float32)[:, None]
    return Batch(
        obs=jnp.broadcast_to(values, (count, 3)),
        privileged=jnp.broadcast_to(values, (count, 2)),
        action=values,
    )


def test_add_fills_in_order_then_overwrites_the_oldest():
    buffer = buffer_lib.create(5, 3, 2, 1)
    buffer = buffer_lib.add(buffer, rows(0, 3))
    assert int(buffer.size) == 3 and int(buffer.cursor) == 3
    np.testing.assert_array_equal(buffer.action[:, 0], [0, 1, 2, 0, 0])
    buffer = buffer_lib.add(buffer, rows(3, 4))
    # Rows 5 and 6 replace rows 0 and 1, the oldest.
    np.testing.assert_array_equal(buffer.action[:, 0], [5, 6, 2, 3, 4])
    assert int(buffer.size) == 5 and int(buffer.cursor) == 2
    assert int(buffer.total_added) == 7
    np.testing.assert_array_equal(buffer_lib.newest(buffer, 3).action[:, 0], [4, 5, 6])


def test_adding_more_rows_than_capacity_keeps_the_last_ones():
    buffer = buffer_lib.add(buffer_lib.create(4, 3, 2, 1), rows(0, 10))
    np.testing.assert_array_equal(np.sort(buffer.action[:, 0]), [6, 7, 8, 9])
    assert int(buffer.total_added) == 10


def test_sample_draws_only_filled_rows():
    buffer = buffer_lib.add(buffer_lib.create(100, 3, 2, 1), rows(10, 7))
    batch = jax.jit(buffer_lib.sample, static_argnums=2)(
        buffer, jax.random.key(0), 2000
    )
    drawn = np.asarray(batch.action[:, 0])
    assert set(np.unique(drawn)) == set(range(10, 17))
    np.testing.assert_array_equal(batch.obs[:, 0], batch.action[:, 0])


def test_add_is_jittable_without_retracing():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def add(buffer, new):
        return buffer_lib.add(buffer, new)

    buffer = buffer_lib.create(8, 3, 2, 1)
    for start in range(0, 12, 3):
        buffer = add(buffer, rows(start, 3))
    np.testing.assert_array_equal(buffer.action[:, 0], [8, 9, 10, 11, 4, 5, 6, 7])


def test_wrong_row_shape_names_the_field():
    buffer = buffer_lib.create(8, 3, 2, 1)
    bad = rows(0, 2)._replace(privileged=jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"privileged rows must have shape \[N, 2\]"):
        buffer_lib.add(buffer, bad)
    with pytest.raises(ValueError, match="capacity: expected at least 1, got 0"):
        buffer_lib.create(0, 3, 2, 1)


def test_from_trajectory_labels_flattens_time_major():
    obs = jnp.arange(2 * 3 * 4, dtype=jnp.float32).reshape(2, 3, 4)
    batch = buffer_lib.from_trajectory_labels(obs, obs[..., :1], obs[..., 1:2])
    assert batch.obs.shape == (6, 4)
    # Row t * B + b is step t of environment b.
    np.testing.assert_array_equal(batch.obs[4], obs[1, 1])
    np.testing.assert_array_equal(batch.action[:, 0], obs[..., 1].reshape(-1))
