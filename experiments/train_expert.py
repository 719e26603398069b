r"""Trains an expert with ilax's own PPO (or TRPO) and ships its parameters.

    python -m experiments.train_expert --settings.task=gym/Pendulum-v1
    python -m experiments.train_expert --settings.task=gym/InvertedPendulum-v5 \
        --settings.iterations=150

S seeds train in one vmapped program; each seed's deterministic policy is
scored on `eval_episodes` whole episodes and the best seed is kept. Its
parameters go to ilax/experts/params/<task>.npz with a JSON beside it (the
task, the algorithm, the full train config, this command, the commit, and
the kept seed's return: mean and 95% bootstrap interval, with every seed's
mean), which `ilax.experts.make(env)` then loads. Also writes
<out_dir>/<task>/ (by default results/train_expert/; the JSON and a Markdown
line for BENCHMARKS.md).
"""

import dataclasses
import pathlib
import sys

import jax
import numpy as np
from absl import app

from ilax import envs, scripts
from ilax import metrics as metrics_lib
from ilax.algorithms import registry
from ilax.experts import trained
from ilax.scripts import results
from ilax.training import evaluation, run_state, seeds


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The task, the learner and its budget."""

    task: str = "gym/Pendulum-v1"
    """The task to train an expert for."""
    algo: str = "ppo"
    """A reinforcement learner: ppo or trpo."""
    seeds: int = 4
    """Seeds trained together; the best is kept."""
    iterations: int = 200
    """Iterations per seed."""
    num_envs: int = 64
    """Environments per iteration."""
    unroll_length: int = 64
    """Steps per environment per iteration."""
    gamma: float = 0.99
    """The learner's discount."""
    eval_episodes: int = 100
    """Whole episodes each seed's deterministic policy is scored on."""
    params_dir: str = ""
    """Where the parameters go; empty: the package's ilax/experts/params."""


def train_config(settings: Settings):
    """The learner's default train config with the settings' budget."""
    algorithm = registry.get(settings.algo)
    if algorithm.needs_expert:
        raise ValueError(
            f"Settings.algo must be a reinforcement learner (ppo or trpo); got "
            f"{settings.algo!r}"
        )
    config = algorithm.default_config()
    return dataclasses.replace(
        config,
        iterations=settings.iterations,
        num_envs=settings.num_envs,
        unroll_length=settings.unroll_length,
        learner=dataclasses.replace(config.learner, gamma=settings.gamma),
    )


def main(argv):
    """Trains, scores, keeps the best seed, writes the expert's files."""
    del argv
    settings, out_dir, _ = scripts.parsed()
    scripts.setup_jax()
    info = scripts.environment_info()
    env = envs.make(settings.task)
    config = train_config(settings)
    trainer = registry.get(settings.algo).make_trainer(config, env, None)
    keys = jax.random.split(jax.random.key(settings.seed), settings.seeds)
    runs = seeds.run_seeds(trainer, keys)
    print(
        f"trained {settings.seeds} seeds: compile {runs.compile_s:.1f} s, "
        f"run {runs.run_s:.1f} s",
        flush=True,
    )

    def score(state, key):
        _, log = evaluation.one_episode_each(
            env, trainer.policy(state), key, settings.eval_episodes
        )
        return metrics_lib.first_episode(log)["return"]

    # Every seed is chosen on the same starts; the kept one is then scored on
    # fresh starts, so its reported return is not the maximum of S noisy ones.
    select_key = jax.random.key(settings.seed + 1)
    selection = jax.jit(jax.vmap(score, in_axes=(0, None)))(runs.state, select_key)
    means = np.asarray(selection).mean(axis=1)
    best = int(np.argmax(means))
    state = jax.tree.map(lambda x: x[best], runs.state)
    kept = np.asarray(jax.jit(score)(state, jax.random.key(settings.seed + 2)))
    _, low, high = metrics_lib.bootstrap_ci(kept)
    meta = {
        "task": settings.task,
        "algo": settings.algo,
        "config": run_state.info_json(config),
        # The task's config as built, its physics backend ("impl") resolved.
        "env_config": run_state.info_json(env.unwrapped.config),
        "command": " ".join(["python -m experiments.train_expert", *sys.argv[1:]]),
        "commit": info["commit"],
        "hardware": scripts.hardware_line(info),
        "train_s": {"compile": runs.compile_s, "run": runs.run_s},
        "env_steps": settings.iterations * settings.num_envs * settings.unroll_length,
        "eval_episodes": settings.eval_episodes,
        "return_mean": float(kept.mean()),
        "return_ci95": [float(low), float(high)],
        "seed_return_means": [float(m) for m in means],  # on the selection starts
        "kept_seed": best,
    }
    directory = (
        pathlib.Path(settings.params_dir)
        if settings.params_dir
        else trained.params_dir()
    )
    path = trained.save(directory, state.train_state, meta)
    print(
        f"{settings.task}: return {kept.mean():.1f} [{low:.1f}, {high:.1f}] "
        f"(seeds {np.round(means, 1).tolist()}); wrote {path}",
        flush=True,
    )
    line = (
        f"| `{settings.task}` | {settings.algo} | {meta['env_steps']:,} | "
        f"{kept.mean():.1f} [{low:.1f}, {high:.1f}] | "
        f"{', '.join(f'{m:.1f}' for m in means)} |"
    )
    stem = trained.file_stem(settings.task)
    results.write((out_dir or pathlib.Path("results/train_expert")) / stem, meta, line)


if __name__ == "__main__":
    scripts.define_flags("train_expert", Settings())
    app.run(main)
