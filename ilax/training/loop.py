"""The host training loop: any `Trainer`, several seeds at once, resumable.

`run` drives a `Trainer` round by round, all seeds as one `jax.vmap` inside
one jitted program, and does everything impure around it: per-round metrics
on the log and in `metrics.jsonl`, periodic evaluation, checkpoints, resuming
from the latest one, stopping on non-finite values, and saving on SIGTERM.
(`ilax.training.seeds` runs all rounds as one program instead, with none of
this.)

Seed s of a run with key k starts from `fold_in(k_init, s)`, so it is the
same whether it runs alone or beside others; evaluation after round r uses
`fold_in(fold_in(k_eval, r), s)`, so a resumed run evaluates identically.
`k_init` and `k_eval` are `fold_in(k, 0)` and `fold_in(k, 1)`: the run key
is re-derived by every call that resumes or evaluates the run, and fold_in
does not consume it.
"""

import contextlib
import functools
import json
import math
import os
import pathlib
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from absl import logging

from ilax.training import metrics_log, run_state, updates
from ilax.training.checkpoints import Checkpointer, CheckpointError
from ilax.types import Trainer

NONFINITE = updates.NONFINITE
_INIT_STREAM, _EVAL_STREAM = 0, 1
# Lengthening an offline run (more rounds) keeps its checkpoints usable; an
# interactive run's buffer is sized by its iterations, so it cannot grow.
RESUMABLE_FIELDS = ("config.rounds",)


class NonFiniteError(RuntimeError):
    """A round produced non-finite values; its state was not saved."""

    def __init__(
        self, message: str, *, round_number: int, seeds: list[int], checkpoint
    ):
        super().__init__(message)
        self.round_number = round_number
        self.seeds = seeds
        self.checkpoint = checkpoint


def seed_keys(key: jax.Array, num_seeds: int, seed_offset: int = 0) -> jax.Array:
    """The keys of seeds `seed_offset` to `seed_offset + num_seeds - 1`."""
    seeds = jnp.arange(seed_offset, seed_offset + num_seeds, dtype=jnp.uint32)
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, seeds)


def init_keys(key: jax.Array, num_seeds: int, seed_offset: int = 0) -> jax.Array:
    """The per-seed keys of `trainer.init` in a run with `key`."""
    return seed_keys(jax.random.fold_in(key, _INIT_STREAM), num_seeds, seed_offset)


def eval_keys(
    key: jax.Array, round_number: int, num_seeds: int, seed_offset: int = 0
) -> jax.Array:
    """The per-seed keys of the evaluation after `round_number` of a run with `key`."""
    key_eval = jax.random.fold_in(key, _EVAL_STREAM)
    return seed_keys(jax.random.fold_in(key_eval, round_number), num_seeds, seed_offset)


def _run_info(run_info, key, num_seeds, seed_offset, data) -> dict[str, Any]:
    info = dict(run_info or {})
    info.update(
        key=np.asarray(jax.random.key_data(key)).tolist(),
        num_seeds=num_seeds,
        seed_offset=seed_offset,
    )
    if data is not None:
        # The data every round reads (demonstrations, GAIL's expert
        # transitions) is rebuilt when a run resumes; another expert or
        # dataset must not continue a run made with this one.
        info["data_digest"] = run_state.digest(data)
    return info


class _Programs(NamedTuple):
    """The jitted, seed-vmapped init, step and evaluate of one trainer."""

    init: Callable
    step: Callable
    evaluate: Callable

    def abstract(self, keys: jax.Array) -> Any:
        return jax.eval_shape(self.init, keys)


def _compiled(trainer: Trainer) -> _Programs:
    return _programs(trainer.init, trainer.step, trainer.evaluate)


@functools.lru_cache(maxsize=8)
def _programs(init, step, evaluate) -> _Programs:
    # Cached on the trainer's functions, so that repeated `train` calls on one
    # trainer (resuming, evaluating) reuse the compiled programs.
    return _Programs(
        init=jax.jit(jax.vmap(init)),
        # The old state is never read again (a checkpoint holds a host copy),
        # so its buffers can hold the new one.
        step=jax.jit(jax.vmap(step, in_axes=(0, None)), donate_argnums=0),
        evaluate=jax.jit(jax.vmap(evaluate)),
    )


def _host_metrics(metrics: dict[str, jax.Array]) -> dict[str, np.ndarray]:
    return {name: np.asarray(value) for name, value in jax.device_get(metrics).items()}


def _summaries(metrics: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Seed means and per-seed lists of `[S, ...]` metrics."""
    means, per_seed = {}, {}
    for name, value in sorted(metrics.items()):
        means[name] = float(np.mean(value))
        per_seed[name] = value.reshape(value.shape[0], -1).mean(axis=1).tolist()
    return means, per_seed


def _compact(round_number: int, num_rounds: int, means: dict, seconds: float) -> str:
    parts = [f"{name}={value:.4g}" for name, value in means.items()]
    return f"round {round_number}/{num_rounds} ({seconds:.2f}s) " + " ".join(parts)


@contextlib.contextmanager
def _sigterm_flag():
    """A flag set by SIGTERM while the block runs; the old handler returns after."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be installed from the main thread
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def restore(
    trainer: Trainer,
    checkpoint_dir: str | os.PathLike,
    *,
    key: jax.Array,
    num_seeds: int = 1,
    seed_offset: int = 0,
    run_info: dict[str, Any] | None = None,
) -> tuple[Any, int]:
    """The latest run state in `checkpoint_dir` and the rounds it completed.

    With `run_info`, the checkpoint must come from a run described alike
    (as in `train`); without, only the state's layout is checked.

    Raises:
      CheckpointError: no readable checkpoint.
      CheckpointMismatchError: the checkpoint belongs to another run.
    """
    keys = init_keys(key, num_seeds, seed_offset)
    info = None
    if run_info is not None:
        info = _run_info(run_info, key, num_seeds, seed_offset, trainer.data)
    with Checkpointer(checkpoint_dir) as checkpointer:
        state, meta = checkpointer.restore(
            _compiled(trainer).abstract(keys),
            info,
            ignore=RESUMABLE_FIELDS,
        )
    return state, meta["step"]


def evaluate(
    trainer: Trainer,
    state: Any,
    *,
    key: jax.Array,
    round_number: int,
    seed_offset: int = 0,
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """`trainer.evaluate` on every seed of `state`, as `run` does after `round_number`.

    Returns:
      Seed means and per-seed lists of the evaluation metrics.
    """
    num_seeds = jax.tree.leaves(state)[0].shape[0]
    keys = eval_keys(key, round_number, num_seeds, seed_offset)
    programs = _compiled(trainer)
    metrics = _host_metrics(programs.evaluate(state, keys))
    return _summaries(metrics)


def _due(round_number: int, every: int, last: int) -> bool:
    return every > 0 and (round_number % every == 0 or round_number == last)


def check_settings(**settings: int) -> None:
    """Raises ValueError naming the first of `run`'s counts out of range.

    `eval_every` may be 0 (never); every other count must be at least 1.
    """
    for name, value in settings.items():
        least = 0 if name == "eval_every" else 1
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"run: {name} must be an int >= {least}; got {value!r}")


def run(
    trainer: Trainer,
    *,
    key: jax.Array,
    num_seeds: int = 1,
    seed_offset: int = 0,
    num_rounds: int | None = None,
    eval_every: int = 0,
    checkpoint_dir: str | os.PathLike | None = None,
    save_every: int = 1,
    max_to_keep: int = 3,
    run_info: dict[str, Any] | None = None,
    metrics_path: str | os.PathLike | None = None,
    progress: bool = True,
    stop_on_nonfinite: bool = True,
    tensorboard_dir: str | None = None,
    restart: bool = False,
) -> tuple[Any, list[dict[str, Any]]]:
    """Runs `trainer` for `num_rounds` rounds on `num_seeds` seeds at once.

    Args:
      trainer: what to run (see `ilax.types.Trainer`).
      key: the run's typed key; seeds and evaluations derive from it.
      num_seeds: seeds run side by side (one vmap); every leaf of the run
        state and every metric leads with this axis.
      seed_offset: the index of the first seed (to split a sweep over jobs).
      num_rounds: rounds in the whole run; `trainer.num_rounds` by default.
      eval_every: evaluate after every this many rounds and after the last;
        0 never evaluates.
      checkpoint_dir: where checkpoints go; the run resumes from the latest
        one there. None keeps nothing.
      save_every: save after every this many rounds (>= 1) and always after
        the last.
      max_to_keep: checkpoints kept.
      run_info: JSON-serializable description of the run (algorithm, task,
        config as a dict); a checkpoint of a run described otherwise is
        refused, naming the differences. The key and seeds are added.
      metrics_path: a `metrics.jsonl` to append one record per round to:
        `round`, `time` (seconds since this call started), `round_seconds`,
        `metrics` (seed means) and `per_seed` (lists).
      progress: show a tqdm progress bar.
      stop_on_nonfinite: raise `NonFiniteError` when a round reports
        `train/nonfinite` > 0 for any seed (the state is not saved).
      tensorboard_dir: also write scalars there, if tensorboardX is installed.
      restart: start from round 1 although earlier records exist with no
        readable checkpoint to resume them (every checkpoint set aside as
        corrupt, or metrics of a run that kept no checkpoint); the old
        `metrics_path` is renamed `<name>.<time>.old`, never deleted.

    Returns:
      `(run_state, history)`: the final state of all seeds and the records
      of the rounds run by this call.

    Raises:
      NonFiniteError: a round went non-finite; checkpoints hold the last good
        state.
      CheckpointMismatchError: `checkpoint_dir` holds another run.
      CheckpointError: earlier records but nothing to resume them from, and
        not `restart`; or a save failed (a full disk, a read-only folder):
        the checkpoints before it are intact and `error.state` holds the
        newest run state.
      ValueError: a count out of range, naming it.
    """
    num_rounds = trainer.num_rounds if num_rounds is None else num_rounds
    check_settings(
        num_seeds=num_seeds,
        num_rounds=num_rounds,
        save_every=save_every,
        eval_every=eval_every,
    )
    keys = init_keys(key, num_seeds, seed_offset)
    seeds = list(range(seed_offset, seed_offset + num_seeds))
    info = _run_info(run_info, key, num_seeds, seed_offset, trainer.data)
    programs = _compiled(trainer)

    checkpointer = None
    start = 0
    if checkpoint_dir is not None:
        checkpointer = Checkpointer(checkpoint_dir, max_to_keep=max_to_keep)
    if checkpointer is not None and checkpointer.latest_step() is not None:
        try:
            state, meta = checkpointer.restore(
                programs.abstract(keys), info, ignore=RESUMABLE_FIELDS
            )
        except BaseException:
            checkpointer.close()
            raise
        start = meta["step"]
        logging.info("resumed from round %d in %s", start, checkpoint_dir)
    else:
        metrics_path = None if metrics_path is None else pathlib.Path(metrics_path)
        try:
            metrics_log.check_fresh_start(checkpoint_dir, metrics_path, restart)
        except BaseException:
            if checkpointer is not None:
                checkpointer.close()
            raise
        state = programs.init(keys)

    metrics_file = None
    if metrics_path is not None:
        metrics_path = pathlib.Path(metrics_path)
        metrics_path.parent.mkdir(parents=True, exist_ok=True)
        metrics_log.keep_until(metrics_path, start)
        metrics_file = open(metrics_path, "a")  # noqa: SIM115 (closed below)
    writer = metrics_log.tensorboard_writer(tensorboard_dir)
    bar = tqdm.tqdm(
        total=num_rounds, initial=start, disable=not progress, desc="rounds"
    )
    history = []
    began = time.perf_counter()
    try:
        with _sigterm_flag() as sigterm:
            for round_number in range(start + 1, num_rounds + 1):
                round_began = time.perf_counter()
                state, metrics = programs.step(state, trainer.data)
                metrics = _host_metrics(metrics)
                if NONFINITE in metrics and np.any(metrics[NONFINITE] > 0):
                    bad = [seeds[i] for i in np.flatnonzero(metrics[NONFINITE] > 0)]
                    last = checkpointer.latest_step() if checkpointer else None
                    message = (
                        f"non-finite values in round {round_number}, seed(s) {bad} "
                        f"({NONFINITE}={metrics[NONFINITE].tolist()}); the state was "
                        f"not saved, the last checkpoint is {last}"
                    )
                    if stop_on_nonfinite:
                        logging.error("%s", message)
                        raise NonFiniteError(
                            message,
                            round_number=round_number,
                            seeds=bad,
                            checkpoint=last,
                        )
                    logging.warning("%s", message)
                if _due(round_number, eval_every, num_rounds):
                    keys = eval_keys(key, round_number, num_seeds, seed_offset)
                    metrics.update(_host_metrics(programs.evaluate(state, keys)))
                seconds = time.perf_counter() - round_began
                means, per_seed = _summaries(metrics)
                record = {
                    "round": round_number,
                    "time": time.perf_counter() - began,
                    "round_seconds": seconds,
                    "metrics": means,
                    "per_seed": per_seed,
                }
                history.append(record)
                logging.info("%s", _compact(round_number, num_rounds, means, seconds))
                if metrics_file is not None:
                    metrics_file.write(json.dumps(record) + "\n")
                    metrics_file.flush()
                if writer is not None:
                    for name, value in means.items():
                        if math.isfinite(value):
                            writer.add_scalar(name, value, round_number)
                bar.update(1)
                stopping = sigterm.is_set() and round_number < num_rounds
                if checkpointer is not None and (
                    _due(round_number, save_every, num_rounds) or stopping
                ):
                    checkpointer.save(round_number, state, info)
                if stopping:
                    logging.warning(
                        "SIGTERM: stopped after round %d of %d%s",
                        round_number,
                        num_rounds,
                        "; checkpoint saved" if checkpointer else "",
                    )
                    break
        if checkpointer is not None:
            checkpointer.wait()  # the last save's failure is reported here
    except CheckpointError as error:
        # A failed save (a full disk, a read-only folder) leaves the earlier
        # checkpoints intact; the newest state is still whole in memory.
        error.state = state
        raise
    finally:
        bar.close()
        if metrics_file is not None:
            metrics_file.close()
        if writer is not None:
            writer.close()
        if checkpointer is not None:
            checkpointer.close()
    return state, history
