"""Expert quality and demonstration collection, one jitted call per task.

For every task with an expert this collects `num_episodes` episodes in
parallel with `ilax.data.collect_trajectory` and reports the success rate and
return with 95% bootstrap intervals, the task's other episode metrics, and
collection speed (compile time apart). With `--save_demos=DIR` each task's
demonstrations are saved as a Minari-layout dataset in DIR/<task>/.

  python -m benchmarks.expert_quality                         # 1,000 episodes
  python -m benchmarks.expert_quality --num_episodes=64 --save_demos=runs/demos
"""

import os
import pathlib
import time

import jax
import numpy as np
from absl import app, flags

import ilax
import ilax.experts
import ilax.experts.mppi
import ilax.metrics
from benchmarks import common
from ilax import data
from ilax.metrics import bootstrap_ci, episode_values

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command line's flags, only when run as a script.

    Benchmark modules share flag names, and tests import several into one
    process: flags defined at import would clash.
    """
    flags.DEFINE_list("tasks", None, "Tasks to run; default: all with an expert.")
    flags.DEFINE_integer("num_episodes", 1000, "Episodes per task.")
    flags.DEFINE_integer("seed", 0, "Seed of the episodes' keys.")
    flags.DEFINE_float(
        "noise_std",
        0.0,
        "Gaussian noise on the executed actions (DART); labels stay clean.",
    )
    flags.DEFINE_list(
        "mppi_tasks",
        ["pendulum", "cartpole"],
        "Tasks also solved by the generic MPPI expert (default settings).",
    )
    flags.DEFINE_integer(
        "mppi_episodes", 32, "Episodes per MPPI task (planning is costly on CPU)."
    )
    flags.DEFINE_string(
        "save_demos", None, "Directory to save each task's demonstrations in."
    )
    flags.DEFINE_string(
        "out_dir", None, "Results directory; default results/expert_quality."
    )
    flags.DEFINE_bool("benchmarks_md", True, "Rewrite BENCHMARKS.md's section.")


_SKIPPED_METRICS = ("success", "nan")


def _interval(values: np.ndarray) -> str:
    mean, low, high = bootstrap_ci(values)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def _other_metrics(values: dict[str, np.ndarray]) -> dict[str, float]:
    """Means of the task's own metrics; `side` becomes the fraction going left."""
    other = {}
    for name, array in values.items():
        if name in ("return", "length", *_SKIPPED_METRICS):
            continue
        if name == "side":
            other["left_fraction"] = float(np.mean(array < 0))
        else:
            other[name] = float(np.mean(array))
    return other


def evaluate_expert(
    task: str, num_episodes: int, seed: int, noise_std: float, expert_name: str
):
    """Collects the episodes of one task; returns its result row and dataset."""
    env = ilax.envs.make(task)
    if expert_name == "mppi":
        expert = ilax.experts.mppi.make_mppi(env)
    else:
        expert = ilax.experts.make(env)
    noise = np.float32(noise_std)

    def call(i):
        return (env, expert, jax.random.key(seed + i), noise)

    compiled_start = time.perf_counter()
    program = data.collect_trajectory.lower(
        *call(0), num_episodes=num_episodes, max_steps=env.max_steps
    ).compile()
    compile_s = time.perf_counter() - compiled_start
    run_start = time.perf_counter()
    trajectory, log = jax.block_until_ready(program(*call(0)[2:]))
    run_s = time.perf_counter() - run_start
    values = episode_values(log)
    success = values.get("success")
    row = {
        "task": task,
        "expert": expert_name,
        "num_episodes": int(values["return"].size),
        "episode_length": env.max_steps,
        "success": None if success is None else bootstrap_ci(success),
        "return": bootstrap_ci(values["return"]),
        "length": float(np.mean(values["length"])),
        "nan_episodes": int(np.sum(values.get("nan", 0.0))),
        "other": _other_metrics(values),
        "compile_s": compile_s,
        "run_s": run_s,
        "steps_per_s": num_episodes * env.max_steps / run_s,
        "config": {k: v for k, v in vars(env.config).items()},
    }
    return row, env, trajectory


def _table(rows, info) -> str:
    headers = [
        "task",
        "expert",
        "episodes",
        "success [95% CI]",
        "return [95% CI]",
        "length",
        "other metrics",
        "steps/s",
        "compile (s)",
    ]
    body = []
    for row in rows:
        success = (
            "n/a"
            if row["success"] is None
            else "{:.3f} [{:.3f}, {:.3f}]".format(*row["success"])
        )
        other = ", ".join(f"{k}={v:.3f}" for k, v in row["other"].items())
        body.append(
            [
                row["task"],
                row["expert"],
                row["num_episodes"],
                success,
                "{:.1f} [{:.1f}, {:.1f}]".format(*row["return"]),
                f"{row['length']:.0f}",
                other or "-",
                f"{row['steps_per_s']:,.0f}",
                f"{row['compile_s']:.1f}",
            ]
        )
    return (
        f"Hardware: {common.hardware_line(info)}; commit {info['commit']}.\n\n"
        + ilax.metrics.markdown_table(body, headers)
    )


def main(argv):
    del argv
    common.setup_jax()
    info = common.environment_info()
    tasks = FLAGS.tasks or ilax.experts.tasks()
    runs = [(task, "analytic", FLAGS.num_episodes) for task in tasks]
    runs += [(task, "mppi", FLAGS.mppi_episodes) for task in FLAGS.mppi_tasks]
    rows = []
    for task, expert_name, num_episodes in runs:
        row, env, trajectory = evaluate_expert(
            task, num_episodes, FLAGS.seed, FLAGS.noise_std, expert_name
        )
        rows.append(row)
        success = "n/a" if row["success"] is None else f"{row['success'][0]:.3f}"
        print(
            f"{task:12s} {expert_name:8s} success {success} "
            f"return {row['return'][0]:9.2f} "
            f"({row['num_episodes']} episodes, {row['steps_per_s']:,.0f} steps/s, "
            f"compile {row['compile_s']:.1f}s)",
            flush=True,
        )
        if FLAGS.save_demos and expert_name == "analytic":
            dataset = data.from_trajectory(trajectory)
            path = data.save(
                dataset,
                pathlib.Path(FLAGS.save_demos) / task,
                dataset_id=f"ilax/{task}/expert-v0",
                action_bounds=env.action_bounds,
                metadata={
                    "task": task,
                    "config": row["config"],
                    "seed": FLAGS.seed,
                    "noise_std": FLAGS.noise_std,
                    "commit": info["commit"],
                },
            )
            print(f"{'':12s} saved {dataset.num_episodes} episodes to {path}")
    table = _table(rows, info)
    record = {
        "benchmark": "expert_quality",
        "environment": info,
        "settings": {
            "num_episodes": FLAGS.num_episodes,
            "mppi_episodes": FLAGS.mppi_episodes,
            "seed": FLAGS.seed,
            "noise_std": FLAGS.noise_std,
        },
        "rows": rows,
    }
    out_dir = FLAGS.out_dir or str(common.ROOT / "results" / "expert_quality")
    common.write_results(out_dir, record, table)
    print("\n" + table)
    if FLAGS.benchmarks_md:
        section = (
            "## Expert quality\n\n"
            f"`python -m benchmarks.expert_quality` ({FLAGS.num_episodes} batched "
            f"episodes per task for the analytic experts and {FLAGS.mppi_episodes} "
            f"for the generic MPPI expert (horizon 40, 128 samples), one episode "
            f"per environment, seed {FLAGS.seed}; "
            f"success is the task's success metric at each episode's last step; "
            f"95% percentile-bootstrap intervals). Files: "
            f"`{os.path.relpath(out_dir, common.ROOT)}/`.\n\n" + table
        )
        common.update_benchmarks_md("expert_quality", section)


if __name__ == "__main__":
    define_flags()
    app.run(main)
