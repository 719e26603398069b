"""Expert quality and demonstration collection, one jitted call per task.

For every task with an expert this collects `num_episodes` episodes in
parallel with `ilax.data.collect_trajectory` and reports the success rate and
return with 95% bootstrap intervals, the task's other episode metrics, and
collection speed (compile time apart). With `--save_demos=DIR` each task's
demonstrations are saved as a Minari-layout dataset in DIR/<task>/.

  python -m benchmarks.expert_quality                         # 1,000 episodes
  python -m benchmarks.expert_quality --settings.num_episodes=64 \
      --settings.save_demos=runs/demos
"""

import dataclasses
import pathlib

import jax
import numpy as np
from absl import app

import ilax
import ilax.experts
import ilax.experts.mppi
import ilax.metrics
from ilax import data, scripts, timing
from ilax.experts import trained
from ilax.metrics import bootstrap_ci, episode_values


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The experts, their episodes, and where demonstrations go."""

    tasks: tuple[str, ...] = ()
    """Tasks to run; empty: every task with an expert."""
    num_episodes: int = 1000
    """Episodes per task."""
    noise_std: float = 0.0
    """Gaussian noise on the executed actions (DART); labels stay clean."""
    mppi_tasks: tuple[str, ...] = ("pendulum", "cartpole")
    """Tasks also solved by the generic MPPI expert (default settings)."""
    mppi_episodes: int = 32
    """Episodes per MPPI task (planning is costly on CPU)."""
    save_demos: str = ""
    """Directory to save each task's demonstrations in; empty saves none."""


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

    program = jax.jit(
        lambda key, noise: data.collect_trajectory(
            env, expert, key, noise, num_episodes=num_episodes, max_steps=env.max_steps
        )
    )
    (trajectory, log), compile_s, run_s = timing.compile_and_run(
        program, jax.random.key(seed), noise
    )
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
    return scripts.provenance_header(info) + ilax.metrics.markdown_table(body, headers)


def main(argv):
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    scripts.setup_jax()
    info = scripts.environment_info()
    tasks = settings.tasks or ilax.experts.tasks()
    # The registry's expert of each task: analytic, or trained by ilax's PPO
    # (a shipped parameter file, experiments/train_expert.py).
    runs = [
        (
            task,
            "trained" if trained.metadata(task) else "analytic",
            settings.num_episodes,
        )
        for task in tasks
    ]
    runs += [(task, "mppi", settings.mppi_episodes) for task in settings.mppi_tasks]
    rows = []
    for task, expert_name, num_episodes in runs:
        row, env, trajectory = evaluate_expert(
            task, num_episodes, settings.seed, settings.noise_std, expert_name
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
        if settings.save_demos and expert_name != "mppi":
            dataset = data.from_trajectory(trajectory)
            path = data.save(
                dataset,
                pathlib.Path(settings.save_demos) / task,
                dataset_id=f"ilax/{task}/expert-v0",
                action_bounds=env.action_bounds,
                metadata={
                    "task": task,
                    "config": row["config"],
                    "seed": settings.seed,
                    "noise_std": settings.noise_std,
                    "commit": info["commit"],
                },
            )
            print(f"{'':12s} saved {dataset.num_episodes} episodes to {path}")
    record = {
        "benchmark": "expert_quality",
        "environment": info,
        "settings": settings,
        "rows": rows,
    }
    intro = (
        f" ({settings.num_episodes} batched episodes per task for the registry's "
        "experts (analytic, or trained by ilax's PPO) and "
        f"{settings.mppi_episodes} for the generic MPPI expert "
        "(horizon 40, 128 samples), one episode per environment, seed "
        f"{settings.seed}; success is the task's success metric at each episode's "
        "last step; 95% percentile-bootstrap intervals)."
    )
    scripts.publish(
        "expert_quality",
        "Expert quality",
        record,
        _table(rows, info),
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
        intro=intro,
        per_backend=False,
    )


if __name__ == "__main__":
    scripts.define_flags("expert_quality", Settings(), benchmark=True)
    app.run(main)
