r"""Compounding errors: BC against DART and DAgger at equal label budgets.

Reproduces the claim of Ross et al. (2011) and Laskey et al. (2017): behavior
cloning plateaus because the learner's own mistakes take it to states the
expert never showed, DAgger (expert labels on the learner's states) reaches
near-zero falls within a few iterations, and DART with fixed noise gets close
to DAgger while the expert stays in control (and on the track) during
collection. Every arm labels the same number of states per iteration; all
seeds of an arm run as one `vmap` inside one jitted program.

    python -m experiments.compounding_error                  # both tasks
    python -m experiments.compounding_error --tasks=kart_track --seeds=8

Writes results/compounding_error/: results.json (settings, per-seed curves,
versions, hardware), results.md (the table) and one PNG per task.
"""

import dataclasses
import functools
import pathlib
import time

import jax
import numpy as np
from absl import app, flags

from benchmarks import common
from ilax import envs, experts
from ilax import metrics as metrics_lib
from ilax.algorithms import dagger, dart, interactive
from ilax.algorithms.bc import BCConfig

FLAGS = flags.FLAGS

# The quantity each task is judged by, read from the evaluation episodes, and
# whether lower is better.
_HEADLINE = {"kart_track": ("falls_per_lap", True), "cartpole": ("return", False)}
ARMS = (
    "bc",
    "dart_fixed",
    "dart_learner_error",
    "dagger_indicator",
    "dagger_exponential",
)


def arm_config(arm: str, env, **settings) -> interactive.InteractiveConfig:
    """The config of one arm; `settings` are the fields shared by all arms."""
    if arm == "bc":
        return dagger.DaggerConfig(beta_schedule="expert", **settings)
    if arm == "dagger_indicator":
        return dagger.DaggerConfig(beta_schedule="indicator", **settings)
    if arm == "dagger_exponential":
        return dagger.DaggerConfig(
            beta_schedule="exponential", beta_decay=0.5, **settings
        )
    if arm == "dart_fixed":
        # 0.12 of the action range's half-width: the calibrated kart setting
        # (0.3 rad/s), carried over to other tasks in the same proportion.
        low, high = env.action_bounds
        half_range = float(np.max(high - low)) / 2
        return dart.DartConfig(
            noise_rule="fixed", noise_std=0.12 * half_range, **settings
        )
    if arm == "dart_learner_error":
        return dart.DartConfig(noise_rule="learner_error", **settings)
    raise ValueError(f"arm must be one of {', '.join(ARMS)}; got {arm!r}")


def task_settings(
    task: str,
    env,
    *,
    iterations,
    updates_per_iteration,
    eval_envs,
    hidden_sizes=(64, 64),
):
    """Fields shared by every arm of a task: one episode of labels per iteration."""
    episode = env.unwrapped.config.episode_length
    return dict(
        learner=BCConfig(
            loss="mse", hidden_sizes=tuple(hidden_sizes), activation="tanh"
        ),
        iterations=iterations,
        num_envs=1,
        steps_per_iteration=episode,
        updates_per_iteration=updates_per_iteration,
        batch_size=256,
        eval_envs=eval_envs,
        eval_steps=episode,
    )


def run_arm(task: str, arm: str, key: jax.Array, num_seeds: int, **settings):
    """Runs `num_seeds` seeds of one arm; per-seed curves `[S, iterations]`.

    Returns a dict with `labels`, the headline metric of the learner alone
    (`learner`), the same quantity during collection (`collection`), the
    collection falls (kart only) and the compile and run seconds.
    """
    env = envs.make(task)
    expert = experts.make(env)
    config = arm_config(arm, env, **task_settings(task, env, **settings))
    if isinstance(config, dart.DartConfig):
        trainer = dart.make_trainer(config, env, expert)
    else:
        trainer = dagger.make_trainer(config, env, expert)
    run = jax.jit(jax.vmap(functools.partial(interactive.run, trainer)))
    keys = jax.random.split(key, num_seeds)
    start = time.perf_counter()
    compiled = run.lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    _, metrics = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - start
    metrics = jax.tree.map(np.asarray, metrics)
    curves = {"labels": metrics["labels/total"][0]}
    if task == "kart_track":
        # Pooled over the evaluation laps: total falls over total laps.
        curves["learner"] = metrics["eval/falls"] / metrics["eval/laps"]
        curves["collection"] = metrics["collect/falls"] / metrics["collect/laps"]
        curves["collection_falls"] = metrics["collect/falls"] * config.num_envs
    else:
        name = _HEADLINE[task][0]
        curves["learner"] = metrics[f"eval/{name}"]
        curves["collection"] = metrics[f"collect/{name}"]
    curves["nonfinite_updates"] = metrics["train/nonfinite"].sum(axis=1)
    return curves, {"compile_s": compile_s, "run_s": run_s}


def _learner_name(hidden_sizes) -> str:
    if not hidden_sizes:
        return "linear"
    return f"MLP {'x'.join(map(str, hidden_sizes))} tanh"


def _estimate(values: np.ndarray) -> str:
    return metrics_lib.format_estimate(
        metrics_lib.summarize_over_seeds(values, statistic="mean")
    )


def table_rows(task: str, results: dict) -> list[dict]:
    """One row per arm: the learner at iterations 1, 5 and last; collection."""
    headline, _ = _HEADLINE[task]
    rows = []
    for arm, curves in results.items():
        learner = curves["learner"]
        last = learner.shape[1] - 1
        row = {
            "arm": arm,
            "labels": int(curves["labels"][-1]),
            f"{headline} after iteration 1": _estimate(learner[:, 0]),
            f"after iteration {min(5, last + 1)}": _estimate(learner[:, min(4, last)]),
            f"after iteration {last + 1}": _estimate(learner[:, last]),
        }
        if "collection_falls" in curves:
            row["falls while collecting (total)"] = _estimate(
                curves["collection_falls"].sum(axis=1)
            )
        else:
            row[f"{headline} while collecting (mean)"] = _estimate(
                curves["collection"].mean(axis=1)
            )
        rows.append(row)
    return rows


def define_flags() -> None:
    """Defines the command line's flags.

    Only when run as a script: importing this module (the tests do) next to
    another script's flags must not clash in absl's global flag registry.
    """
    flags.DEFINE_list("tasks", ["kart_track", "cartpole"], "Tasks to run.")
    flags.DEFINE_integer("seeds", 5, "Seeds per arm, vmapped in one program.")
    flags.DEFINE_integer("iterations", 20, "Iterations per run.")
    flags.DEFINE_integer(
        "updates_per_iteration", 1000, "Learner updates after each aggregation."
    )
    flags.DEFINE_integer(
        "eval_envs", 10, "Episodes the learner drives alone after each refit."
    )
    flags.DEFINE_list(
        "hidden_sizes",
        ["64", "64"],
        "Hidden widths of the learner's MLP; empty (--hidden_sizes=) for a linear "
        "learner, the closest to the paper's ridge regression.",
    )
    flags.DEFINE_integer("seed", 0, "Seed of the run keys.")
    flags.DEFINE_string(
        "out_dir", str(common.ROOT / "results" / "compounding_error"), "Output folder."
    )


def main(argv):
    """Runs every arm on every task and writes the table and plots."""
    del argv
    common.setup_jax()
    info = common.environment_info()
    out = pathlib.Path(FLAGS.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = dict(
        iterations=FLAGS.iterations,
        updates_per_iteration=FLAGS.updates_per_iteration,
        eval_envs=FLAGS.eval_envs,
        hidden_sizes=tuple(int(h) for h in FLAGS.hidden_sizes),
    )
    record = {"settings": {**settings, "seeds": FLAGS.seeds}, "environment": info}
    markdown = []
    for task in FLAGS.tasks:
        key = jax.random.key(FLAGS.seed)
        results, timing = {}, {}
        for arm in ARMS:
            results[arm], timing[arm] = run_arm(
                task,
                arm,
                jax.random.fold_in(key, ARMS.index(arm)),
                FLAGS.seeds,
                **settings,
            )
            print(f"{task:10s} {arm:20s} {timing[arm]}", flush=True)
        headline, _ = _HEADLINE[task]
        env = envs.make(task)
        config = dataclasses.asdict(
            arm_config("bc", env, **task_settings(task, env, **settings))
        )
        record[task] = {
            "config": config,
            "timing": timing,
            "curves": {
                arm: {name: values.tolist() for name, values in curves.items()}
                for arm, curves in results.items()
            },
        }
        rows = table_rows(task, results)
        markdown.append(
            f"### {task}: {headline} of the learner alone\n\n"
            + metrics_lib.markdown_table(rows)
        )
        metrics_lib.plot_curves(
            {
                arm: (curves["labels"], curves["learner"])
                for arm, curves in results.items()
            },
            xlabel="expert labels",
            ylabel=f"{headline} (learner alone)",
            title=f"{task}: {FLAGS.seeds} seeds, mean and 95% CI",
            path=out / f"{task}.png",
            statistic="mean",
        )
    markdown.append(
        f"Learner: {_learner_name(settings['hidden_sizes'])}, "
        f"{FLAGS.updates_per_iteration} Adam updates per iteration; "
        f"{FLAGS.seeds} seeds per arm (mean [95% bootstrap CI]); "
        f"{common.hardware_line(info)}."
    )
    common.write_results(out, record, "\n\n".join(markdown))
    print("\n\n".join(markdown))


if __name__ == "__main__":
    define_flags()
    app.run(main)
