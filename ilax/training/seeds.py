"""Whole runs as one program: every round of every seed in one jitted call.

`run_rounds` is one seed's run, `init` then every round in one `lax.scan`;
`run_seeds` vmaps it over a batch of seed keys and compiles it ahead of
time, so an experiment's arm trains all its seeds in one program and reports
its compile time apart from its run time. `fit_seeds` does the same for a
bare learner on data held in memory (`ilax.training.updates.fit`). The host
loop (`ilax.training.loop.run`) is the alternative when a run must log,
evaluate and checkpoint between rounds.
"""

from typing import Any, NamedTuple

import jax

from ilax import timing
from ilax.training import updates
from ilax.types import Batch, Learner, Metrics, Trainer


def run_rounds(
    trainer: Trainer, key: jax.Array, data: Any = None, num_rounds: int | None = None
) -> tuple[Any, Metrics]:
    """One seed: `trainer.init(key)`, then `num_rounds` rounds in one `lax.scan`.

    Args:
      trainer: the run.
      key: the seed's typed key.
      data: the trainer's data (`trainer.data` when None); pass it as an
        argument of the jitted function so it is not baked into the program.
      num_rounds: rounds to run, `trainer.num_rounds` by default.

    Returns:
      The final run state and the metrics of every round, stacked `[rounds]`.
    """
    data = trainer.data if data is None else data
    return jax.lax.scan(
        lambda state, _: trainer.step(state, data),
        trainer.init(key),
        None,
        length=trainer.num_rounds if num_rounds is None else num_rounds,
    )


class SeedRuns(NamedTuple):
    """What `run_seeds` returns."""

    state: Any  # the final run states, every leaf leading with [S]
    metrics: Metrics  # every round's metrics, [S, rounds]
    compile_s: float  # compiling the whole program
    run_s: float  # running it, compiled


def run_seeds(
    trainer: Trainer, keys: jax.Array, num_rounds: int | None = None
) -> SeedRuns:
    """S seeds of `trainer`, `vmap`ped in one program, compiled ahead of time.

    Args:
      trainer: the run.
      keys: `[S]` typed keys, one per seed.
      num_rounds: rounds per seed, `trainer.num_rounds` by default.
    """

    def run(keys, data):
        return jax.vmap(lambda key: run_rounds(trainer, key, data, num_rounds))(keys)

    (state, metrics), compile_s, run_s = timing.compile_and_run(
        jax.jit(run), keys, trainer.data
    )
    return SeedRuns(state, metrics, compile_s, run_s)


def fit_seeds(
    learner: Learner,
    data: Any,
    keys: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
    as_batch=None,
) -> SeedRuns:
    """S seeds of `updates.fit(learner, ...)` in one program, compiled ahead.

    Args:
      learner: the learner.
      data: the training data, shared by the seeds: a flat `Batch`, or what
        `as_batch` turns into one inside the program.
      keys: `[S]` typed keys, one per seed.
      num_updates: updates per seed.
      batch_size: rows per minibatch.
      as_batch: `data -> Batch`, applied inside the program (so that data
        built from a few arrays, like constant observations, is built there).

    Returns:
      `SeedRuns` whose `state` is the train states and `metrics` every
      update's, `[S, num_updates]`.
    """

    def fit(data, key):
        rows: Batch = data if as_batch is None else as_batch(data)
        return updates.fit(
            learner, rows, key, num_updates=num_updates, batch_size=batch_size
        )

    (state, metrics), compile_s, run_s = timing.compile_and_run(
        jax.jit(jax.vmap(fit, in_axes=(None, 0))), data, keys
    )
    return SeedRuns(state, metrics, compile_s, run_s)
