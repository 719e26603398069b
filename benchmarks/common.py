"""Shared plumbing of the benchmark scripts: timing, provenance, result files.

Every benchmark reports compile time apart from run time, records the
hardware and software it ran on, and writes `results/<name>/` (JSON and a
Markdown table) plus its section of BENCHMARKS.md.
"""

import datetime
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import jax
from absl import logging

ROOT = pathlib.Path(__file__).resolve().parents[1]
_PACKAGES = ("jax", "jaxlib", "mujoco", "mujoco-mjx", "flax", "optax", "numpy")


def setup_jax(cache_dir: str | None = None) -> None:
    """Turns on the persistent compilation cache (re-runs skip most compiles)."""
    # absl.app turns INFO logging on; MJX logs a line per model at INFO.
    logging.set_verbosity(logging.WARNING)
    cache = cache_dir or os.environ.get("ILAX_JAX_CACHE", str(ROOT / ".cache" / "jax"))
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def _cpu_model() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    match = re.search(r"model name\s*:\s*(.+)", text)
    return match.group(1).strip() if match else "unknown"


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment_info() -> dict[str, Any]:
    """Where and with what a benchmark ran: device, CPU, versions, commit."""
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
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "versions": versions,
        "commit": _git_commit(),
    }


def hardware_line(info: dict[str, Any]) -> str:
    """A one-line description of the machine for tables."""
    if info["backend"] == "cpu":
        cores = info["cpu_count"]
        return f"CPU: {info['cpu']} ({cores} cores), jax {info['versions']['jax']}"
    return (
        f"{info['backend'].upper()}: {info['device']} x{info['device_count']}, "
        f"host CPU {info['cpu']}, jax {info['versions']['jax']}"
    )


def time_jitted(
    fn: Callable,
    make_args: Callable[[int], Sequence[Any]],
    repeats: int,
    budget_s: float = float("inf"),
) -> dict[str, float]:
    """Compiles `fn` once, then times fresh calls.

    Args:
      fn: a jitted function.
      make_args: `i -> args` for call i (i = 0 is the compile and warm-up
        call), e.g. new keys each call so nothing is cached.
      repeats: timed calls after the warm-up, at most.
      budget_s: stop once the timed calls took this long (at least one runs).

    Returns:
      `compile_s` (lowering plus compilation), `run_s` (median of the timed
      calls), `run_min_s` and `calls`.
    """
    start = time.perf_counter()
    compiled = fn.lower(*make_args(0)).compile()
    compile_s = time.perf_counter() - start
    jax.block_until_ready(compiled(*make_args(0)))
    times = []
    for i in range(repeats):
        args = make_args(i + 1)
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
        if sum(times) > budget_s:
            break
    return {
        "compile_s": compile_s,
        "run_s": statistics.median(times),
        "run_min_s": min(times),
        "calls": len(times),
    }


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(
    out_dir: str | os.PathLike, record: dict[str, Any], table: str
) -> None:
    """Writes `results.json` and `results.md` into `out_dir`."""
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / "results.md").write_text(table + "\n")


def update_benchmarks_md(
    section: str, body: str, path: pathlib.Path | None = None
) -> None:
    """Replaces (or appends) one section of BENCHMARKS.md.

    A section runs from `<!-- begin: {section} -->` to `<!-- end: {section} -->`,
    so each benchmark rewrites only its own figures.
    """
    path = path or ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- begin: {section} -->", f"<!-- end: {section} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
