"""How a run state is described, compared and made storable.

A checkpoint stores the state on the host with typed keys as key data, a
layout (`{path: dtype[shape]}`) and a digest of its bytes, and a JSON of the
run that made it; the functions here compute those and name the differences
between a stored description and the run being resumed.
"""

import dataclasses
import hashlib
import json
from typing import Any

import jax
import numpy as np


def _is_key(leaf: Any) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _key_impl(abstract_key: jax.ShapeDtypeStruct):
    # `jax.random.key_impl` needs a key array; a tracer of the abstract key is one.
    found = []

    def record(key):
        found.append(jax.random.key_impl(key))
        return 0

    jax.eval_shape(record, abstract_key)
    return found[0]


def to_savable(state: Any) -> Any:
    """The state on the host, typed keys replaced by their key data.

    An array with no elements (MJX data holds some: the constraint rows of a
    model without contacts) is stored as one zero of its dtype, because the
    checkpoint format refuses empty arrays; `storage_shape` is the shape it
    is stored under and `from_storage` gives it back its own.
    """
    state = jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)
    state = jax.tree.map(np.asarray, jax.device_get(state))
    return jax.tree.map(lambda x: np.zeros((1,), x.dtype) if x.size == 0 else x, state)


def storage_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape an array of `shape` is stored under (see `to_savable`)."""
    return (1,) if 0 in shape else tuple(shape)


def from_storage(stored: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An array read back, with the shape it had before `to_savable`."""
    return np.zeros(shape, stored.dtype) if 0 in shape else stored


def layout(abstract_state: Any) -> dict[str, str]:
    """`{path: "dtype[shape]"}` of every leaf, the identity a checkpoint checks."""
    leaves = jax.tree_util.tree_leaves_with_path(abstract_state)
    return {
        jax.tree_util.keystr(path): f"{leaf.dtype}{list(leaf.shape)}"
        for path, leaf in leaves
    }


def digest(savable: Any) -> str:
    """SHA-256 over the dtype, shape and bytes of every leaf, in tree order."""
    hasher = hashlib.sha256()
    for leaf in jax.tree.leaves(savable):
        leaf = np.ascontiguousarray(leaf)
        hasher.update(f"{leaf.dtype}{leaf.shape}".encode())
        hasher.update(leaf.tobytes())
    return hasher.hexdigest()


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        flat = {}
        for name, value in tree.items():
            flat.update(_flatten(value, f"{prefix}{name}."))
        return flat
    return {prefix[:-1]: tree}


def differences(
    saved: dict[str, Any], expected: dict[str, Any], ignore: tuple[str, ...] = ()
) -> list[str]:
    """Lines `key: checkpoint has X, this run has Y` for every differing leaf."""
    saved_flat, expected_flat = _flatten(saved), _flatten(expected)
    lines = []
    for name in sorted(set(saved_flat) | set(expected_flat)):
        if name in ignore:
            continue
        have = saved_flat.get(name, "<missing>")
        want = expected_flat.get(name, "<missing>")
        if have != want:
            lines.append(f"{name}: checkpoint has {have!r}, this run has {want!r}")
    return lines


def info_json(value: Any) -> Any:
    """`value` made JSON-comparable: dataclasses to dicts, tuples to lists."""
    return json.loads(json.dumps(value, default=_to_json))


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    return repr(value)
