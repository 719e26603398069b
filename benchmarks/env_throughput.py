"""Environment throughput: ilax's wrapped rollout against a bare MJX loop.

For every task and batch size this times two jitted programs on the same
model, batch and random actions:

* ilax: `ilax.rollout` with `AutoReset(Vmap(TimeLimit(env)))`, episode
  metrics, a uniform-random policy and the recorded time-major trajectory;
* bare: `lax.scan` over `vmap` of the task's physics step (the same
  `n_substeps` calls of `mjx.step`) with random controls, nothing else.

Episodes are shortened to half the rollout so every timed rollout includes
auto-resets. Steps per second count control steps summed over environments;
compile time is reported apart.

  python -m benchmarks.env_throughput                      # full sweep
  python -m benchmarks.env_throughput --tasks=pendulum --batch_sizes=1,256
"""

import functools
import os

import jax
import jax.numpy as jnp
from absl import app, flags

import ilax
from benchmarks import common
from ilax.rollout import rollout

_TASKS = flags.DEFINE_list("tasks", None, "Tasks to time; default: all registered.")
_BATCH_SIZES = flags.DEFINE_list(
    "batch_sizes",
    None,
    "Batch sizes; default 1..4096 on CPU and 1..65536 on an accelerator.",
)
_NUM_STEPS = flags.DEFINE_integer("num_steps", 100, "Control steps per timed rollout.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls at most, after a warm-up.")
_BUDGET = flags.DEFINE_float(
    "budget_s",
    20.0,
    "Stop repeating once the timed calls of one program took this long.",
)
_RATIO_TASKS = flags.DEFINE_list(
    "ratio_tasks",
    ["pendulum", "halfcheetah"],
    "Tasks whose ilax/bare ratio is checked.",
)
_MIN_RATIO = flags.DEFINE_float("min_ratio", 0.9, "Floor for the ilax/bare ratio.")
_OUT_DIR = flags.DEFINE_string(
    "out_dir", None, "Results directory; default results/env_throughput_<backend>."
)
_UPDATE_MD = flags.DEFINE_bool(
    "benchmarks_md", True, "Rewrite BENCHMARKS.md's section."
)

_CPU_BATCHES = (1, 16, 256, 1024, 4096)
_ACCELERATOR_BATCHES = (1, 256, 4096, 16384, 65536)


def make_ilax_program(env, num_envs: int, num_steps: int):
    """The wrapped rollout with a uniform-random policy, jitted."""
    policy = ilax.policies.uniform_random(*env.action_bounds)
    run = functools.partial(
        rollout, env, policy, num_envs=num_envs, num_steps=num_steps
    )
    return jax.jit(run)


def make_bare_program(env, num_envs: int, num_steps: int):
    """`lax.scan` over `vmap` of the physics step with random controls, jitted."""
    task = env.unwrapped
    low, high = env.action_bounds

    def run(key):
        key_reset, key_ctrl = jax.random.split(key)
        keys = jax.random.split(key_reset, num_envs)
        data = jax.vmap(lambda k: task.reset(k).data)(keys)

        def body(data, t):
            ctrl = jax.random.uniform(
                jax.random.fold_in(key_ctrl, t),
                (num_envs, task.action_size),
                minval=low,
                maxval=high,
            )
            return jax.vmap(task.physics_step)(data, ctrl), None

        data, _ = jax.lax.scan(body, data, jnp.arange(num_steps))
        return data.qpos

    return jax.jit(run)


def measure(task: str, num_envs: int, num_steps: int, repeats: int, budget_s: float):
    """Times both programs for one task and batch size."""
    default_length = ilax.envs.default_config(task).episode_length
    episode_length = max(1, min(default_length, num_steps // 2))
    env = ilax.envs.make(task, episode_length=episode_length)
    row = {"task": task, "num_envs": num_envs, "episode_length": episode_length}
    for name, make in (("ilax", make_ilax_program), ("bare", make_bare_program)):
        program = make(env, num_envs, num_steps)
        timing = common.time_jitted(
            program, lambda i: (jax.random.key(i),), repeats, budget_s=budget_s
        )
        row[f"{name}_compile_s"] = timing["compile_s"]
        row[f"{name}_run_s"] = timing["run_s"]
        row[f"{name}_steps_per_s"] = num_envs * num_steps / timing["run_s"]
    row["ratio"] = row["ilax_steps_per_s"] / row["bare_steps_per_s"]
    return row


def _format(rows, info, min_ratio, ratio_tasks):
    headers = [
        "task",
        "envs",
        "ilax steps/s",
        "bare steps/s",
        "ilax/bare",
        "compile ilax (s)",
        "compile bare (s)",
    ]
    table_rows = []
    for row in rows:
        flag = ""
        if row["task"] in ratio_tasks and row["ratio"] < min_ratio:
            flag = " (below floor)"
        table_rows.append(
            [
                row["task"],
                row["num_envs"],
                f"{row['ilax_steps_per_s']:,.0f}",
                f"{row['bare_steps_per_s']:,.0f}",
                f"{row['ratio']:.2f}{flag}",
                f"{row['ilax_compile_s']:.1f}",
                f"{row['bare_compile_s']:.1f}",
            ]
        )
    return (
        f"Hardware: {common.hardware_line(info)}; commit {info['commit']}.\n\n"
        + common.markdown_table(headers, table_rows)
    )


def main(argv):
    del argv
    common.setup_jax()
    info = common.environment_info()
    backend = info["backend"]
    tasks = _TASKS.value or ilax.envs.names()
    default_batches = _CPU_BATCHES if backend == "cpu" else _ACCELERATOR_BATCHES
    batches = (
        [int(b) for b in _BATCH_SIZES.value] if _BATCH_SIZES.value else default_batches
    )
    rows = []
    for task in tasks:
        for num_envs in batches:
            row = measure(
                task, num_envs, _NUM_STEPS.value, _REPEATS.value, _BUDGET.value
            )
            rows.append(row)
            print(
                f"{task:12s} envs={num_envs:6d} "
                f"ilax {row['ilax_steps_per_s']:12,.0f}/s "
                f"bare {row['bare_steps_per_s']:12,.0f}/s ratio {row['ratio']:.2f} "
                f"(compile {row['ilax_compile_s']:.1f}s/{row['bare_compile_s']:.1f}s)",
                flush=True,
            )
    table = _format(rows, info, _MIN_RATIO.value, _RATIO_TASKS.value)
    checked = [r for r in rows if r["task"] in _RATIO_TASKS.value]
    below = [r for r in checked if r["ratio"] < _MIN_RATIO.value]
    record = {
        "benchmark": "env_throughput",
        "environment": info,
        "settings": {
            "num_steps": _NUM_STEPS.value,
            "repeats": _REPEATS.value,
            "budget_s": _BUDGET.value,
            "min_ratio": _MIN_RATIO.value,
            "ratio_tasks": _RATIO_TASKS.value,
        },
        "rows": rows,
        "ratio_floor_met": not below,
    }
    out_dir = _OUT_DIR.value or str(
        common.ROOT / "results" / f"env_throughput_{backend}"
    )
    common.write_results(out_dir, record, table)
    print("\n" + table)
    if _UPDATE_MD.value:
        section = (
            f"## Environment throughput ({backend})\n\n"
            f"`python -m benchmarks.env_throughput` ({_NUM_STEPS.value} control steps "
            f"per rollout, episodes cut to half of that so resets are included, "
            f"median of up to {_REPEATS.value} timed calls; steps/s summed over "
            f"environments). ilax: `ilax.rollout` with auto-reset, episode metrics, "
            f"a random policy and the recorded trajectory; bare: `lax.scan` over "
            f"`vmap` of the same physics step. Files: "
            f"`{os.path.relpath(out_dir, common.ROOT)}/`.\n\n" + table
        )
        common.update_benchmarks_md(f"env_throughput_{backend}", section)
    if below:
        print(
            f"\nilax/bare below {_MIN_RATIO.value} for: "
            + ", ".join(f"{r['task']}@{r['num_envs']}" for r in below)
        )


if __name__ == "__main__":
    app.run(main)
