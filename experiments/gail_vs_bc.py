r"""GAIL against behavior cloning as expert trajectories get scarce.

Reproduces the claim of Ho & Ermon (2016, Fig. 1): with expert trajectories
subsampled (every `subsample`-th transition kept), GAIL reaches the expert's
return from a handful of trajectories, where behavior cloning on the same
transitions falls short. Arms, all seeds of one vmapped in one program:

- `bc`: the paper's network (2 x 100 tanh), Adam 1e-3, batch 128, a 70/30
  split and early stopping on the held-out action error;
- `gail` (TRPO policy steps, the paper's arm) and `gail_ppo` (PPO's);
- `airl` (Fu et al.: TRPO policy steps, a state-only reward and a shaping
  potential; `airl_ppo` with PPO's, not run by default), the same policy
  networks and budget as GAIL's;
- `dagger`: queries the expert at every visited state, an upper reference
  independent of the trajectory count.

The score is the normalized return (R - R_random) / (R_expert - R_random)
over `eval_episodes` whole episodes (the same starts for every policy), IQM
over seeds with a 95% bootstrap interval.

    python -m experiments.gail_vs_bc                      # gym/Pendulum-v1
    python -m experiments.gail_vs_bc --settings.seeds=2 --settings.trajectories=1,4

The discriminator carries a gradient penalty (`gradient_penalty`, 10 by
default; 0 is the paper's): without it, a few expert transitions are
separated too well and GAIL stalls (tests/algorithms/gail/).

Writes results/gail_vs_bc/: results.json, results.md, results.tex and a PNG
per task.
"""

import dataclasses

import jax
import numpy as np
from absl import app

from ilax import data as data_lib
from ilax import envs, experts, policies, scripts
from ilax import metrics as metrics_lib
from ilax.algorithms import bc, dagger, registry
from ilax.algorithms.gail import adversarial
from ilax.training import evaluation, seeds, updates
from ilax.types import Batch


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The tasks, the trajectory counts and every arm's budget."""

    seeds: int = 5
    """Seeds per arm and count, vmapped in one program."""
    tasks: tuple[str, ...] = ("gym/Pendulum-v1",)
    """Tasks with an expert."""
    trajectories: tuple[int, ...] = (1, 4, 7, 10)
    """Expert trajectories per run."""
    subsample: int = 10
    """Every subsample-th expert transition is kept (from a random offset)."""
    arms: tuple[str, ...] = ("bc", "gail", "gail_ppo", "airl", "dagger")
    """The arms run: bc, dagger, gail, gail_ppo, airl, airl_ppo."""
    gail_iterations: int = 300
    """Iterations of every adversarial arm (64 x 64 environment steps each)."""
    gradient_penalty: float = 10.0
    """The discriminator's gradient penalty; 0 is the paper's setting."""
    bc_updates: int = 5000
    """BC's Adam updates; the best held-out check is kept."""
    dagger_iterations: int = 10
    """DAgger's refits (one 64-environment episode of labels each)."""
    eval_episodes: int = 50
    """Whole evaluation episodes per policy."""


NETWORK = dict(hidden_sizes=(100, 100), activation="tanh")
ADVERSARIAL = ("gail", "gail_ppo", "airl", "airl_ppo")


def expert_rows(env, expert, count: int, settings: Settings) -> Batch:
    """`count` expert episodes, subsampled, as (obs, executed action) rows."""
    dataset = data_lib.collect(env, expert, jax.random.key(settings.seed), count)
    rows = adversarial.subsampled_transitions(
        dataset, settings.subsample, settings.seed
    )
    return Batch(obs=rows.obs, privileged=rows.obs, action=rows.action)


def scorer(env, settings: Settings):
    """`score(policy) -> mean return` over the same `eval_episodes` starts."""
    key = jax.random.key(settings.seed + 1)

    def score(policy):
        _, log = evaluation.one_episode_each(
            env, policy, jax.random.clone(key), settings.eval_episodes
        )
        return metrics_lib.first_episode(log)["return"].mean()

    return score


def run_bc(env, expert, count, keys, settings, score):
    """Per-seed returns of BC with early stopping on `count` trajectories."""
    learner = bc.make(
        bc.BCConfig(loss="mse", learning_rate=1e-3, **NETWORK),
        observation_size=env.observation_size,
        action_size=env.action_size,
    )
    rows = expert_rows(env, expert, count, settings)

    def one(key):
        state, _ = updates.fit_early_stopping(
            learner,
            rows,
            key,
            num_updates=settings.bc_updates,
            batch_size=128,
            check_every=settings.bc_updates // 20,
        )
        return score(learner.make_policy(state))

    return jax.jit(jax.vmap(one))(keys)


def run_trainer(trainer, keys, score):
    """Per-seed returns of a registered trainer's final policies."""
    runs = seeds.run_seeds(trainer, keys)
    return jax.jit(jax.vmap(lambda state: score(trainer.policy(state))))(runs.state)


def adversarial_trainer(name, env, expert, count, settings):
    """The trainer of adversarial arm `name` on `count` subsampled trajectories."""
    algorithm = registry.get(name)
    config = algorithm.default_config()
    config = dataclasses.replace(
        config,
        iterations=settings.gail_iterations,
        num_demos=count,
        subsample=settings.subsample,
        data_seed=settings.seed,
        discriminator=dataclasses.replace(
            config.discriminator, gradient_penalty=settings.gradient_penalty
        ),
    )
    return algorithm.make_trainer(config, env, expert)


def dagger_trainer(env, expert, settings):
    """DAgger with the BC arm's network, one 64-environment episode per refit."""
    config = dagger.DaggerConfig(
        learner=bc.BCConfig(loss="mse", learning_rate=1e-3, **NETWORK),
        iterations=settings.dagger_iterations,
        num_envs=64,
        updates_per_iteration=1000,
        batch_size=128,
        eval_envs=0,
    )
    return dagger.make_trainer(config, env, expert)


def run_task(task: str, settings: Settings) -> dict:
    """Normalized returns `[seeds]` per arm and trajectory count."""
    unknown = sorted(set(settings.arms) - {"bc", "dagger", *ADVERSARIAL})
    if unknown:
        raise ValueError(
            f"Settings.arms must be among bc, dagger, {', '.join(ADVERSARIAL)}; "
            f"got {unknown}"
        )
    env = envs.make(task)
    expert = experts.make(env)
    score = scorer(env, settings)
    expert_return = float(jax.jit(lambda: score(expert))())
    random_policy = policies.uniform_random(*env.action_bounds)
    random_return = float(jax.jit(lambda: score(random_policy))())

    def normalized(returns):
        returns = np.asarray(returns, np.float64)
        return (returns - random_return) / (expert_return - random_return)

    key = jax.random.key(settings.seed)
    results = {arm: {} for arm in settings.arms}
    if "dagger" in settings.arms:
        keys = jax.random.split(jax.random.fold_in(key, 99), settings.seeds)
        reference = normalized(
            run_trainer(dagger_trainer(env, expert, settings), keys, score)
        )
        results["dagger"] = dict.fromkeys(settings.trajectories, reference)
    for index, count in enumerate(settings.trajectories):
        keys = jax.random.split(jax.random.fold_in(key, index), settings.seeds)
        for arm in settings.arms:
            if arm == "bc":
                returns = run_bc(env, expert, count, keys, settings, score)
            elif arm in ADVERSARIAL:
                trainer = adversarial_trainer(arm, env, expert, count, settings)
                returns = run_trainer(trainer, keys, score)
            else:
                continue
            results[arm][count] = normalized(returns)
            print(
                f"{task} {arm:9s} {count:3d} trajectories: "
                f"{np.round(results[arm][count], 3)}",
                flush=True,
            )
    return {
        "expert_return": expert_return,
        "random_return": random_return,
        "normalized": results,
    }


def table(task_result: dict, settings: Settings) -> list[dict]:
    """One row per arm: the IQM [95% CI] of each trajectory count."""
    rows = []
    for arm, by_count in task_result["normalized"].items():
        row = {"arm": arm}
        for count in settings.trajectories:
            row[f"{count} traj."] = metrics_lib.summarize_over_seeds(by_count[count])
        rows.append(row)
    return rows


def claim(task_result: dict, settings: Settings) -> str:
    """The paper's claim on this task, checked on the IQMs."""
    normalized = task_result["normalized"]
    parts = []
    for arm in ("gail", "gail_ppo"):
        if arm in normalized:
            worst = min(metrics_lib.iqm(v) for v in normalized[arm].values())
            verdict = "holds" if worst >= 0.9 else "does not hold"
            parts.append(f"{arm} >= 0.9 at every count: {verdict} (lowest {worst:.2f})")
    if "bc" in normalized and settings.trajectories[0] == 1:
        one = metrics_lib.iqm(normalized["bc"][1])
        verdict = "holds" if one <= 0.6 else "does not hold"
        parts.append(f"BC with 1 trajectory <= 0.6: {verdict} ({one:.2f})")
    return "; ".join(parts)


def main(argv):
    """Runs every arm on every task; writes the tables, the claim and the plots."""
    del argv
    settings, out, _ = scripts.parsed()
    scripts.setup_jax()
    info = scripts.environment_info()
    record = {"settings": settings, "environment": info}
    tables, notes = {}, []
    for task in settings.tasks:
        result = run_task(task, settings)
        record[task] = result
        caption = (
            f"{task}: normalized return (expert {result['expert_return']:.1f} = 1, "
            f"random {result['random_return']:.1f} = 0), IQM [95% CI] over "
            f"{settings.seeds} seeds"
        )
        tables[caption] = table(result, settings)
        notes.append(f"{task}: {claim(result, settings)}.")
        counts = np.asarray(settings.trajectories, np.float64)
        metrics_lib.plot_curves(
            {
                arm: (counts, np.stack([v[c] for c in settings.trajectories], axis=1))
                for arm, v in result["normalized"].items()
            },
            xlabel="expert trajectories",
            ylabel="normalized return",
            title=f"{task}: subsampled every {settings.subsample} steps",
            path=out / f"{task.replace('/', '__')}.png",
        )
    markdown = "\n\n".join(
        [
            f"### {caption}\n\n" + metrics_lib.markdown_table(rows)
            for caption, rows in tables.items()
        ]
        + notes
        + [
            f"Policy networks 2 x 100 tanh; GAIL and AIRL "
            f"{settings.gail_iterations} iterations of "
            f"64 x 64 steps, discriminator gradient penalty "
            f"{settings.gradient_penalty}; BC {settings.bc_updates} updates with "
            f"early stopping; {scripts.hardware_line(info)}."
        ]
    )
    scripts.write(out, record, markdown, tables=tables)
    print(markdown)


if __name__ == "__main__":
    scripts.define_flags("gail_vs_bc", Settings())
    app.run(main)
