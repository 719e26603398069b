"""Process-level settings that must be in place before JAX starts its backend.

XLA's CPU backend (jaxlib 0.10) can deadlock running MJX programs at some
batch sizes (halfcheetah with 1,000 to 4,096 environments hung with every
thread idle, reproduced again with jaxlib 0.10.2); its default,
concurrency-optimized scheduler is the culprit, and turning it off fixed
every case we tried. The flag selects the memory-optimized scheduler (in
jaxlib 0.10.2 it compiles the same programs as
`--xla_cpu_scheduler_type=CPU_SCHEDULER_TYPE_MEMORY_OPTIMIZED`, which older
jaxlibs in our range may not know; XLA marks the old flag deprecated). Entry
points (the tests, benchmarks and command lines) call `use_safe_cpu_flags()`
first; the library itself never changes the process environment on import.

Small programs on a few cores are another matter: with one environment,
handing XLA's tiny operations to a second thread costs more than it saves,
and `limit_cpu_threads(1)` makes batch-1 rollouts faster
(`results/env_throughput_cpu_threads/`).

Every command line, benchmark and experiment keeps JAX's persistent
compilation cache in one per-user folder (`use_compilation_cache`), so a
second run of any command compiles (almost) nothing.
"""

import os
import tempfile

import jax  # importing does not start the backend; XLA_FLAGS is read then
from absl import logging
from jax._src import xla_bridge

CPU_XLA_FLAGS = ("--xla_cpu_enable_concurrency_optimized_scheduler=false",)


def use_safe_cpu_flags() -> None:
    """Adds `CPU_XLA_FLAGS` to the `XLA_FLAGS` environment variable.

    Only effective before JAX initializes its backend (the first computation
    or device query); flags already set by the user are kept.
    """
    flags = os.environ.get("XLA_FLAGS", "").split()
    for flag in CPU_XLA_FLAGS:
        name = flag.split("=")[0]
        if not any(f.split("=")[0] == name for f in flags):
            flags.append(flag)
    os.environ["XLA_FLAGS"] = " ".join(flags)


CACHE_ENV = "ILAX_JAX_CACHE"
_CACHE_OFF = ("", "0", "off", "false", "none")
_warned_unwritable: set[str] = set()


def default_cache_dir() -> str | None:
    """The compilation cache folder: `$ILAX_JAX_CACHE`, else a per-user one.

    `ILAX_JAX_CACHE=off` (or empty, `0`, `false`, `none`) turns the cache
    off (None). The per-user folder is `$XDG_CACHE_HOME/ilax/jax`, else
    `~/.cache/ilax/jax`, shared by every checkout and working directory.
    """
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in _CACHE_OFF else chosen
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return os.path.join(base, "ilax", "jax")


def _writable(folder: str) -> str | None:
    """None if `folder` can be created and written to, else why not."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None


def use_compilation_cache(cache_dir: str | None = None) -> str | None:
    """Turns on JAX's persistent compilation cache (re-runs skip most compiles).

    The folder is `cache_dir`, else `default_cache_dir()` (`$ILAX_JAX_CACHE`,
    else `~/.cache/ilax/jax`). Programs that compile in under a second are
    not cached. A folder that cannot be written is warned about once and the
    run goes on without the cache; a corrupt entry is recompiled (JAX warns).

    Returns:
      The folder in use, or None when the cache is off.
    """
    folder = cache_dir or default_cache_dir()
    if folder is None:
        return None
    problem = _writable(folder)
    if problem is not None:
        if folder not in _warned_unwritable:
            _warned_unwritable.add(folder)
            logging.warning(
                "compilation cache %s is not writable (%s); running without it "
                "(set %s to another folder, or to 'off')",
                folder,
                problem,
                CACHE_ENV,
            )
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    return folder


def limit_cpu_threads(num_threads: int) -> None:
    """Runs this process, and so XLA's CPU thread pool, on `num_threads` cores.

    XLA sizes its CPU thread pool by the process's CPU affinity when the
    backend starts, so this pins the process to the first `num_threads` of
    the cores it may use and must come before the first computation. Small
    programs (one environment, one action) run faster on one thread: handing
    tiny operations to a second thread costs more than it saves.

    Raises:
      ValueError: `num_threads` outside 1..(cores this process may use).
      RuntimeError: JAX's backend has already started, or the platform
        cannot pin a process (no `os.sched_setaffinity`, e.g. macOS).
    """
    if not hasattr(os, "sched_setaffinity"):
        raise RuntimeError(
            "cpu_threads: this platform cannot pin a process to cores "
            "(os.sched_setaffinity is missing); use the OS's own tools"
        )
    allowed = sorted(os.sched_getaffinity(0))
    if not 1 <= num_threads <= len(allowed):
        raise ValueError(
            f"cpu_threads: expected 1 to {len(allowed)} (the cores this process "
            f"may use), got {num_threads}"
        )
    started = getattr(xla_bridge, "backends_are_initialized", None)
    if started is not None and started():
        raise RuntimeError(
            "cpu_threads: JAX's backend has already started, so its thread pool "
            "is sized; limit the threads before the first computation"
        )
    os.sched_setaffinity(0, allowed[:num_threads])


def cpu_threads() -> int:
    """The number of cores this process may run on (XLA's CPU pool size).

    Where the platform has no CPU affinity (macOS), every core.
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
