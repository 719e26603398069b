"""Checkpoints of a training run: the run state plus a JSON of what made it.

A checkpoint is one orbax step directory holding the run state (any pytree of
arrays; typed PRNG keys are stored as their key data) and a metadata JSON
(step, ilax version, the caller's description of the run, the layout and a
SHA-256 digest of every array). Restoring checks the description and the
layout against the run being resumed and names every difference.

Guarantees (DESIGN.md rule 7): saves are asynchronous, but a checkpoint is
only pruned once a newer one has been written completely, so a failed save
never costs the last good one. A checkpoint that cannot be read back exactly
(orbax's error, or a digest mismatch) is moved into `corrupt/` with a
warning, and the previous step is restored instead.
"""

import logging as std_logging
import os
import pathlib
import sys
import threading
import time
import traceback
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

import ilax
from ilax.training.run_state import (  # noqa: F401  (re-exported)
    _is_key,
    _key_impl,
    differences,
    digest,
    from_storage,
    info_json,
    layout,
    storage_shape,
    to_savable,
)

_STATE, _META = "state", "meta"
_ORBAX_SERVICE_THREADS = ("metadata_store",)
CORRUPT_DIR = "corrupt"


class _QuietOrbax(std_logging.Filter):
    """Drops orbax's INFO records (dozens per save); its warnings still show."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        orbax = f"{os.sep}orbax{os.sep}" in record.pathname
        return not orbax or record.levelno >= std_logging.WARNING


def _late_tensorstore_callback(unraisable) -> bool:
    """Whether an unraisable error is a read finishing after its loop closed.

    When a restore fails on a corrupt step, orbax closes its event loop while
    tensorstore is still reading the step's other arrays; each read that
    completes later calls `loop.call_soon_threadsafe` on the closed loop and
    its `RuntimeError` reaches `sys.unraisablehook`. Nothing waits for those
    reads any more.
    """
    if unraisable.exc_type is not RuntimeError:
        return False
    if str(unraisable.exc_value) != "Event loop is closed":
        return False
    frames = traceback.extract_tb(unraisable.exc_traceback)
    return any(frame.name == "call_soon_threadsafe" for frame in frames)


def _quiet_orbax() -> None:
    logger = std_logging.getLogger("absl")
    if not any(isinstance(f, _QuietOrbax) for f in logger.filters):
        logger.addFilter(_QuietOrbax())
    previous = sys.unraisablehook
    if getattr(previous, "_ilax_filter", False):
        return

    def hook(unraisable) -> None:
        if _late_tensorstore_callback(unraisable):
            logging.debug("dropped a late tensorstore read of a closed restore")
        else:
            previous(unraisable)

    hook._ilax_filter = True
    sys.unraisablehook = hook


class CheckpointError(RuntimeError):
    """A checkpoint could not be written or read."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint belongs to a different run (algorithm, config, shapes)."""


class Checkpointer:
    """Saves and restores run states in `directory`, keeping the last few.

    Args:
      directory: where step directories (`<step>/`) are written.
      max_to_keep: complete checkpoints kept; older ones are deleted once a
        newer one has been written.
      async_save: write in a background thread (the host copy is made first,
        so the caller may donate or overwrite the state at once).
    """

    def __init__(
        self, directory: str | os.PathLike, *, max_to_keep: int = 3, async_save=True
    ):
        if max_to_keep < 1:
            raise ValueError(
                f"Checkpointer: max_to_keep must be >= 1; got {max_to_keep}"
            )
        _quiet_orbax()
        self.directory = pathlib.Path(directory).absolute()
        self.max_to_keep = max_to_keep
        # Orbax never deletes here (max_to_keep=None): its pruning can run after
        # a failed write; `_prune` deletes only behind a finished save.
        options = ocp.CheckpointManagerOptions(
            max_to_keep=None,
            enable_async_checkpointing=async_save,
            create=True,
            cleanup_tmp_directories=True,
            # Orbax's asynchronous directory creation hands signals between
            # threads; after a failed write, a thread left waiting for one kept
            # the process from exiting for the 300 s signal timeout.
            async_options=ocp.AsyncOptions(create_directories_asynchronously=False),
        )
        self._manager = ocp.CheckpointManager(
            self.directory, options=options, item_names=(_STATE, _META)
        )
        self._pending: int | None = None
        self._threads_before: set[threading.Thread] = set()

    def steps(self) -> list[int]:
        """Steps of the checkpoints on disk, ascending."""
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        """The newest step, or None when the directory holds no checkpoint."""
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state: Any, info: dict[str, Any]) -> None:
        """Starts writing `state` as checkpoint `step`.

        Args:
          step: the step (round) number, larger than any saved before.
          state: a pytree of arrays (typed keys allowed).
          info: JSON-serializable description of the run (algorithm, task,
            config...), compared on restore.

        Raises:
          CheckpointError: this save or the previous (asynchronous) one failed;
            the checkpoints written before it are untouched.
        """
        self.wait()
        savable = to_savable(state)
        meta = {
            "step": step,
            "ilax_version": ilax.__version__,
            "info": info,
            "layout": layout(jax.eval_shape(lambda: state)),
            "digest": digest(savable),
            "time": time.time(),
        }
        args = ocp.args.Composite(
            **{_STATE: ocp.args.StandardSave(savable), _META: ocp.args.JsonSave(meta)}
        )
        self._threads_before = set(threading.enumerate())
        try:
            self._manager.save(step, args=args, force=True)
        except Exception as error:
            raise self._failed(step, error) from error
        self._pending = step

    def wait(self) -> None:
        """Blocks until the last save is written, then prunes old checkpoints.

        Raises:
          CheckpointError: the last save failed (nothing was pruned).
        """
        if self._pending is None:
            return
        step, self._pending = self._pending, None
        try:
            self._manager.wait_until_finished()
            self._manager.check_for_errors()
        except Exception as error:
            raise self._failed(step, error) from error
        self._manager.reload()
        if step not in self.steps():
            raise CheckpointError(
                f"checkpoint {step} in {self.directory} was not written; the last "
                f"complete checkpoint is {self.latest_step()}"
            )
        for old in self.steps()[: -self.max_to_keep]:
            self._manager.delete(old)

    def _failed(self, step: int, error: Exception) -> CheckpointError:
        # Orbax reports a failed save as soon as one of its writer threads
        # fails; the others may still be writing into the step's temporary
        # directory, which a retry of the same step would reuse. Wait for the
        # (non-daemon) threads this save started.
        current = threading.current_thread()
        deadline = time.monotonic() + 60.0
        for thread in set(threading.enumerate()) - self._threads_before:
            # Orbax's metadata store starts its writer thread on the first
            # save and keeps it until the manager closes: waiting for it cost
            # the full minute whenever the first save failed.
            long_lived = thread.name.startswith(_ORBAX_SERVICE_THREADS)
            if thread is not current and not thread.daemon and not long_lived:
                _join_until(thread, deadline)
        self._manager.reload()
        return CheckpointError(
            f"saving checkpoint {step} in {self.directory} failed: {error}; "
            f"the last complete checkpoint is {self.latest_step()}"
        )

    def read_metadata(self, step: int) -> dict[str, Any]:
        """The metadata JSON of checkpoint `step`."""
        try:
            restored = self._manager.restore(
                step, args=ocp.args.Composite(**{_META: ocp.args.JsonRestore()})
            )
        except Exception as error:
            raise CheckpointError(
                f"checkpoint {step} in {self.directory}: unreadable metadata "
                f"({type(error).__name__}: {error})"
            ) from error
        return restored[_META]

    def _restore_step(self, step: int, abstract_state: Any) -> tuple[Any, dict]:
        """Reads checkpoint `step` exactly, or raises CheckpointError."""
        meta = self.read_metadata(step)
        target = jax.tree.map(
            lambda x: jax.eval_shape(jax.random.key_data, x) if _is_key(x) else x,
            abstract_state,
        )
        target = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(storage_shape(x.shape), x.dtype),
            target,
        )
        try:
            restored = self._manager.restore(
                step,
                args=ocp.args.Composite(**{_STATE: ocp.args.StandardRestore(target)}),
            )[_STATE]
        except Exception as error:
            raise CheckpointError(
                f"checkpoint {step} in {self.directory}: unreadable state "
                f"({type(error).__name__}: {error})"
            ) from error
        restored = jax.tree.map(np.asarray, restored)
        if digest(restored) != meta.get("digest"):
            raise CheckpointError(
                f"checkpoint {step} in {self.directory}: the arrays read back do "
                f"not match the digest written with them"
            )
        state = jax.tree.map(
            lambda data, x: (
                jax.random.wrap_key_data(
                    from_storage(data, jax.eval_shape(jax.random.key_data, x).shape),
                    impl=_key_impl(x),
                )
                if _is_key(x)
                else jax.numpy.asarray(from_storage(data, x.shape))
            ),
            restored,
            abstract_state,
        )
        return state, meta

    def check_compatible(
        self,
        step: int,
        abstract_state: Any,
        info: dict[str, Any] | None = None,
        ignore: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Raises CheckpointMismatchError if `step` belongs to another run.

        Compares the state layout, and the stored `info` (keys flattened as
        `config.learner.lr`, minus those in `ignore`) when `info` is given.
        """
        meta = self.read_metadata(step)
        lines = []
        if info is not None:
            lines = differences(meta.get("info", {}), info, ignore)
        lines += [
            f"state{line}"
            for line in differences(meta.get("layout", {}), layout(abstract_state))
        ]
        if lines:
            raise CheckpointMismatchError(
                f"checkpoint {step} in {self.directory} was written by a different "
                f"run:\n  " + "\n  ".join(lines)
            )
        return meta

    def restore(
        self,
        abstract_state: Any,
        info: dict[str, Any] | None = None,
        *,
        step: int | None = None,
        ignore: tuple[str, ...] = (),
    ) -> tuple[Any, dict[str, Any]]:
        """Restores a checkpoint into the structure of `abstract_state`.

        Args:
          abstract_state: the state's shapes and dtypes, e.g.
            `jax.eval_shape(init, key)`; typed keys come back typed.
          info: this run's description, compared with the stored one; None
            checks the layout alone.
          step: the step to read; the latest complete one by default, falling
            back to earlier ones (with a warning) past corrupt checkpoints,
            which are moved into `corrupt/`.
          ignore: flattened `info` keys allowed to differ (`config.rounds`).

        Returns:
          `(state, metadata)`.

        Raises:
          CheckpointMismatchError: the checkpoint belongs to a different run.
          CheckpointError: no checkpoint, or none readable (each one's error is
            listed).
        """
        self.wait()
        candidates = [step] if step is not None else self.steps()[::-1]
        if not candidates or (step is not None and step not in self.steps()):
            raise CheckpointError(
                f"no checkpoint {'' if step is None else step} in {self.directory} "
                f"(steps: {self.steps()})"
            )
        failures = []
        for candidate in candidates:
            try:
                self.check_compatible(candidate, abstract_state, info, ignore)
                state, meta = self._restore_step(candidate, abstract_state)
            except CheckpointMismatchError:
                raise
            except CheckpointError as error:
                failures.append(str(error))
                if step is None:
                    self._set_aside(candidate, error)
                continue
            if failures:
                logging.warning("restored checkpoint %d instead", candidate)
            return state, meta
        raise CheckpointError("no readable checkpoint:\n  " + "\n  ".join(failures))

    def _set_aside(self, step: int, error: Exception) -> None:
        # Kept for inspection, out of the way of the step being saved again.
        aside = self.directory / CORRUPT_DIR / f"{step}-{time.time_ns()}"
        aside.parent.mkdir(exist_ok=True)
        os.rename(self.directory / str(step), aside)
        logging.warning("%s; moved it to %s", error, aside)
        self._manager.reload()

    def close(self) -> None:
        """Waits for the last save (raising if it failed) and releases orbax."""
        try:
            self.wait()
        finally:
            self._manager.close()

    def __enter__(self) -> "Checkpointer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _join_until(thread: threading.Thread, deadline: float) -> None:
    """Joins `thread`, waiting until `deadline` (monotonic seconds) at most.

    `threading.enumerate` also lists threads that are still starting, and
    joining one of those raises RuntimeError; such a thread is retried until
    it has started or the deadline passes.
    """
    while True:
        try:
            thread.join(max(0.0, deadline - time.monotonic()))
            return
        except RuntimeError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)
