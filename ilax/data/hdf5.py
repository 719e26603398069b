"""Saving and loading datasets in Minari's HDF5 layout.

A saved dataset is a directory holding `main_data.hdf5` (one group
`episode_<i>` per episode with `observations` `[T+1, O]`, `actions`,
`rewards`, `terminations`, `truncations`, and `infos/privileged` `[T+1, P]`
and `infos/executed_actions` `[T, A]`) and `metadata.json`, so
`minari.MinariDataset(path)` reads it. Loading validates everything and
returns nothing partial: any problem raises `DatasetError`.
"""

import json
import os
import pathlib
import shutil
import tempfile
from typing import Any

import h5py
import numpy as np

from ilax.data.dataset import (
    Dataset,
    DatasetError,
    episodes,
    from_episodes,
    validate,
)

MAIN_FILE = "main_data.hdf5"
METADATA_FILE = "metadata.json"
# The Minari dataset format version whose layout this module writes.
MINARI_VERSION = "0.5.4"
_FLOAT_KEYS = ("observations", "actions", "rewards")
_BOOL_KEYS = ("terminations", "truncations")


def _box(shape: tuple[int, ...], low=None, high=None) -> str:
    low = np.full(shape, -np.inf) if low is None else np.asarray(low, np.float64)
    high = np.full(shape, np.inf) if high is None else np.asarray(high, np.float64)
    space = {
        "type": "Box",
        "dtype": "float32",
        "shape": list(shape),
        "low": low.tolist(),
        "high": high.tolist(),
    }
    return json.dumps(space)


def save(
    dataset: Dataset,
    path: str | os.PathLike,
    *,
    dataset_id: str = "ilax/demonstrations-v0",
    action_bounds: tuple[np.ndarray, np.ndarray] | None = None,
    metadata: dict[str, Any] | None = None,
) -> pathlib.Path:
    """Writes `dataset` to directory `path` in Minari's HDF5 layout.

    The directory is written beside its destination and renamed into place,
    so a failed save leaves any earlier dataset at `path` untouched.

    Args:
      dataset: the demonstrations.
      path: the directory to create (replaced if it exists).
      dataset_id: Minari's dataset id.
      action_bounds: (low, high) for the action space; unbounded if omitted.
      metadata: JSON-serializable extras (task, config, seed...) stored under
        `ilax` in metadata.json.

    Returns:
      The directory written.

    Raises:
      DatasetError: `dataset` is not valid (empty, NaN, inconsistent); it is
        refused before anything is written, so `path` keeps what it held.
    """
    validate(dataset)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    low, high = action_bounds if action_bounds is not None else (None, None)
    info = {
        "dataset_id": dataset_id,
        "minari_version": MINARI_VERSION,
        "data_format": "hdf5",
        "observation_space": _box((dataset.observation_size,)),
        "action_space": _box((dataset.action_size,), low, high),
        "total_episodes": dataset.num_episodes,
        "total_steps": dataset.num_steps,
        "ilax": metadata or {},
    }
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        with h5py.File(staging / MAIN_FILE, "w", track_order=True) as file:
            for index, episode in enumerate(episodes(dataset)):
                group = file.create_group(f"episode_{index}")
                group.attrs["id"] = index
                group.attrs["total_steps"] = len(episode["action"])
                group.create_dataset("observations", data=episode["obs"])
                group.create_dataset("actions", data=episode["action"])
                group.create_dataset("rewards", data=episode["reward"])
                group.create_dataset("terminations", data=episode["terminated"])
                group.create_dataset("truncations", data=episode["truncated"])
                infos = group.create_group("infos")
                infos.create_dataset("privileged", data=episode["privileged"])
                infos.create_dataset(
                    "executed_actions", data=episode["executed_action"]
                )
        with open(staging / METADATA_FILE, "w") as file:
            json.dump(info, file)
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            path.rename(backup)
            try:
                staging.rename(path)
            except OSError:
                backup.rename(path)
                raise
            shutil.rmtree(backup)
        else:
            staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Reads metadata.json of a saved dataset.

    Raises:
      DatasetError: the directory or its metadata is missing or unreadable.
    """
    path = pathlib.Path(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such dataset directory")
    try:
        with open(path / METADATA_FILE) as file:
            return json.load(file)
    except (OSError, json.JSONDecodeError) as error:
        raise DatasetError(
            f"{path / METADATA_FILE}: unreadable metadata ({error})"
        ) from error


def _read_episode(group: h5py.Group, name: str) -> dict[str, np.ndarray]:
    required = (*_FLOAT_KEYS, *_BOOL_KEYS, "infos/privileged")
    missing = [key for key in required if key not in group]
    if missing:
        raise DatasetError(f"{name}: missing {', '.join(missing)}")
    arrays = {key: group[key][()] for key in (*_FLOAT_KEYS, *_BOOL_KEYS)}
    for key in _FLOAT_KEYS:
        if not np.issubdtype(arrays[key].dtype, np.floating):
            raise DatasetError(
                f"{name}/{key}: expected a floating dtype; got {arrays[key].dtype}"
            )
    for key in _BOOL_KEYS:
        if arrays[key].dtype != np.bool_:
            raise DatasetError(f"{name}/{key}: expected bool; got {arrays[key].dtype}")
    executed = (
        group["infos/executed_actions"][()]
        if "infos/executed_actions" in group
        else arrays["actions"]
    )
    return {
        "obs": arrays["observations"],
        "privileged": group["infos/privileged"][()],
        "action": arrays["actions"],
        "executed_action": executed,
        "reward": arrays["rewards"],
        "terminated": arrays["terminations"],
        "truncated": arrays["truncations"],
    }


def _check_shapes(name: str, episode: dict[str, np.ndarray], sizes: dict[str, int]):
    steps = len(episode["action"])
    if steps == 0:
        raise DatasetError(f"{name}: zero-length episode (no actions)")
    sizes.setdefault("privileged", episode["privileged"].shape[-1])
    expected = {
        "obs": (steps + 1, sizes["obs"]),
        "privileged": (steps + 1, sizes["privileged"]),
        "action": (steps, sizes["action"]),
        "executed_action": (steps, sizes["action"]),
        "reward": (steps,),
        "terminated": (steps,),
        "truncated": (steps,),
    }
    for key, shape in expected.items():
        actual = episode[key].shape
        if actual != shape:
            raise DatasetError(f"{name}: {key!r} expected shape {shape}; got {actual}")
    for key, array in episode.items():
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            step = int(np.argwhere(~np.isfinite(array))[0][0])
            raise DatasetError(f"{name}: {key!r} is not finite at step {step}")


def _episode_names(main: pathlib.Path, file: h5py.File) -> list[str]:
    """`episode_0` ... `episode_<n-1>`, the groups Minari writes, in order.

    Raises:
      DatasetError: a group of another name, or a missing or repeated index,
        naming it.
    """
    indices = {}
    for name in file:
        number = name.removeprefix("episode_")
        if not (name.startswith("episode_") and number.isascii() and number.isdigit()):
            raise DatasetError(
                f"{main}: group {name!r} is not an episode (expected names "
                "episode_<i>, i = 0, 1, ...)"
            )
        indices[name] = int(number)
    expected = [f"episode_{index}" for index in range(len(indices))]
    if sorted(indices, key=indices.get) != expected:
        extra = sorted(set(indices) - set(expected), key=indices.get)
        missing = sorted(set(expected) - set(indices), key=len)
        raise DatasetError(
            f"{main}: episode groups must be episode_0 to episode_{len(indices) - 1}"
            f", each once; got {extra} beyond them and {missing} missing"
        )
    return expected


def load(path: str | os.PathLike) -> Dataset:
    """Reads and validates a dataset written by `save` (or Minari, with infos).

    Raises:
      DatasetError: a missing or truncated file, an empty dataset, a
        zero-length episode, wrong shapes or dtypes, or non-finite values,
        naming the file, the episode and the key.
    """
    path = pathlib.Path(path)
    metadata = load_metadata(path)
    try:
        sizes = {
            "obs": json.loads(metadata["observation_space"])["shape"][0],
            "action": json.loads(metadata["action_space"])["shape"][0],
        }
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as error:
        raise DatasetError(
            f"{path / METADATA_FILE}: observation_space/action_space missing or not "
            f"a 1-D Box ({error!r})"
        ) from error
    main = path / MAIN_FILE
    try:
        with h5py.File(main, "r") as file:
            names = _episode_names(main, file)
            if not names:
                raise DatasetError(f"{main}: empty dataset (no episode groups)")
            loaded = []
            for name in names:
                episode = _read_episode(file[name], f"{main}:{name}")
                _check_shapes(f"{main}:{name}", episode, sizes)
                loaded.append(episode)
    except DatasetError:
        raise
    except (OSError, KeyError, ValueError) as error:
        raise DatasetError(f"{main}: unreadable HDF5 file ({error})") from error
    return from_episodes(loaded)
