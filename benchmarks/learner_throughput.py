"""Learner throughput: BC updates per second, and DAgger iterations per second.

    python -m benchmarks.learner_throughput

BC: jitted blocks of updates (`ilax.training.updates.scan_updates`; an MLP
64x64 on kart-sized inputs) at several batch sizes, as updates/s and
samples/s. DAgger on kart_track: one whole jitted iteration (refit, then a
beta-mixture rollout with expert labels and aggregation) against its parts
timed alone in the same run (the rollout with labelling, a post-hoc
labelling pass, and the same number of updates), and S seeds vmapped against
one seed. Writes results/learner_throughput_<backend>/ and the BENCHMARKS.md
section.
"""

import dataclasses

import jax
import jax.numpy as jnp
from absl import app

import ilax
from ilax import envs, experts, scripts, timing
from ilax.algorithms import bc, dagger
from ilax.data import buffer as buffer_lib
from ilax.training import interactive, updates
from ilax.types import Batch, Observation


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The sizes timed, and how long."""

    seeds: int = 8
    """Seeds of the vmapped DAgger iteration."""
    batch_sizes: tuple[int, ...] = (64, 256, 1024, 4096)
    """BC minibatch sizes."""
    updates: int = 200
    """BC updates per timed call."""
    num_envs: int = 64
    """DAgger environments per iteration."""
    steps: int = 215
    """DAgger steps per iteration (one lap)."""
    refit_updates: int = 200
    """Updates per DAgger iteration."""
    min_calls: int = 5
    """Timed calls per program."""
    min_time_s: float = 3.0
    """Timed seconds per comparison."""


LEARNER = bc.BCConfig(loss="mse", hidden_sizes=(64, 64), activation="tanh")


def bc_rows(env, settings: Settings) -> list[dict]:
    """Updates/s and samples/s of BC at each batch size."""
    learner = bc.make(
        LEARNER, observation_size=env.observation_size, action_size=env.action_size
    )
    rows = 16384
    data = Batch(
        obs=jax.random.normal(jax.random.key(1), (rows, env.observation_size)),
        privileged=jnp.zeros((rows, 1)),
        action=jax.random.normal(jax.random.key(2), (rows, env.action_size)),
    )
    state = learner.init(jax.random.key(0), learner.fit_normalizer(data))
    table = []
    for batch_size in settings.batch_sizes:

        def sample(key, batch_size=batch_size):
            index = jax.random.randint(key, (batch_size,), 0, rows)
            return jax.tree.map(lambda x: x[index], data)

        program = jax.jit(
            lambda state, key, sample=sample: updates.scan_updates(
                learner.update, state, sample, key, settings.updates
            )
        )
        timed = timing.time_paired(
            {"bc": program},
            lambda i: (state, jax.random.key(100 + i)),
            min_calls=settings.min_calls,
            min_time_s=settings.min_time_s,
        )["bc"]
        per_s = settings.updates / timed["run_s"]
        table.append(
            {
                "batch_size": batch_size,
                "updates_per_s": per_s,
                "samples_per_s": per_s * batch_size,
                "compile_s": timed["compile_s"],
            }
        )
        print(f"BC batch {batch_size:5d}: {per_s:10,.0f} updates/s", flush=True)
    return table


def dagger_programs(env, expert, settings: Settings):
    """The whole iteration and each of its parts, jitted, from one state."""
    config = dagger.DaggerConfig(
        learner=LEARNER,
        iterations=4,
        num_envs=settings.num_envs,
        steps_per_iteration=settings.steps,
        updates_per_iteration=settings.refit_updates,
        batch_size=256,
        eval_envs=0,
        beta_schedule="exponential",
    )
    trainer = dagger.make_trainer(config, env, expert)
    learner = dagger.ALGORITHM.make_learner(config, env)  # the trainer's own
    state = jax.jit(trainer.init)(jax.random.key(0))
    num_rows = settings.steps * settings.num_envs

    def collect(state, key):
        policy = dagger.beta_mixture(
            expert, learner.make_policy(state.train_state), dagger.beta(config, 1)
        )
        trajectory, _ = ilax.rollout(
            env, policy, key, settings.num_envs, settings.steps
        )
        return interactive.labelled_rows(trajectory)

    def label(state, key):
        # The expert once more over every visited state, after the fact: what a
        # labelling pass costs when it is not fused into the rollout (here the
        # demonstrations' states, as many as one iteration's).
        observation = Observation(
            state.buffer.obs[:num_rows], state.buffer.privileged[:num_rows]
        )
        key_init, key_step = jax.random.split(key)
        expert_state = expert.init(key_init, (num_rows,))
        action, _, _ = expert.step(expert_state, observation, key_step)
        return action

    def refit(state, key):
        return updates.scan_updates(
            learner.update,
            state.train_state,
            lambda key: buffer_lib.sample(state.buffer, key, 256),
            key,
            settings.refit_updates,
        )

    def iteration(state, key):
        return trainer.step(state.replace(key=key), None)

    programs = {
        "iteration": jax.jit(iteration),
        "rollout_with_labels": jax.jit(collect),
        "labelling": jax.jit(label),
        "refit": jax.jit(refit),
    }
    return trainer, state, programs


def dagger_row(task: str, settings: Settings) -> dict:
    """The iteration against the sum of its parts, and S seeds against one."""
    env = envs.make(task)
    trainer, state, programs = dagger_programs(env, experts.make(env), settings)
    quick = dict(min_calls=settings.min_calls, min_time_s=settings.min_time_s)
    parts = timing.time_paired(
        programs, lambda i: (state, jax.random.key(1000 + i)), **quick
    )
    sum_of_parts = sum(
        parts[name]["run_s"] for name in ("rollout_with_labels", "refit")
    )
    seeds = settings.seeds

    def one_seed(state, stacked, key):
        del stacked
        return trainer.step(state.replace(key=key), None)

    def many_seeds(state, stacked, key):
        del state
        keys = jax.random.split(key, seeds)
        return jax.vmap(lambda s, k: trainer.step(s.replace(key=k), None))(
            stacked, keys
        )

    stacked = jax.tree.map(lambda x: jnp.stack([x] * seeds), state)
    seeded = timing.time_paired(
        {"one_seed": jax.jit(one_seed), "many_seeds": jax.jit(many_seeds)},
        lambda i: (state, stacked, jax.random.key(2000 + i)),
        **quick,
    )
    return {
        "task": task,
        "num_envs": settings.num_envs,
        "steps_per_iteration": settings.steps,
        "refit_updates": settings.refit_updates,
        "parts": parts,
        "iteration_over_parts": parts["iteration"]["run_s"] / sum_of_parts,
        "iterations_per_s": 1.0 / parts["iteration"]["run_s"],
        "seeds": seeds,
        "seed_timing": seeded,
        "seeds_over_one": seeded["many_seeds"]["run_s"] / seeded["one_seed"]["run_s"],
    }


def _format(bc_table: list[dict], row: dict, info: dict) -> str:
    programs = {**row["parts"], **row["seed_timing"]}
    lines = [
        ilax.metrics.markdown_table(
            [
                {
                    "BC batch size": r["batch_size"],
                    "updates/s": f"{r['updates_per_s']:,.0f}",
                    "samples/s": f"{r['samples_per_s']:,.0f}",
                    "compile s": f"{r['compile_s']:.1f}",
                }
                for r in bc_table
            ]
        ),
        "",
        ilax.metrics.markdown_table(
            [
                {
                    "DAgger program": name,
                    "run s (median)": f"{t['run_s']:.4f}",
                    "compile s": f"{t['compile_s']:.1f}",
                }
                for name, t in programs.items()
            ]
        ),
        "",
        f"DAgger on {row['task']}: {row['num_envs']} environments x "
        f"{row['steps_per_iteration']} steps per iteration, "
        f"{row['refit_updates']} updates of batch 256 per refit: "
        f"**{row['iterations_per_s']:.2f} iterations/s**. "
        f"One jitted iteration over its parts timed alone (rollout with expert "
        f"labels + refit): **{row['iteration_over_parts']:.2f}x** "
        f"(floor: at most 1.2x). {row['seeds']} seeds vmapped over one "
        f"seed: **{row['seeds_over_one']:.2f}x** time "
        f"(sequential would be {row['seeds']}x).",
        "",
        f"Hardware: {scripts.hardware_line(info)}.",
    ]
    return "\n".join(lines)


def main(argv):
    """Times BC updates and DAgger iterations; writes results and BENCHMARKS.md."""
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    scripts.setup_jax()
    info = scripts.environment_info()
    bc_table = bc_rows(envs.make("kart_track"), settings)
    row = dagger_row("kart_track", settings)
    record = {
        "benchmark": "learner_throughput",
        "environment": info,
        "settings": {**dataclasses.asdict(settings), "learner": LEARNER},
        "bc": bc_table,
        "dagger": row,
    }
    scripts.publish(
        "learner_throughput",
        "Learner throughput",
        record,
        _format(bc_table, row, info),
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
    )


if __name__ == "__main__":
    scripts.define_flags("learner_throughput", Settings(), benchmark=True)
    app.run(main)
