"""Environment throughput: ilax's wrapped rollout against a bare physics loop.

For every task and batch size this times three jitted programs on the same
model, batch and random actions, in alternation (so a slow spell of the
machine hits all three alike):

* ilax: `ilax.rollout` with `AutoReset(Vmap(TimeLimit(env)))`, a
  uniform-random policy, returning the episode log (returns, lengths, task
  metrics of every finished episode): an evaluation rollout;
* ilax+traj: the same, also returning the time-major trajectory (obs,
  privileged, action, reward, flags, next obs), as data collection does;
* bare: `lax.scan` over `vmap` of the task's physics step (the same
  `n_substeps` calls of `mjx.step`, or one batched call into MuJoCo's C
  engine for a task on `impl="c"`) with random controls, nothing else; for
  a task not simulated by MuJoCo (slot), of the task's own unwrapped `step`.

Episodes are shortened to half the rollout so every timed rollout includes
auto-resets. Steps per second count control steps summed over environments;
the ratios are medians of per-round ratios; compile time is reported apart.

  python -m benchmarks.env_throughput                      # full sweep
  python -m benchmarks.env_throughput --settings.tasks=pendulum \
      --settings.batch_sizes=1,256
  python -m benchmarks.env_throughput --settings.cpu_threads=1  # XLA on one core
"""

import dataclasses
import operator

import jax
import jax.numpy as jnp
from absl import app

import ilax
import ilax.metrics
import ilax.platform
from ilax import scripts, timing
from ilax.envs.base import MjxEnv
from ilax.rollout import rollout


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """What is timed, and how long."""

    tasks: tuple[str, ...] = ()
    """Tasks to time; empty: every registered one."""
    batch_sizes: tuple[int, ...] = ()
    """Batch sizes; empty: 1..4096 on CPU and 1..65536 on an accelerator."""
    num_steps: int = 100
    """Control steps per timed rollout (at most; see target_call_s)."""
    min_steps: int = 20
    """Control steps per timed rollout at least."""
    target_call_s: float = 2.0
    """Aim for rollouts of about this long: at large batches of slow tasks the
    steps per rollout shrink (to min_steps) by the speed measured at the
    previous batch size."""
    max_call_s: float = 30.0
    """Skip a batch size whose shortest rollout (min_steps) would take longer
    than this at the speed of the previous batch size (the largest batches of
    the locomotion tasks on a small CPU); skipped sizes are listed."""
    min_calls: int = 3
    """Timed rounds at least, after a warm-up."""
    min_time_s: float = 3.0
    """Keep timing rounds until the timed calls took this long."""
    ratio_tasks: tuple[str, ...] = ("pendulum", "halfcheetah")
    """Tasks whose ilax/bare ratio is held to the floor."""
    min_ratio: float = 0.9
    """Floor for the ilax/bare ratio."""
    cpu_threads: int = 0
    """Pin the process to this many cores before JAX starts (XLA's CPU thread
    pool follows); 0: every core. One thread is faster at batch 1."""


_CPU_BATCHES = (1, 16, 256, 1024, 4096)
_ACCELERATOR_BATCHES = (1, 256, 4096, 16384, 65536)


def make_ilax_program(env, num_envs: int, num_steps: int, *, trajectory: bool):
    """The wrapped rollout with a uniform-random policy, jitted.

    Without `trajectory` only the episode log leaves the program, and XLA
    drops the recording of the trajectory.
    """
    policy = ilax.policies.uniform_random(*env.action_bounds)

    def run(key):
        recorded, log = rollout(env, policy, key, num_envs, num_steps)
        return (recorded, log) if trajectory else log

    return jax.jit(run)


def make_bare_program(env, num_envs: int, num_steps: int):
    """`lax.scan` over `vmap` of the physics step with random controls, jitted.

    An MJX task steps its simulator data (`physics_step`); any other task
    steps its own unwrapped `State` (no time limit, no reset, no log).
    """
    task = env.unwrapped
    low, high = env.action_bounds
    if isinstance(task, MjxEnv):
        start, advance = (lambda k: task.reset(k).data), task.physics_step
        result = operator.attrgetter("qpos")
    else:
        start, advance = task.reset, task.step
        result = operator.attrgetter("obs")

    def run(key):
        key_reset, key_ctrl = jax.random.split(key)
        keys = jax.random.split(key_reset, num_envs)
        simulated = jax.vmap(start)(keys)

        def body(simulated, t):
            ctrl = jax.random.uniform(
                jax.random.fold_in(key_ctrl, t),
                (num_envs, task.action_size),
                minval=low,
                maxval=high,
            )
            return jax.vmap(advance)(simulated, ctrl), None

        simulated, _ = jax.lax.scan(body, simulated, jnp.arange(num_steps))
        return result(simulated)

    return jax.jit(run)


def measure(
    task: str, num_envs: int, num_steps: int, min_calls: int, min_time_s: float
):
    """Times the three programs for one task and batch size."""
    default_length = ilax.envs.default_config(task).episode_length
    episode_length = max(1, min(default_length, num_steps // 2))
    env = ilax.envs.make(task, episode_length=episode_length)
    programs = {
        "ilax": make_ilax_program(env, num_envs, num_steps, trajectory=False),
        "ilax_traj": make_ilax_program(env, num_envs, num_steps, trajectory=True),
        "bare": make_bare_program(env, num_envs, num_steps),
    }
    timings = timing.time_paired(
        programs,
        lambda i: (jax.random.key(i),),
        min_calls=min_calls,
        min_time_s=min_time_s,
    )
    row = {"task": task, "num_envs": num_envs, "episode_length": episode_length}
    for name, timed in timings.items():
        row[f"{name}_compile_s"] = timed["compile_s"]
        row[f"{name}_run_s"] = timed["run_s"]
        row[f"{name}_calls"] = timed["calls"]
        row[f"{name}_steps_per_s"] = num_envs * num_steps / timed["run_s"]
    row["ratio"] = timings["ilax"]["ratio_to_bare"]
    row["ratio_traj"] = timings["ilax_traj"]["ratio_to_bare"]
    return row


def _format(rows, info, min_ratio, ratio_tasks):
    headers = [
        "task",
        "envs",
        "steps",
        "ilax steps/s",
        "ilax+traj steps/s",
        "bare steps/s",
        "ilax/bare",
        "ilax+traj/bare",
        "compile ilax / +traj / bare (s)",
    ]
    table_rows = []
    for row in rows:
        held = row["task"] in ratio_tasks
        flag = " (below floor)" if held and row["ratio"] < min_ratio else ""
        table_rows.append(
            [
                row["task"],
                row["num_envs"],
                row["num_steps"],
                f"{row['ilax_steps_per_s']:,.0f}",
                f"{row['ilax_traj_steps_per_s']:,.0f}",
                f"{row['bare_steps_per_s']:,.0f}",
                f"{'**' if held else ''}{row['ratio']:.2f}{'**' if held else ''}{flag}",
                f"{row['ratio_traj']:.2f}",
                f"{row['ilax_compile_s']:.1f} / {row['ilax_traj_compile_s']:.1f} / "
                f"{row['bare_compile_s']:.1f}",
            ]
        )
    return scripts.provenance_header(info) + ilax.metrics.markdown_table(
        table_rows, headers
    )


def main(argv):
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    if settings.cpu_threads:
        ilax.platform.limit_cpu_threads(settings.cpu_threads)
    scripts.setup_jax()
    info = scripts.environment_info()
    tasks = settings.tasks or tuple(ilax.envs.names())
    default_batches = _CPU_BATCHES if info["backend"] == "cpu" else _ACCELERATOR_BATCHES
    rows, skipped = [], []
    for task in tasks:
        speed = None  # steps/s at the previous batch size: a lower bound
        for num_envs in sorted(settings.batch_sizes or default_batches):
            num_steps = settings.num_steps
            if speed is not None:
                wanted = round(settings.target_call_s * speed / num_envs)
                num_steps = max(settings.min_steps, min(num_steps, wanted))
                estimate_s = num_steps * num_envs / speed
                if estimate_s > settings.max_call_s:
                    skipped.append(
                        f"{task} at {num_envs} envs (about {estimate_s:.0f} s "
                        f"per rollout of {num_steps} steps)"
                    )
                    print(f"{task:12s} envs={num_envs:6d} skipped", flush=True)
                    continue
            row = measure(
                task, num_envs, num_steps, settings.min_calls, settings.min_time_s
            )
            row["num_steps"] = num_steps
            speed = max(row["ilax_steps_per_s"], speed or 0.0)
            rows.append(row)
            print(
                f"{task:12s} envs={num_envs:6d} "
                f"ilax {row['ilax_steps_per_s']:12,.0f}/s "
                f"+traj {row['ilax_traj_steps_per_s']:12,.0f}/s "
                f"bare {row['bare_steps_per_s']:12,.0f}/s "
                f"ratio {row['ratio']:.2f} / {row['ratio_traj']:.2f}",
                flush=True,
            )
    table = _format(rows, info, settings.min_ratio, settings.ratio_tasks)
    if skipped:
        table += (
            f"\n\nNot timed (a rollout would exceed {settings.max_call_s:.0f} s): "
            + "; ".join(skipped)
            + "."
        )
    held = [r for r in rows if r["task"] in settings.ratio_tasks]
    below = [r for r in held if r["ratio"] < settings.min_ratio]
    record = {
        "benchmark": "env_throughput",
        "environment": info,
        "settings": settings,
        "rows": rows,
        "skipped": skipped,
        "ratio_floor_met": not below,
    }
    intro = (
        f": rollouts of {settings.num_steps} control steps (fewer, down to "
        f"{settings.min_steps}, at large batches of slow tasks: column steps), "
        "episodes cut to half a rollout so resets are included. The three "
        f"programs are timed in alternation, at least {settings.min_calls} calls "
        "each; a ratio is the median of per-round ratios; steps/s are summed over "
        "environments. **ilax**: `ilax.rollout` with auto-reset and a "
        "uniform-random policy, returning the episode log (evaluation); "
        "**ilax+traj**: also returning the trajectory (data collection); "
        "**bare**: `lax.scan` over `vmap` of the same physics step with random "
        f"controls. The floor of {settings.min_ratio} holds ilax/bare for "
        f"{', '.join(settings.ratio_tasks)} (in bold)."
    )
    scripts.publish(
        "env_throughput",
        "Environment throughput",
        record,
        table,
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
        intro=intro,
    )
    if below:
        print(
            f"\nilax/bare below {settings.min_ratio} for: "
            + ", ".join(f"{r['task']}@{r['num_envs']}" for r in below)
        )


if __name__ == "__main__":
    scripts.define_flags("env_throughput", Settings(), benchmark=True)
    app.run(main)
