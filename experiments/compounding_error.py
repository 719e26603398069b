r"""Compounding errors: BC against DART and DAgger at equal label budgets.

Reproduces the claim of Ross et al. (2011) and Laskey et al. (2017): behavior
cloning plateaus because the learner's own mistakes take it to states the
expert never showed, DAgger (expert labels on the learner's states) reaches
near-zero falls within a few iterations, and DART with fixed noise gets close
to DAgger while the expert stays in control (and on the track) during
collection. Every arm starts from the same number of expert labels (one
episode of demonstrations) and labels as many states after every refit; all
seeds of an arm run as one `vmap` inside one jitted program.

    python -m experiments.compounding_error                  # both tasks
    python -m experiments.compounding_error --settings.tasks=kart_track \
        --settings.seeds=8
    python -m experiments.compounding_error --settings.tasks=kart_track \
        --settings.hidden_sizes= --out_dir=results/compounding_error_linear

Writes results/compounding_error/: results.json (settings, per-seed curves,
versions, hardware), results.md and results.tex (the tables) and one PNG per
task.
"""

import dataclasses

import jax
import numpy as np
from absl import app

from ilax import envs, experts, scripts
from ilax import metrics as metrics_lib
from ilax.algorithms import bc, dagger, dart, registry
from ilax.training import interactive, seeds


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The tasks and the budget every arm shares."""

    seeds: int = 5
    """Seeds per arm, vmapped in one program."""
    tasks: tuple[str, ...] = ("kart_track", "cartpole")
    """Tasks to run (each judged by its headline metric)."""
    iterations: int = 20
    """Refits per run, each followed by one episode of labels."""
    updates_per_iteration: int = 1000
    """Learner updates of each refit."""
    eval_envs: int = 10
    """Episodes the learner drives alone after each refit."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden widths of the learner's MLP; empty (`--settings.hidden_sizes=`)
    for a linear learner, the closest to the paper's ridge regression."""


# The quantity each task is judged by, read from the evaluation episodes, and
# whether lower is better.
HEADLINE = {"kart_track": ("falls_per_lap", True), "cartpole": ("return", False)}


def arms(env, settings: Settings) -> dict[str, interactive.InteractiveConfig]:
    """The arms on `env`, as the configs they run: one episode per iteration."""
    episode = env.unwrapped.config.episode_length
    shared = dict(
        learner=bc.BCConfig(
            loss="mse", hidden_sizes=tuple(settings.hidden_sizes), activation="tanh"
        ),
        iterations=settings.iterations,
        num_envs=1,
        steps_per_iteration=episode,
        updates_per_iteration=settings.updates_per_iteration,
        batch_size=256,
        eval_envs=settings.eval_envs,
        eval_steps=episode,
    )
    # DART's fixed noise: 0.12 of the action range's half-width, the
    # calibrated kart setting (0.3 rad/s), carried over to other tasks in the
    # same proportion.
    low, high = env.action_bounds
    fixed_std = 0.12 * float(np.max(high - low)) / 2
    return {
        "bc": dagger.DaggerConfig(beta_schedule="expert", **shared),
        "dart_fixed": dart.DartConfig(
            noise_rule="fixed", noise_std=fixed_std, **shared
        ),
        "dart_learner_error": dart.DartConfig(noise_rule="learner_error", **shared),
        "dagger_indicator": dagger.DaggerConfig(beta_schedule="indicator", **shared),
        "dagger_exponential": dagger.DaggerConfig(
            beta_schedule="exponential", beta_decay=0.5, **shared
        ),
    }


def run_arm(task: str, config, keys: jax.Array) -> tuple[dict, dict]:
    """Every seed of one arm; per-seed curves `[S, iterations]` and timing.

    The curves: `labels` (the labels each refit trained on), the headline
    metric of the learner alone (`learner`) and during the collection after
    the refit (`collection`), the collection's falls (kart only) and the
    skipped updates.
    """
    env = envs.make(task)
    trainer = registry.of_config(config).make_trainer(config, env, experts.make(env))
    runs = seeds.run_seeds(trainer, keys)
    metrics = jax.tree.map(np.asarray, runs.metrics)
    curves = {"labels": metrics["labels/total"][0]}
    if task == "kart_track":
        # Pooled over the evaluation laps: total falls over total laps.
        curves["learner"] = metrics["eval/falls"] / metrics["eval/laps"]
        curves["collection"] = metrics["collect/falls"] / metrics["collect/laps"]
        curves["collection_falls"] = metrics["collect/falls"] * config.num_envs
    else:
        name = HEADLINE[task][0]
        curves["learner"] = metrics[f"eval/{name}"]
        curves["collection"] = metrics[f"collect/{name}"]
    curves["nonfinite_updates"] = metrics["train/nonfinite"].sum(axis=1)
    return curves, {"compile_s": runs.compile_s, "run_s": runs.run_s}


def table_rows(task: str, results: dict) -> list[dict]:
    """One row per arm: the learner after refits 1, 5 and the last; collection."""
    headline, _ = HEADLINE[task]
    rows = []
    for arm, curves in results.items():
        learner = curves["learner"]
        last = learner.shape[1] - 1
        row = {
            "arm": arm,
            "labels": int(curves["labels"][-1]),
            f"{headline} after iteration 1": seed_mean(learner[:, 0]),
            f"after iteration {min(5, last + 1)}": seed_mean(learner[:, min(4, last)]),
            f"after iteration {last + 1}": seed_mean(learner[:, last]),
        }
        if "collection_falls" in curves:
            row["falls while collecting (total)"] = seed_mean(
                curves["collection_falls"].sum(axis=1)
            )
        else:
            row[f"{headline} while collecting (mean)"] = seed_mean(
                curves["collection"].mean(axis=1)
            )
        rows.append(row)
    return rows


def seed_mean(values: np.ndarray) -> metrics_lib.Estimate:
    """The mean over seeds with its 95% bootstrap interval."""
    return metrics_lib.summarize_over_seeds(values, statistic="mean")


def main(argv):
    """Runs every arm on every task; writes the tables and the plots."""
    del argv
    settings, out, _ = scripts.parsed()
    scripts.check_choices(settings, "tasks", list(HEADLINE))
    scripts.setup_jax()
    info = scripts.environment_info()
    record = {"settings": settings, "environment": info}
    tables = {}
    for task in settings.tasks:
        env = envs.make(task)
        configs = arms(env, settings)
        key = jax.random.key(settings.seed)
        results, timing = {}, {}
        for index, (arm, config) in enumerate(configs.items()):
            keys = jax.random.split(jax.random.fold_in(key, index), settings.seeds)
            results[arm], timing[arm] = run_arm(task, config, keys)
            print(f"{task:10s} {arm:20s} {timing[arm]}", flush=True)
        record[task] = {"configs": configs, "timing": timing, "curves": results}
        headline, _ = HEADLINE[task]
        tables[f"{task}: {headline} of the learner alone"] = table_rows(task, results)
        metrics_lib.plot_curves(
            {arm: (c["labels"], c["learner"]) for arm, c in results.items()},
            xlabel="expert labels",
            ylabel=f"{headline} (learner alone)",
            title=f"{task}: {settings.seeds} seeds, mean and 95% CI",
            path=out / f"{task}.png",
            statistic="mean",
        )
    widths = "x".join(map(str, settings.hidden_sizes))
    learner = f"MLP {widths} tanh" if settings.hidden_sizes else "linear"
    markdown = "\n\n".join(
        [
            f"### {caption}\n\n" + metrics_lib.markdown_table(rows)
            for caption, rows in tables.items()
        ]
        + [
            f"Learner: {learner}, {settings.updates_per_iteration} Adam updates per "
            f"iteration; {settings.seeds} seeds per arm (mean [95% bootstrap CI]); "
            f"{scripts.hardware_line(info)}."
        ]
    )
    scripts.write(out, record, markdown, tables=tables)
    print(markdown)


if __name__ == "__main__":
    scripts.define_flags("compounding_error", Settings())
    app.run(main)
