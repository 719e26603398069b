"""Where and with what a script ran: JAX's setup, the machine, the versions.

Every result file records `environment_info()`, and every table names its
hardware with `hardware_line`, so a figure copied out of results/ carries the
machine it came from.
"""

import datetime
import os
import pathlib
import platform
import re
import subprocess
from importlib import metadata
from typing import Any

import jax
from absl import logging

from ilax import platform as platform_lib

_PACKAGES = ("jax", "jaxlib", "mujoco", "mujoco-mjx", "flax", "optax", "numpy")


def setup_jax(cache_dir: str | None = None) -> str | None:
    """Quiets INFO logs and turns on the persistent compilation cache.

    The cache is `cache_dir`, else `ilax.platform.default_cache_dir()`
    (`$ILAX_JAX_CACHE`, else `~/.cache/ilax/jax`); re-runs of a script then
    skip most compiles. Returns the folder in use (None: the cache is off).
    """
    # absl.app turns INFO logging on; MJX logs a line per model at INFO.
    logging.set_verbosity(logging.WARNING)
    return platform_lib.use_compilation_cache(cache_dir)


def _cpu_model() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"model name\s*:\s*(.+)", text)
    return match.group(1).strip() if match else "unknown"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def _git_commit() -> str:
    """The short commit, with `+dirty` if tracked files differ from it.

    A figure made from uncommitted code then says so, rather than naming a
    commit that did not produce it.
    """
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if changed else commit


def environment_info() -> dict[str, Any]:
    """Device, CPU, thread limit, precision, XLA flags, cache, versions, commit."""
    device = jax.devices()[0]
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "backend": jax.default_backend(),
        "device": device.device_kind,
        "device_count": jax.device_count(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": platform_lib.cpu_threads(),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        # Compile times depend on it: a warm cache compiles almost nothing.
        "compilation_cache": jax.config.jax_compilation_cache_dir,
        "versions": versions,
        "commit": _git_commit(),
    }


def hardware_line(info: dict[str, Any]) -> str:
    """A one-line description of the machine for tables."""
    if info["backend"] == "cpu":
        cores = info["cpu_count"]
        threads = info.get("cpu_threads", cores)
        pinned = f", XLA on {threads} of them" if threads < cores else ""
        return (
            f"CPU: {info['cpu']} ({cores} cores{pinned}), jax {info['versions']['jax']}"
        )
    return (
        f"{info['backend'].upper()}: {info['device']} x{info['device_count']}, "
        f"host CPU {info['cpu']}, jax {info['versions']['jax']}"
    )


def provenance_header(info: dict[str, Any]) -> str:
    """The line a results table starts with: the machine and the commit."""
    return f"Hardware: {hardware_line(info)}; commit {info['commit']}.\n\n"
