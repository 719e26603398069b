"""Environment throughput with XLA's CPU pool on one core against all cores.

XLA sizes its CPU thread pool once per process, so each thread count needs
its own process. This runs `benchmarks.env_throughput` in subprocesses,
alternating the thread counts round by round (1, all; all, 1; ...), so a
slow spell of the machine hits both alike, and pairs the rounds: for every
task and batch size it reports the median over rounds of the one-thread
over all-threads ratio of steps per second, and each setting's median
ilax/bare ratio (itself paired within its run).

  python -m benchmarks.thread_comparison                  # CPU defaults
  python -m benchmarks.thread_comparison --tasks=hopper --batch_sizes=1 --rounds=6

Writes results/env_throughput_cpu_threads/ and its BENCHMARKS.md section.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from absl import app, flags

import ilax.metrics
import ilax.platform
from benchmarks import common

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command line's flags, only when run as a script.

    The names are env_throughput's, and both modules may share a process.
    """
    flags.DEFINE_list("tasks", ["pendulum", "halfcheetah"], "Tasks to time.")
    flags.DEFINE_list("batch_sizes", ["1", "16"], "Batch sizes.")
    flags.DEFINE_integer("rounds", 4, "Rounds; each runs both settings.")
    flags.DEFINE_integer(
        "min_calls", 3, "Timed calls per program and run (env_throughput's)."
    )
    flags.DEFINE_string(
        "out_dir",
        str(common.ROOT / "results" / "env_throughput_cpu_threads"),
        "Results directory.",
    )
    flags.DEFINE_bool("benchmarks_md", True, "Rewrite BENCHMARKS.md's section.")


def run_env_throughput(threads: int, scratch: pathlib.Path) -> dict:
    """One env_throughput run pinned to `threads` cores; its results.json."""
    out = scratch / f"threads_{threads}"
    command = [
        sys.executable,
        "-m",
        "benchmarks.env_throughput",
        f"--tasks={','.join(FLAGS.tasks)}",
        f"--batch_sizes={','.join(FLAGS.batch_sizes)}",
        f"--min_calls={FLAGS.min_calls}",
        f"--cpu_threads={threads}",
        f"--out_dir={out}",
        "--nobenchmarks_md",
    ]
    subprocess.run(command, check=True, cwd=common.ROOT, stdout=subprocess.DEVNULL)
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
    every = ilax.platform.cpu_threads()
    if every < 2:
        raise app.UsageError(f"needs at least 2 cores to compare; this has {every}")
    info = common.environment_info()
    rounds = []
    with tempfile.TemporaryDirectory() as scratch:
        for i in range(FLAGS.rounds):
            order = (1, every) if i % 2 == 0 else (every, 1)
            runs = {t: run_env_throughput(t, pathlib.Path(scratch)) for t in order}
            rounds.append((runs[1], runs[every]))
            print(f"round {i + 1}/{FLAGS.rounds} done", flush=True)
    rows = pair_rounds(rounds)
    table = (
        f"Hardware: {common.hardware_line(info)}; commit {info['commit']}.\n\n"
        + format_table(rows, 1, every)
    )
    record = {
        "benchmark": "thread_comparison",
        "environment": info,
        "settings": {
            "tasks": FLAGS.tasks,
            "batch_sizes": [int(b) for b in FLAGS.batch_sizes],
            "rounds": FLAGS.rounds,
            "min_calls": FLAGS.min_calls,
            "threads": [1, every],
        },
        "rows": rows,
        "runs": [{"one_thread": a, "all_threads": b} for a, b in rounds],
    }
    common.write_results(FLAGS.out_dir, record, table)
    print("\n" + table)
    if FLAGS.benchmarks_md:
        section = "\n".join(
            [
                "## Environment throughput: one XLA thread or all (cpu)",
                "",
                f"`python -m benchmarks.thread_comparison`: `env_throughput` in "
                f"separate processes pinned to 1 and to {every} cores, alternating "
                f"for {FLAGS.rounds} rounds; speed-ups are medians of per-round "
                f"ratios, ilax/bare the median of each setting's paired ratios. "
                f"Files: `{os.path.relpath(FLAGS.out_dir, common.ROOT)}/`.",
                "",
                table,
            ]
        )
        common.update_benchmarks_md("env_threads_cpu", section)


if __name__ == "__main__":
    define_flags()
    app.run(main)
