"""Environment throughput under two CPU thread limits, side by side.

Reads the `results.json` of two `benchmarks.env_throughput` runs made with
different `--cpu_threads` and writes `comparison.md` next to them: for each
task and batch size timed in both, the steps per second of each run, the
speed-up of the first over the second (a comparison across runs) and each
run's paired ilax/bare ratio.

  python -m benchmarks.thread_comparison \
    --runs=results/env_throughput_cpu_threads/threads_1,results/env_throughput_cpu_threads/threads_2
"""

import json
import pathlib

from absl import app, flags

import ilax.metrics
from benchmarks import common

_RUNS = flags.DEFINE_list("runs", None, "Two env_throughput result folders.")
_OUT = flags.DEFINE_string(
    "out", None, "Output file; default comparison.md in the first run's parent."
)


def _threads(record: dict) -> int:
    environment = record["environment"]
    return environment.get("cpu_threads", environment["cpu_count"])


def comparison_table(first: dict, second: dict) -> str:
    """The Markdown table of two env_throughput records (see the docstring)."""
    a, b = _threads(first), _threads(second)
    by_key = {(r["task"], r["num_envs"]): r for r in second["rows"]}
    rows = []
    for row in first["rows"]:
        other = by_key.get((row["task"], row["num_envs"]))
        if other is None:
            continue
        rows.append(
            [
                row["task"],
                row["num_envs"],
                f"{row['ilax_steps_per_s']:,.0f} / {other['ilax_steps_per_s']:,.0f}",
                f"{row['bare_steps_per_s']:,.0f} / {other['bare_steps_per_s']:,.0f}",
                f"{row['ilax_steps_per_s'] / other['ilax_steps_per_s']:.2f}x",
                f"{row['ratio']:.2f} / {other['ratio']:.2f}",
            ]
        )
    headers = [
        "task",
        "envs",
        f"ilax steps/s ({a} / {b} threads)",
        f"bare steps/s ({a} / {b} threads)",
        f"ilax, {a} over {b} threads",
        f"ilax/bare ({a} / {b} threads)",
    ]
    machine = {**first["environment"], "cpu_threads": first["environment"]["cpu_count"]}
    commits = f"{first['environment']['commit']} / {second['environment']['commit']}"
    return (
        f"Hardware: {common.hardware_line(machine)}; commits {commits}.\n\n"
        + ilax.metrics.markdown_table(rows, headers)
    )


def main(argv):
    del argv
    if not _RUNS.value or len(_RUNS.value) != 2:
        raise app.UsageError(f"--runs: expected two folders; got {_RUNS.value!r}")
    first, second = (
        json.loads((pathlib.Path(run) / "results.json").read_text())
        for run in _RUNS.value
    )
    table = comparison_table(first, second)
    out = pathlib.Path(
        _OUT.value or pathlib.Path(_RUNS.value[0]).parent / "comparison.md"
    )
    out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    app.run(main)
