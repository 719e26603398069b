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

from ilax import platform as platform_lib

ROOT = pathlib.Path(__file__).resolve().parents[1]
_PACKAGES = ("jax", "jaxlib", "mujoco", "mujoco-mjx", "flax", "optax", "numpy")


def setup_jax(cache_dir: str | None = None) -> None:
    """Turns on the persistent compilation cache (re-runs skip most compiles)."""
    # absl.app turns INFO logging on; MJX logs a line per model at INFO.
    logging.set_verbosity(logging.WARNING)
    platform_lib.use_compilation_cache(
        cache_dir or os.environ.get("ILAX_JAX_CACHE", str(ROOT / ".cache" / "jax"))
    )


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
        "cpu_threads": platform_lib.cpu_threads(),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
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


def time_paired(
    programs: dict[str, Callable],
    make_args: Callable[[int], Sequence[Any]],
    *,
    min_calls: int = 5,
    max_calls: int = 50,
    min_time_s: float = 2.0,
) -> dict[str, dict[str, float]]:
    """Compiles several jitted programs, then times them in alternation.

    Calls go round by round (A, B, A, B...), so a slow spell of a shared or
    virtual machine hits every program alike, and each round gives one
    paired ratio. Rounds continue until every program ran `min_calls` times
    and the timed calls took `min_time_s` altogether, or `max_calls` rounds.

    Returns:
      Per program: `compile_s`, `run_s` (median), `run_min_s`, `calls`, and
      `ratio_to_<other>` (median over rounds of this program's speed over
      the other's, i.e. the other's time over this one's).
    """
    compiled = {}
    for name, fn in programs.items():
        start = time.perf_counter()
        compiled[name] = fn.lower(*make_args(0)).compile()
        compile_s = time.perf_counter() - start
        jax.block_until_ready(compiled[name](*make_args(0)))
        compiled[name] = (compiled[name], compile_s)
    times: dict[str, list[float]] = {name: [] for name in programs}
    total = 0.0
    for i in range(max_calls):
        args = make_args(i + 1)
        order = list(programs) if i % 2 == 0 else list(reversed(programs))
        for name in order:
            start = time.perf_counter()
            jax.block_until_ready(compiled[name][0](*args))
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        if i + 1 >= min_calls and total >= min_time_s:
            break
    result = {}
    for name in programs:
        result[name] = {
            "compile_s": compiled[name][1],
            "run_s": statistics.median(times[name]),
            "run_min_s": min(times[name]),
            "calls": len(times[name]),
        }
        for other in programs:
            if other != name:
                ratios = [b / a for a, b in zip(times[name], times[other], strict=True)]
                result[name][f"ratio_to_{other}"] = statistics.median(ratios)
    return result


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


def publish(
    name: str,
    title: str,
    record: dict[str, Any],
    table: str,
    *,
    out_dir: str | None = None,
    benchmarks_md: bool = True,
) -> None:
    """Writes `results/<name>_<backend>/`, prints the table, updates BENCHMARKS.md.

    `name` is the script's module name under `benchmarks/`; the section and
    the default results folder carry the backend, so CPU and GPU figures of
    one benchmark live side by side.
    """
    backend = record["environment"]["backend"]
    write_results(out_dir or str(ROOT / "results" / f"{name}_{backend}"), record, table)
    print("\n" + table)
    if benchmarks_md:
        update_benchmarks_md(
            f"{name}_{backend}",
            f"## {title} ({backend})\n\n`python -m benchmarks.{name}`\n\n{table}",
        )
