"""The probe's unclear errors: each now one line naming the field, the
expected and the actual value.

Orbax's "Event loop is closed" tracebacks during a checkpoint fallback
(tensorstore reads completing after orbax closed their event loop) are
dropped by a narrow `sys.unraisablehook` filter; any other unraisable error
still prints.
"""

import sys
import types

import h5py
import numpy as np
import pytest

from ilax import data
from ilax import train as cli
from ilax.algorithms import bc, gan
from ilax.data import hdf5
from ilax.scripts import flags as script_flags
from ilax.training import checkpoints
from tests.data.test_dataset import _dataset, _episode
from tests.reliability.test_silent_failures import stored_run
from tests.training.test_cli import run_cli


@pytest.mark.parametrize(
    "override, message",
    [
        (
            "--config.learner.lerning_rate=1",
            "config.learner has no field 'lerning_rate'",
        ),
        ("--config.batchsize=3", "config has no field 'batchsize'"),
    ],
)
def test_an_unknown_config_field_is_one_line_listing_the_fields(override, message):
    with pytest.raises(SystemExit) as exit_info:
        script_flags.check_overrides(bc.BCTrainConfig(), [override], prefix="config")
    text = str(exit_info.value)
    assert "\n" not in text and message in text and "its fields: " in text


def test_episodes_of_different_widths_name_the_episode_and_field():
    episodes = [_episode(3), _episode(4, obs_size=5)]
    with pytest.raises(
        data.DatasetError,
        match=r"episode 1: field 'obs' expected shape \[T, 2\] \(as episode 0\); "
        r"got \(5, 5\)",
    ):
        data.from_episodes(episodes)
    del episodes[1]["reward"]
    with pytest.raises(data.DatasetError, match=r"episode 1: missing field\(s\)"):
        data.from_episodes(episodes)


def test_an_hdf5_group_that_is_not_an_episode_is_named(tmp_path):
    path = data.save(_dataset(), tmp_path / "demos")
    with h5py.File(path / hdf5.MAIN_FILE, "a") as file:
        file.move("episode_1", "episode_one")
    with pytest.raises(
        data.DatasetError, match="group 'episode_one' is not an episode"
    ):
        data.load(path)


@pytest.mark.parametrize(
    "rename, odd",
    [
        ("episode_01", r"\['episode_01'\] beyond them and \['episode_2'\] missing"),
        ("episode_7", r"\['episode_7'\] beyond them and \['episode_2'\] missing"),
    ],
    ids=["repeated", "gap"],
)
def test_episode_groups_must_count_from_zero_each_once(tmp_path, rename, odd):
    path = data.save(_dataset((2, 3)), tmp_path / "demos")
    with h5py.File(path / hdf5.MAIN_FILE, "a") as file:
        file.copy("episode_1", rename)
    message = f"episode_0 to episode_2, each once; got {odd}"
    with pytest.raises(data.DatasetError, match=message):
        data.load(path)


def test_a_scalar_action_is_named():
    episode = _episode(3)
    episode["action"] = np.float32(1.0)
    with pytest.raises(data.DatasetError, match="episode 0: field 'action' expected"):
        data.from_episodes([episode])


def test_a_list_of_differences_becomes_one_line():
    message = "checkpoint 2 was written by a different run:\n  a: x\n  b: y"
    assert cli._one_line(message) == (
        "checkpoint 2 was written by a different run: a: x; b: y"
    )


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("learning_rate", "abc", "a finite float"),
        ("learning_rate", float("inf"), "a finite float"),
        ("hidden_sizes", (64, "a"), r"of type tuple\[int, ...\]"),
        ("normalize", 1, "of type bool"),
        ("num_components", 2.0, "of type int"),
    ],
)
def test_a_config_value_of_the_wrong_type_names_the_field(field, value, expected):
    with pytest.raises(ValueError, match=rf"BCConfig.{field} must be {expected}; got"):
        bc.BCConfig(**{field: value}).check()
    with pytest.raises(ValueError, match=rf"BCTrainConfig.learner.{field} must be"):
        bc.BCTrainConfig(learner=bc.BCConfig(**{field: value})).check()


def test_a_nested_config_of_another_class_is_named():
    with pytest.raises(
        ValueError, match="BCTrainConfig.learner must be of type BCConfig; got GAN"
    ):
        bc.BCTrainConfig(learner=gan.GANConfig()).check()


def errors(result):
    """The stderr lines the command line wrote as its own errors."""
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def test_the_command_line_reports_a_bad_config_in_one_line(tmp_path):
    result = run_cli(
        "--algo=bc", "--task=pendulum", f"--workdir={tmp_path / 'run'}",
        "--config.batch_size=0",
    )  # fmt: skip
    assert result.returncode != 0
    assert errors(result) == ["error: BCTrainConfig.batch_size must be > 0; got 0"]
    assert "Traceback" not in result.stderr


def test_a_task_mismatch_is_one_line_without_the_flag_help(tmp_path):
    workdir = tmp_path / "run"
    stored_run(workdir, bc.BCTrainConfig())
    result = run_cli(f"--workdir={workdir}", "--task=cartpole")
    assert result.returncode != 0
    assert errors(result) == [
        f"error: {workdir} holds a run with --task=pendulum; got --task=cartpole "
        "(use another --workdir)"
    ]
    # absl's usage errors print the flag help, a line per flag.
    assert not [line for line in result.stderr.splitlines() if line.startswith("  --")]
    assert "Traceback" not in result.stderr


def unraisable(error_text: str, through: str):
    """An unraisable RuntimeError raised inside a function named `through`."""
    namespace = {}
    exec(f"def {through}():\n    raise RuntimeError({error_text!r})", namespace)
    try:
        namespace[through]()
    except RuntimeError as error:
        return types.SimpleNamespace(
            exc_type=RuntimeError,
            exc_value=error,
            exc_traceback=error.__traceback__,
            err_msg=None,
            object=None,
        )


def test_only_late_reads_of_a_closed_restore_are_dropped(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    checkpoints._quiet_orbax()  # as a Checkpointer does
    late = unraisable("Event loop is closed", "call_soon_threadsafe")
    other = unraisable("Event loop is closed", "somewhere_else")
    different = unraisable("something else", "call_soon_threadsafe")
    for case in (late, other, different):
        sys.unraisablehook(case)
    assert seen == [other, different]
