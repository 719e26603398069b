"""A run's `metrics.jsonl`, never silently lost, and its TensorBoard copy.

One JSON record per round.

`run` appends a record after every round. When it resumes from a checkpoint
of round r, the records past r are dropped (those rounds run again and write
them anew); records that no checkpoint replaces are never dropped: a run
that would start again from round 1 over earlier records is refused unless
it is told to restart, and then the old file is kept beside the new one.
"""

import json
import os
import pathlib
import time

from absl import logging

from ilax.training.checkpoints import CORRUPT_DIR, CheckpointError


def rounds(path: pathlib.Path) -> list[int]:
    """The rounds recorded in `path` (none when it does not exist).

    A line cut short by a crash is skipped.
    """
    if not path.exists():
        return []
    recorded = []
    for line in path.read_text().splitlines():
        try:
            recorded.append(int(json.loads(line)["round"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
    return recorded


def keep_until(path: pathlib.Path, last_round: int) -> None:
    """Drops the records past `last_round` (they will be run again), atomically."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)["round"] <= last_round:
                kept.append(line)
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a line cut short by a crash
    staging = path.with_name(path.name + ".tmp")
    staging.write_text("".join(line + "\n" for line in kept))
    os.replace(staging, path)


def set_aside(path: pathlib.Path) -> pathlib.Path | None:
    """Renames `path` (a file or folder) to `<name>.<time>[.<n>].old`.

    Never replaces an earlier one: a second rename in the same second gets
    the next free `<n>`. Returns the new path (None if `path` does not exist).
    """
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.{stamp}.old")
    number = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.{stamp}.{number}.old")
        number += 1
    os.rename(path, aside)
    return aside


def check_fresh_start(
    checkpoint_dir: str | os.PathLike | None,
    metrics_path: pathlib.Path | None,
    restart: bool,
) -> None:
    """Refuses to start from round 1 where that would lose an earlier run's work.

    Lost work is checkpoints set aside as unreadable in
    `checkpoint_dir/corrupt/`, or, for a run that keeps no checkpoints at
    all, the records in `metrics_path`. (With checkpoints and none written
    yet, the records are of rounds that were never saved: a crash before the
    first save. They are run again and rewritten, as on any resume.) With
    `restart`, the old metrics file and `corrupt/` are renamed aside
    (`set_aside`), never deleted, and a warning says so.

    Raises:
      CheckpointError: such work exists and not `restart`.
    """
    traces, aside = [], []
    recorded = rounds(metrics_path) if metrics_path else []
    if recorded and checkpoint_dir is None:
        traces.append(f"{metrics_path} records rounds up to {max(recorded)}")
        aside.append(metrics_path)
    corrupt = pathlib.Path(checkpoint_dir or ".") / CORRUPT_DIR
    if checkpoint_dir is not None and corrupt.is_dir() and any(corrupt.iterdir()):
        traces.append(f"{corrupt} holds checkpoints set aside as unreadable")
        aside += [metrics_path, corrupt] if recorded else [corrupt]
    if not traces:
        return
    if not restart:
        raise CheckpointError(
            f"no checkpoint to resume from, but {' and '.join(traces)}; starting "
            "again would lose them: pass restart=True (--restart) to start from "
            "round 1, keeping the old records aside"
        )
    kept = [str(set_aside(path)) for path in aside]
    logging.warning(
        "restart: %s; starting from round 1 (kept as %s)",
        " and ".join(traces),
        ", ".join(kept),
    )


def tensorboard_writer(directory: str | None):
    """A tensorboardX writer in `directory`; None without one (warned)."""
    if directory is None:
        return None
    try:
        from tensorboardX import SummaryWriter  # optional
    except ImportError:
        logging.warning(
            "tensorboard_dir=%s ignored: no writer importable (pip install "
            "tensorboardX); metrics.jsonl has the same numbers",
            directory,
        )
        return None
    return SummaryWriter(directory)
