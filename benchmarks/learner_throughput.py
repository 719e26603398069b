"""Learner throughput: BC updates per second, and DAgger iterations per second.

    python -m benchmarks.learner_throughput

BC: jitted `lax.scan`s of updates (an MLP 64x64 on kart-sized inputs) at
several batch sizes, as updates/s and samples/s. DAgger on kart_track: one
whole jitted iteration (beta-mixture rollout with expert labels, aggregation,
refit) against its parts timed alone in the same run (the rollout with
labelling, a post-hoc labelling pass, and the same number of updates), and
S seeds vmapped against one seed. Writes results/learner_throughput_<backend>/
and the BENCHMARKS.md section.
"""

import jax
import jax.numpy as jnp
from absl import app, flags

import ilax
import ilax.metrics
from benchmarks import common
from ilax import envs, experts
from ilax.algorithms import aggregate, bc, dagger, interactive
from ilax.types import Batch, Observation

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command line's flags, only when run as a script.

    Benchmark modules share flag names, and tests import several into one
    process: flags defined at import would clash.
    """
    flags.DEFINE_list(
        "batch_sizes", ["64", "256", "1024", "4096"], "BC minibatch sizes."
    )
    flags.DEFINE_integer("updates", 200, "BC updates per timed call.")
    flags.DEFINE_integer("num_envs", 64, "DAgger environments per iteration.")
    flags.DEFINE_integer("steps", 215, "DAgger steps per iteration (one lap).")
    flags.DEFINE_integer("refit_updates", 200, "Updates per DAgger iteration.")
    flags.DEFINE_integer("seeds", 8, "Seeds of the vmapped DAgger iteration.")
    flags.DEFINE_integer("min_calls", 5, "Timed calls per program.")
    flags.DEFINE_float("min_time_s", 3.0, "Timed seconds per comparison.")
    flags.DEFINE_string(
        "out_dir", None, "Default: results/learner_throughput_<backend>."
    )
    flags.DEFINE_bool("benchmarks_md", True, "Rewrite BENCHMARKS.md's section.")


_LEARNER = bc.BCConfig(loss="mse", hidden_sizes=(64, 64), activation="tanh")


def bc_rows(observation_size: int, action_size: int) -> list[dict]:
    """Updates/s and samples/s of BC at each batch size."""
    learner = bc.make(
        _LEARNER, observation_size=observation_size, action_size=action_size
    )
    data = Batch(
        obs=jax.random.normal(jax.random.key(1), (16384, observation_size)),
        privileged=jnp.zeros((16384, 1)),
        action=jax.random.normal(jax.random.key(2), (16384, action_size)),
    )
    state = learner.init(jax.random.key(0), data)
    rows = []
    for batch_size in [int(b) for b in FLAGS.batch_sizes]:

        @jax.jit
        def updates(state, key, batch_size=batch_size):
            def one(state, k):
                k_batch, k_update = jax.random.split(k)
                index = jax.random.randint(k_batch, (batch_size,), 0, 16384)
                batch = jax.tree.map(lambda x: x[index], data)
                return learner.update(state, batch, k_update)

            return jax.lax.scan(one, state, jax.random.split(key, FLAGS.updates))

        timing = common.time_paired(
            {"bc": updates},
            lambda i: (state, jax.random.key(100 + i)),
            min_calls=FLAGS.min_calls,
            min_time_s=FLAGS.min_time_s,
        )["bc"]
        per_s = FLAGS.updates / timing["run_s"]
        rows.append(
            {
                "batch_size": batch_size,
                "updates_per_s": per_s,
                "samples_per_s": per_s * batch_size,
                "compile_s": timing["compile_s"],
            }
        )
        print(f"BC batch {batch_size:5d}: {per_s:10,.0f} updates/s", flush=True)
    return rows


def dagger_programs(env, expert, num_envs, steps, refit_updates):
    """The whole iteration and each of its parts, jitted, from one state."""
    config = dagger.DaggerConfig(
        learner=_LEARNER,
        iterations=4,
        num_envs=num_envs,
        steps_per_iteration=steps,
        updates_per_iteration=refit_updates,
        batch_size=256,
        eval_envs=0,
        beta_schedule="exponential",
    )
    trainer = dagger.make_trainer(config, env, expert)
    learner = interactive.default_learner(config, env)  # the trainer's own learner
    state = trainer.init(jax.random.key(0))
    state, _ = jax.jit(trainer.step)(state, None)  # past iteration 0: learner acts

    def collect(state, key):
        policy = dagger.beta_mixture(
            expert, learner.make_policy(state.train_state), dagger.beta(config, 1)
        )
        trajectory, _ = ilax.rollout(env, policy, key, num_envs, steps)
        return trajectory.obs, trajectory.privileged, trajectory.extras["label"]

    def label(state, key):
        # The expert once more over every visited state, after the fact: what a
        # labelling pass costs when it is not fused into the rollout.
        rows = steps * num_envs  # iteration 0's states, as many as one iteration's
        observation = Observation(
            state.buffer.obs[:rows], state.buffer.privileged[:rows]
        )
        action, _, _ = expert.step(expert.init(key, (rows,)), observation, key)
        return action

    def refit(state, key):
        return aggregate.refit(
            learner,
            state.train_state,
            state.buffer,
            key,
            num_updates=refit_updates,
            batch_size=256,
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


def dagger_rows(task: str) -> dict:
    """The iteration against the sum of its parts, and S seeds against one."""
    env = envs.make(task)
    expert = experts.make(env)
    num_envs, steps, refit_updates = FLAGS.num_envs, FLAGS.steps, FLAGS.refit_updates
    trainer, state, programs = dagger_programs(
        env, expert, num_envs, steps, refit_updates
    )
    parts = common.time_paired(
        programs,
        lambda i: (state, jax.random.key(1000 + i)),
        min_calls=FLAGS.min_calls,
        min_time_s=FLAGS.min_time_s,
    )
    sum_of_parts = sum(
        parts[name]["run_s"] for name in ("rollout_with_labels", "refit")
    )
    seeds = FLAGS.seeds

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
    seeded = common.time_paired(
        {"one_seed": jax.jit(one_seed), "many_seeds": jax.jit(many_seeds)},
        lambda i: (state, stacked, jax.random.key(2000 + i)),
        min_calls=FLAGS.min_calls,
        min_time_s=FLAGS.min_time_s,
    )
    return {
        "task": task,
        "num_envs": num_envs,
        "steps_per_iteration": steps,
        "refit_updates": refit_updates,
        "parts": parts,
        "iteration_over_parts": parts["iteration"]["run_s"] / sum_of_parts,
        "iterations_per_s": 1.0 / parts["iteration"]["run_s"],
        "seeds": seeds,
        "seed_timing": seeded,
        "seeds_over_one": seeded["many_seeds"]["run_s"] / seeded["one_seed"]["run_s"],
    }


def _format(bc_table: list[dict], dagger_row: dict, info: dict) -> str:
    lines = [
        ilax.metrics.markdown_table(
            [
                [
                    r["batch_size"],
                    f"{r['updates_per_s']:,.0f}",
                    f"{r['samples_per_s']:,.0f}",
                    f"{r['compile_s']:.1f}",
                ]
                for r in bc_table
            ],
            ["BC batch size", "updates/s", "samples/s", "compile s"],
        ),
        "",
        ilax.metrics.markdown_table(
            [
                [name, f"{t['run_s']:.4f}", f"{t['compile_s']:.1f}"]
                for name, t in dagger_row["parts"].items()
            ]
            + [
                [name, f"{t['run_s']:.4f}", f"{t['compile_s']:.1f}"]
                for name, t in dagger_row["seed_timing"].items()
            ],
            ["DAgger program", "run s (median)", "compile s"],
        ),
        "",
        f"DAgger on {dagger_row['task']}: {dagger_row['num_envs']} environments x "
        f"{dagger_row['steps_per_iteration']} steps per iteration, "
        f"{dagger_row['refit_updates']} updates of batch 256 per refit: "
        f"**{dagger_row['iterations_per_s']:.2f} iterations/s**. "
        f"One jitted iteration over its parts timed alone (rollout with expert "
        f"labels + refit): **{dagger_row['iteration_over_parts']:.2f}x** "
        f"(floor: at most 1.2x). {dagger_row['seeds']} seeds vmapped over one "
        f"seed: **{dagger_row['seeds_over_one']:.2f}x** time "
        f"(sequential would be {dagger_row['seeds']}x).",
        "",
        f"Hardware: {common.hardware_line(info)}.",
    ]
    return "\n".join(lines)


def main(argv):
    """Times BC updates and DAgger iterations; writes results and BENCHMARKS.md."""
    del argv
    common.setup_jax()
    info = common.environment_info()
    env = envs.make("kart_track")
    bc_table = bc_rows(env.observation_size, env.action_size)
    dagger_row = dagger_rows("kart_track")
    table = _format(bc_table, dagger_row, info)
    record = {
        "benchmark": "learner_throughput",
        "environment": info,
        "settings": {
            "bc_updates_per_call": FLAGS.updates,
            "learner": str(_LEARNER),
        },
        "bc": bc_table,
        "dagger": dagger_row,
    }
    common.publish(
        "learner_throughput",
        "Learner throughput",
        record,
        table,
        out_dir=FLAGS.out_dir,
        benchmarks_md=FLAGS.benchmarks_md,
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
