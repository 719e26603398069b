"""A save that fails (a full disk, a read-only folder) loses nothing.

The write fails in orbax's background thread, as a real `ENOSPC` or `EROFS`
would: `run` stops with a `CheckpointError` that says so and names the last
complete checkpoint, that checkpoint still restores exactly, and the newest
state, which no checkpoint holds, comes back in memory on the error.
"""

import errno

import jax
import numpy as np
import pytest
from orbax.checkpoint._src.handlers import json_checkpoint_handler

from ilax.training import checkpoints, loop
from tests.training import fake_trainer


def fail_writes_from(monkeypatch, first_failing: int, code: int) -> None:
    """Metadata writes number `first_failing` (1-based) and later raise OSError."""
    handler = json_checkpoint_handler.JsonCheckpointHandler
    original, calls = handler._save_fn, []

    async def save_fn(self, item, directory):
        calls.append(directory)
        if len(calls) >= first_failing:
            raise OSError(code, f"{errno.errorcode[code]}: {directory}")
        return await original(self, item, directory)

    monkeypatch.setattr(handler, "_save_fn", save_fn)


def leaves(state):
    return jax.tree.leaves(checkpoints.to_savable(state))


@pytest.mark.parametrize(
    "code, first_failing, last_good",
    [(errno.ENOSPC, 2, 1), (errno.EROFS, 1, None)],
    ids=["disk_full", "read_only"],
)
def test_a_failed_save_keeps_the_checkpoints_and_the_state(
    tmp_path, key, monkeypatch, code, first_failing, last_good
):
    trainer = fake_trainer.make(num_rounds=4)
    fail_writes_from(monkeypatch, first_failing, code)
    with pytest.raises(checkpoints.CheckpointError) as failure:
        loop.run(trainer, key=key, num_seeds=2, checkpoint_dir=tmp_path, progress=False)
    message = str(failure.value)
    assert f"saving checkpoint {first_failing}" in message
    assert errno.errorcode[code] in message
    assert f"the last complete checkpoint is {last_good}" in message
    # Round r's save fails in the background and is reported by the save of
    # round r + 1, which has run: its state is the one handed back.
    reached = first_failing + 1
    straight, _ = loop.run(trainer, key=key, num_seeds=2, num_rounds=reached)
    for ours, theirs in zip(leaves(failure.value.state), leaves(straight), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    monkeypatch.undo()
    if last_good is None:
        return
    state, completed = loop.restore(trainer, tmp_path, key=key, num_seeds=2)
    assert completed == last_good
    earlier, _ = loop.run(trainer, key=key, num_seeds=2, num_rounds=last_good)
    for ours, theirs in zip(leaves(state), leaves(earlier), strict=True):
        np.testing.assert_array_equal(ours, theirs)
