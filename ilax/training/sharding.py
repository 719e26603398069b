"""Data-parallel training: minibatches split over devices, parameters replicated.

With the batch axis sharded over a 1-D mesh and the train state replicated,
the same jitted `update` runs data-parallel: XLA partitions the forward and
backward passes by rows and sums the gradients across devices, so the
result equals the single-device update up to the order of float additions.

    mesh = sharding.data_mesh()
    state = sharding.replicate(state, mesh)
    state, metrics = jax.jit(learner.update)(
        state, sharding.shard_batch(batch, mesh), key
    )

Inside a jitted function that samples its own minibatches, use
`constrain_batch` on them instead.
"""

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "data"


def data_mesh(devices: list | None = None) -> Mesh:
    """A 1-D mesh named `data` over `devices` (all devices by default)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (AXIS,))


def _check_divisible(tree: Any, mesh: Mesh) -> None:
    count = mesh.devices.size
    for leaf in jax.tree.leaves(tree):
        rows = leaf.shape[0] if leaf.ndim else None
        if rows is None or rows % count:
            raise ValueError(
                f"shard_batch: the batch axis ({rows} rows) must divide evenly "
                f"over the {count} devices of the mesh; got a leaf of shape "
                f"{leaf.shape}"
            )


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (batch) axis split over the mesh, other axes whole."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())


def shard_batch(batch: Any, mesh: Mesh) -> Any:
    """Places every leaf of `batch` with its leading axis split over `mesh`.

    Raises:
      ValueError: a leaf whose leading axis does not divide by the device
        count (naming both).
    """
    _check_divisible(batch, mesh)
    return jax.device_put(batch, batch_sharding(mesh))


def constrain_batch(batch: Any, mesh: Mesh) -> Any:
    """`shard_batch` inside `jit`: a sharding constraint on a traced batch."""
    _check_divisible(batch, mesh)
    return jax.lax.with_sharding_constraint(batch, batch_sharding(mesh))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Places a full copy of every leaf of `tree` (train state) on each device."""
    return jax.device_put(tree, replicated(mesh))
