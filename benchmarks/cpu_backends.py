"""CPU physics backends: MuJoCo's C engine and MJX under ilax, and Gymnasium.

For every task and batch size this times, round by round in alternation (so
a slow spell of the machine hits all alike), one rollout of `num_steps`
control steps with uniform-random actions and automatic resets:

* ilax c: `ilax.rollout` (auto-reset, episode log) on the task with
  `impl="c"`: the step is jitted JAX around one `jax.pure_callback` into
  `mujoco.rollout` per control step (`ilax.envs.mujoco_c`);
* ilax mjx: the same program with `impl="jax"` (MJX compiled into XLA);
* gymnasium: Gymnasium's synchronous vector environment of the same v5 task
  (`gymnasium.make_vec(..., vectorization_mode="sync")`, MuJoCo's C engine
  in a Python loop), actions drawn beforehand.

Steps per second count control steps summed over environments; compile time
(ilax's ahead-of-time compile, Gymnasium's construction and first reset) is
reported apart. A backend whose rollout would take longer than
`max_call_s` at the speed of the previous batch size is skipped and listed.

  python -m benchmarks.cpu_backends
  python -m benchmarks.cpu_backends --settings.tasks=hopper \
      --settings.batch_sizes=1,16 --settings.backends=c,gymnasium
"""

import dataclasses
import statistics
import time

import gymnasium as gym
import jax
import numpy as np
from absl import app

import ilax
import ilax.metrics
from ilax import scripts, timing
from ilax.rollout import rollout

GYMNASIUM_IDS = {
    "hopper": "Hopper-v5",
    "halfcheetah": "HalfCheetah-v5",
    "walker2d": "Walker2d-v5",
    "gym/Swimmer-v5": "Swimmer-v5",
    "gym/InvertedPendulum-v5": "InvertedPendulum-v5",
}
BACKENDS = ("c", "jax", "gymnasium")


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """What is timed, and how long."""

    tasks: tuple[str, ...] = ("halfcheetah", "hopper")
    """Tasks to time (those with a Gymnasium twin and C-engine support)."""
    batch_sizes: tuple[int, ...] = (1, 16, 256, 1024, 4096)
    """Numbers of environments."""
    backends: tuple[str, ...] = BACKENDS
    """Which of c, jax (MJX) and gymnasium to time."""
    num_steps: int = 100
    """Control steps per timed rollout."""
    rounds: int = 3
    """Timed rounds (one rollout of every backend each), after a warm-up."""
    max_call_s: float = 40.0
    """Skip a backend whose rollout would take longer than this at the speed
    it reached at the previous batch size."""


class _Gymnasium:
    """A Gymnasium sync vector env and its pre-drawn actions, as a program."""

    def __init__(self, task: str, num_envs: int, num_steps: int, seed: int):
        self.env = gym.make_vec(
            GYMNASIUM_IDS[task], num_envs=num_envs, vectorization_mode="sync"
        )
        self.env.action_space.seed(seed)
        self.actions = [self.env.action_space.sample() for _ in range(num_steps)]
        self.env.reset(seed=seed)

    def __call__(self):
        for action in self.actions:
            self.env.step(action)


def _ilax_program(task: str, impl: str, num_envs: int, num_steps: int):
    env = ilax.envs.make(task, impl=impl)
    policy = ilax.policies.uniform_random(*env.action_bounds)
    run = jax.jit(lambda key: rollout(env, policy, key, num_envs, num_steps)[1])
    key = jax.random.key(0)
    compiled, compile_s = timing.compile_ahead(run, key)
    jax.block_until_ready(compiled(key))  # warm-up
    return (lambda: jax.block_until_ready(compiled(key))), compile_s


def _gymnasium_program(task: str, num_envs: int, num_steps: int, seed: int):
    start = time.perf_counter()
    program = _Gymnasium(task, num_envs, num_steps, seed)
    setup_s = time.perf_counter() - start
    program()  # warm-up
    return program, setup_s


def measure(task: str, num_envs: int, backends, settings: Settings) -> dict:
    """Times the backends for one task and batch size, in alternation."""
    programs, setup = {}, {}
    for backend in backends:
        if backend == "gymnasium":
            made = _gymnasium_program(task, num_envs, settings.num_steps, settings.seed)
        else:
            made = _ilax_program(task, backend, num_envs, settings.num_steps)
        programs[backend], setup[backend] = made
    times = {backend: [] for backend in programs}
    for i in range(settings.rounds):
        order = list(programs) if i % 2 == 0 else list(reversed(programs))
        for backend in order:
            start = time.perf_counter()
            programs[backend]()
            times[backend].append(time.perf_counter() - start)
    row = {"task": task, "num_envs": num_envs, "num_steps": settings.num_steps}
    for backend, backend_times in times.items():
        run_s = statistics.median(backend_times)
        row[f"{backend}_compile_s"] = setup[backend]
        row[f"{backend}_run_s"] = run_s
        row[f"{backend}_steps_per_s"] = num_envs * settings.num_steps / run_s
    for other in ("jax", "gymnasium"):
        if "c" in times and other in times:
            row[f"c_over_{other}"] = timing.paired_ratio(times, other, "c")
    return row


def _cell(row, key, fmt):
    return format(row[key], fmt) if key in row else "-"


def _format(rows, info):
    headers = [
        "task",
        "envs",
        "ilax c steps/s",
        "ilax mjx steps/s",
        "gymnasium steps/s",
        "c / mjx",
        "c / gymnasium",
        "compile c / mjx (s)",
    ]
    table_rows = [
        [
            row["task"],
            row["num_envs"],
            _cell(row, "c_steps_per_s", ",.0f"),
            _cell(row, "jax_steps_per_s", ",.0f"),
            _cell(row, "gymnasium_steps_per_s", ",.0f"),
            _cell(row, "c_over_jax", ".1f"),
            _cell(row, "c_over_gymnasium", ".2f"),
            _cell(row, "c_compile_s", ".1f")
            + " / "
            + _cell(row, "jax_compile_s", ".1f"),
        ]
        for row in rows
    ]
    return scripts.provenance_header(info) + ilax.metrics.markdown_table(
        table_rows, headers
    )


def main(argv):
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    scripts.check_choices(settings, "backends", BACKENDS)
    scripts.setup_jax()
    info = scripts.environment_info()
    rows, skipped = [], []
    for task in settings.tasks:
        speed: dict[str, float] = {}  # steps/s at the previous batch size
        for num_envs in sorted(settings.batch_sizes):
            backends = []
            for backend in settings.backends:
                estimate_s = num_envs * settings.num_steps / speed.get(backend, np.inf)
                if estimate_s > settings.max_call_s:
                    skipped.append(
                        f"{backend} on {task} at {num_envs} envs "
                        f"(about {estimate_s:.0f} s per rollout)"
                    )
                else:
                    backends.append(backend)
            row = measure(task, num_envs, backends, settings)
            for backend in backends:
                speed[backend] = row[f"{backend}_steps_per_s"]
            rows.append(row)
            print(
                f"{task:12s} envs={num_envs:5d} "
                + " ".join(f"{b} {row[f'{b}_steps_per_s']:10,.0f}/s" for b in backends),
                flush=True,
            )
    table = _format(rows, info)
    if skipped:
        table += (
            f"\n\nNot timed (a rollout would exceed {settings.max_call_s:.0f} s): "
            + "; ".join(skipped)
            + "."
        )
    record = {
        "benchmark": "cpu_backends",
        "environment": info,
        "settings": settings,
        "rows": rows,
        "skipped": skipped,
        "gymnasium_version": gym.__version__,
    }
    intro = (
        f": rollouts of {settings.num_steps} control steps with uniform-random "
        f"actions and automatic resets, median of {settings.rounds} rounds in "
        "alternation; steps/s summed over environments. **ilax c**: "
        '`ilax.rollout` on the task with `impl="c"` (MuJoCo\'s C engine '
        "through `mujoco.rollout`, one callback per control step); **ilax "
        'mjx**: the same program with `impl="jax"`; **gymnasium**: '
        f"Gymnasium {gym.__version__}'s synchronous vector environment. "
        "Compile: ilax's ahead-of-time compile of the rollout."
    )
    scripts.publish(
        "cpu_backends",
        "Physics backends on CPU",
        record,
        table,
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
        intro=intro,
        per_backend=False,
    )


if __name__ == "__main__":
    scripts.define_flags("cpu_backends", Settings(), benchmark=True)
    app.run(main)
