"""Environment throughput with XLA's CPU pool on one core against all cores.

XLA sizes its CPU thread pool once per process, so each thread count needs
its own process. This runs `benchmarks.env_throughput` in subprocesses,
alternating the thread counts round by round (1, all; all, 1; ...), so a
slow spell of the machine hits both alike, and pairs the rounds: for every
task and batch size it reports the median over rounds of the one-thread
over all-threads ratio of steps per second, and each setting's median
ilax/bare ratio (itself paired within its run).

  python -m benchmarks.thread_comparison                  # CPU defaults
  python -m benchmarks.thread_comparison --settings.tasks=hopper \
      --settings.batch_sizes=1 --settings.rounds=6

Writes results/env_throughput_cpu_threads/ and its BENCHMARKS.md section.
"""

import dataclasses
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

from absl import app

import ilax.metrics
import ilax.platform
from ilax import scripts


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """What env_throughput times in each process, and how often."""

    tasks: tuple[str, ...] = ("pendulum", "halfcheetah")
    """Tasks to time."""
    batch_sizes: tuple[int, ...] = (1, 16)
    """Batch sizes."""
    rounds: int = 4
    """Rounds; each runs both settings."""
    min_calls: int = 3
    """Timed calls per program and run (env_throughput's)."""


def run_env_throughput(settings: Settings, threads: int, scratch: pathlib.Path):
    """One env_throughput run pinned to `threads` cores; its results.json."""
    out = scratch / f"threads_{threads}"
    command = [
        sys.executable,
        "-m",
        "benchmarks.env_throughput",
        f"--settings.tasks={','.join(settings.tasks)}",
        f"--settings.batch_sizes={','.join(map(str, settings.batch_sizes))}",
        f"--settings.min_calls={settings.min_calls}",
        f"--settings.cpu_threads={threads}",
        f"--out_dir={out}",
        "--nobenchmarks_md",
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text())


def pair_rounds(rounds: list[tuple[dict, dict]]) -> list[dict]:
    """Per task and batch size, the paired summary of (few, all) run pairs.

    Each element of `rounds` holds the `results.json` records of the run
    with few threads and the run with all of them, made back to back.
    Returns rows with the medians over rounds: steps/s of each setting,
    the per-round speed-up of few over all, and each setting's ilax/bare.
    """
    by_key: dict[tuple[str, int], list[tuple[dict, dict]]] = {}
    for few, every in rounds:
        other = {(r["task"], r["num_envs"]): r for r in every["rows"]}
        for row in few["rows"]:
            key = (row["task"], row["num_envs"])
            if key in other:
                by_key.setdefault(key, []).append((row, other[key]))
    rows = []
    median = statistics.median
    for (task, num_envs), pairs in by_key.items():
        rows.append(
            {
                "task": task,
                "num_envs": num_envs,
                "rounds": len(pairs),
                "few_ilax_steps_per_s": median(
                    [a["ilax_steps_per_s"] for a, _ in pairs]
                ),
                "all_ilax_steps_per_s": median(
                    [b["ilax_steps_per_s"] for _, b in pairs]
                ),
                "speedup": median(
                    [a["ilax_steps_per_s"] / b["ilax_steps_per_s"] for a, b in pairs]
                ),
                "bare_speedup": median(
                    [a["bare_steps_per_s"] / b["bare_steps_per_s"] for a, b in pairs]
                ),
                "few_ratio": median([a["ratio"] for a, _ in pairs]),
                "all_ratio": median([b["ratio"] for _, b in pairs]),
            }
        )
    return rows


def format_table(rows: list[dict], few: int, every: int) -> str:
    """The Markdown table of `pair_rounds`'s rows."""
    headers = [
        "task",
        "envs",
        "rounds",
        f"ilax steps/s ({few} / {every} threads)",
        f"ilax, {few} over {every} threads",
        f"bare, {few} over {every} threads",
        f"ilax/bare ({few} / {every} threads)",
    ]
    body = [
        [
            row["task"],
            row["num_envs"],
            row["rounds"],
            f"{row['few_ilax_steps_per_s']:,.0f} / {row['all_ilax_steps_per_s']:,.0f}",
            f"{row['speedup']:.2f}x",
            f"{row['bare_speedup']:.2f}x",
            f"{row['few_ratio']:.2f} / {row['all_ratio']:.2f}",
        ]
        for row in rows
    ]
    return ilax.metrics.markdown_table(body, headers)


def main(argv):
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    every = ilax.platform.cpu_threads()
    if every < 2:
        raise app.UsageError(f"needs at least 2 cores to compare; this has {every}")
    info = scripts.environment_info()
    rounds = []
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(settings.rounds):
            order = (1, every) if i % 2 == 0 else (every, 1)
            runs = {
                t: run_env_throughput(settings, t, pathlib.Path(scratch)) for t in order
            }
            rounds.append((runs[1], runs[every]))
            print(f"round {i + 1}/{settings.rounds} done", flush=True)
    rows = pair_rounds(rounds)
    table = scripts.provenance_header(info) + format_table(rows, 1, every)
    record = {
        "benchmark": "thread_comparison",
        "environment": info,
        "settings": {**dataclasses.asdict(settings), "threads": [1, every]},
        "rows": rows,
        "runs": [{"one_thread": a, "all_threads": b} for a, b in rounds],
    }
    intro = (
        f": `env_throughput` in separate processes pinned to 1 and to {every} "
        f"cores, alternating for {settings.rounds} rounds; speed-ups are medians "
        "of per-round ratios, ilax/bare the median of each setting's paired ratios."
    )
    scripts.publish(
        "thread_comparison",
        "Environment throughput: one XLA thread or all (cpu)",
        record,
        table,
        out_dir=out_dir or pathlib.Path("results/env_throughput_cpu_threads"),
        benchmarks_md=benchmarks_md,
        intro=intro,
        per_backend=False,
        section="env_threads_cpu",
    )


if __name__ == "__main__":
    scripts.define_flags("thread_comparison", Settings(), benchmark=True)
    app.run(main)
