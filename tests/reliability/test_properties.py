"""Property-based fault injection: every bad input is the library's own error.

Random shapes, dtypes, NaN/inf placements, missing and renamed keys and
truncations of datasets (in memory and on disk), and random values in every
field of every registered algorithm's config: each input either loads (or
checks) correctly or raises the library's error naming what is wrong,
never another exception.
"""

import dataclasses
import math
import typing

import h5py
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ilax import config as config_lib
from ilax import data
from ilax.algorithms import registry
from ilax.data import hdf5
from tests.data.test_dataset import _episode

FIELDS = ("obs", "privileged", "action", "executed_action", "reward", "terminated")
FAULTS = ("none", "width", "ndim", "dtype", "nan", "inf", "missing", "length")


def _faulty(episode: dict, field: str, fault: str) -> dict:
    episode = dict(episode)
    value = np.asarray(episode[field])
    if fault == "width" and value.ndim == 2:
        episode[field] = np.concatenate([value, value[:, :1]], axis=1)
    elif fault == "ndim":
        episode[field] = value[..., None]
    elif fault == "dtype":
        episode[field] = value.astype(np.int32)
    elif fault in ("nan", "inf") and value.dtype.kind == "f" and value.size:
        value = value.copy()
        value.flat[value.size // 2] = np.nan if fault == "nan" else -np.inf
        episode[field] = value
    elif fault == "missing":
        del episode[field]
    elif fault == "length":
        episode[field] = value[:-1]
    return episode


episodes_with_faults = st.lists(
    st.tuples(
        st.integers(0, 4),  # steps; 0 is an empty episode
        st.sampled_from(FIELDS),
        st.sampled_from(FAULTS),
    ),
    min_size=0,
    max_size=3,
)


@settings(deadline=None, max_examples=150)
@given(episodes_with_faults)
def test_from_episodes_builds_a_valid_dataset_or_names_the_problem(specs):
    episodes = [_faulty(_episode(n), field, fault) for n, field, fault in specs]
    try:
        dataset = data.from_episodes(episodes)
    except data.DatasetError as error:
        assert str(error) and "\n" not in str(error)
        return
    data.validate(dataset)  # what comes back is whole
    assert dataset.num_episodes == len(episodes)


def _mutate(file: h5py.File, kind: str, pick: int) -> None:
    groups = sorted(file)
    group = file[groups[pick % len(groups)]]
    keys = sorted(k for k in group if isinstance(group[k], h5py.Dataset))
    key = keys[pick % len(keys)]
    if kind == "rename_group":
        file.move(group.name, f"{group.name}_x")
    elif kind == "rename_key":
        group.move(key, f"{key}_x")
    elif kind == "delete_key":
        del group[key]
    elif kind in ("shape", "dtype", "nan"):
        value = group[key][()]
        del group[key]
        if kind == "shape":
            value = value[..., None]
        elif kind == "dtype":
            value = value.astype(np.int8)
        elif value.dtype.kind == "f" and value.size:
            value = value.copy()
            value.flat[0] = np.nan
        group.create_dataset(key, data=value)


@settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(
        ["rename_group", "rename_key", "delete_key", "shape", "dtype", "nan", "cut"]
    ),
    pick=st.integers(0, 50),
    cut=st.floats(0.0, 0.99),
)
def test_load_reads_a_damaged_file_correctly_or_names_the_problem(
    tmp_path_factory, kind, pick, cut
):
    dataset = data.from_episodes([_episode(3), _episode(2, offset=10.0)])
    path = data.save(dataset, tmp_path_factory.mktemp("demos") / "set")
    main = path / hdf5.MAIN_FILE
    if kind == "cut":
        main.write_bytes(main.read_bytes()[: int(cut * main.stat().st_size)])
    else:
        with h5py.File(main, "a") as file:
            _mutate(file, kind, pick)
    try:
        loaded = data.load(path)
    except data.DatasetError as error:
        assert str(path) in str(error) or "episode" in str(error)
        return
    data.validate(loaded)


def _config_values():
    return st.one_of(
        st.integers(-3, 3),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=4),
        st.none(),
        st.tuples(st.integers(-2, 64)),
        st.tuples(),
        st.tuples(st.text(max_size=2), st.integers()),
    )


@settings(deadline=None, max_examples=300)
@given(
    name=st.sampled_from(registry.names()),
    nested=st.booleans(),
    pick=st.integers(0, 100),
    value=_config_values(),
)
def test_any_config_value_checks_or_names_its_field(name, nested, pick, value):
    config = registry.default_config(name)
    holder = config.learner if nested else config
    fields = [f.name for f in dataclasses.fields(holder)]
    field = fields[pick % len(fields)]
    if dataclasses.is_dataclass(getattr(holder, field)):
        return  # a nested config is replaced field by field
    changed = dataclasses.replace(holder, **{field: value})
    if nested:
        changed = dataclasses.replace(config, learner=changed)
    try:
        changed.check()
    except ValueError as error:
        assert "\n" not in str(error)
        return
    # Accepted: then the value is of the field's type, and a finite number.
    hint = typing.get_type_hints(type(holder))[field]
    assert config_lib._matches(value, hint), (field, value)
    if isinstance(value, float):
        assert math.isfinite(value), (field, value)
