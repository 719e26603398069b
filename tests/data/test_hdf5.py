"""Minari-layout HDF5 files: round trips, Minari compatibility, bad files."""

import json

import h5py
import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilax import data
from ilax.data import hdf5
from tests.data.test_dataset import _episode


def _dataset(lengths=(4, 2)):
    return data.from_episodes(
        [_episode(n, offset=10.0 * e) for e, n in enumerate(lengths)]
    )


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@settings(deadline=None, max_examples=10)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_save_then_load_is_the_identity(tmp_path_factory, lengths):
    path = tmp_path_factory.mktemp("ds") / "demos"
    dataset = _dataset(lengths)
    data.save(dataset, path, metadata={"task": "test"})
    _assert_same(data.load(path), dataset)
    assert data.load_metadata(path)["ilax"] == {"task": "test"}


def test_minari_reads_the_saved_layout(tmp_path):
    minari = pytest.importorskip("minari")
    dataset = _dataset()
    bounds = (np.array([-2.0], np.float32), np.array([2.0], np.float32))
    data.save(dataset, tmp_path / "demos", action_bounds=bounds)
    loaded = minari.MinariDataset(tmp_path / "demos")
    assert loaded.total_episodes == 2 and loaded.total_steps == 6
    assert loaded.action_space.high[0] == 2.0
    first = next(iter(loaded.iterate_episodes()))
    np.testing.assert_array_equal(first.observations, _episode(4)["obs"])
    np.testing.assert_array_equal(first.actions, _episode(4)["action"])
    np.testing.assert_array_equal(first.infos["privileged"], _episode(4)["privileged"])


def test_failed_save_keeps_the_previous_dataset(tmp_path, monkeypatch):
    path = tmp_path / "demos"
    original = _dataset((3,))
    data.save(original, path)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(hdf5, "episodes", broken)
    with pytest.raises(OSError, match="disk full"):
        data.save(_dataset((5, 5)), path)
    _assert_same(data.load(path), original)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos"]


def _rewrite(path, edit):
    """Applies `edit(file)` to the saved HDF5 file of the dataset at `path`."""
    with h5py.File(path / hdf5.MAIN_FILE, "a") as file:
        edit(file)


def _replace(group, key, value):
    del group[key]
    group.create_dataset(key, data=value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda f: [f.__delitem__(k) for k in list(f)],
            "empty dataset",
        ),
        (
            lambda f: (
                [
                    _replace(f["episode_1"], k, f["episode_1"][k][:0])
                    for k in ("actions", "rewards", "terminations", "truncations")
                ]
                + [
                    _replace(
                        f["episode_1"], "observations", f["episode_1/observations"][:1]
                    )
                ]
            ),
            "episode_1: zero-length episode",
        ),
        (
            lambda f: _replace(
                f["episode_0"], "observations", np.zeros((5, 7), np.float32)
            ),
            r"episode_0: 'obs' expected shape \(5, 2\); got \(5, 7\)",
        ),
        (
            lambda f: _replace(f["episode_0"], "terminations", np.zeros(4, np.int64)),
            "episode_0/terminations: expected bool; got int64",
        ),
        (
            lambda f: _replace(
                f["episode_0"], "actions", np.full((4, 1), np.nan, np.float32)
            ),
            "episode_0: 'action' is not finite at step 0",
        ),
        (
            lambda f: f["episode_0"].__delitem__("rewards"),
            "episode_0: missing rewards",
        ),
    ],
)
def test_bad_files_raise_dataset_errors(tmp_path, edit, message):
    path = data.save(_dataset(), tmp_path / "demos")
    _rewrite(path, edit)
    with pytest.raises(data.DatasetError, match=message):
        data.load(path)


def test_truncated_file_raises_naming_the_file(tmp_path):
    path = data.save(_dataset(), tmp_path / "demos")
    main = path / hdf5.MAIN_FILE
    main.write_bytes(main.read_bytes()[: main.stat().st_size // 2])
    with pytest.raises(data.DatasetError, match=f"{main}: unreadable HDF5 file"):
        data.load(path)


def test_missing_or_corrupt_metadata(tmp_path):
    with pytest.raises(data.DatasetError, match="no such dataset directory"):
        data.load(tmp_path / "nowhere")
    path = data.save(_dataset(), tmp_path / "demos")
    (path / hdf5.METADATA_FILE).write_text("{not json")
    with pytest.raises(data.DatasetError, match="unreadable metadata"):
        data.load(path)
    (path / hdf5.METADATA_FILE).write_text(json.dumps({"observation_space": "{}"}))
    with pytest.raises(data.DatasetError, match="not a 1-D Box"):
        data.load(path)
