"""Reinforcement-learning throughput: PPO and GAIL environment steps per second.

    python -m benchmarks.rl_throughput

For each batch of environments, four jitted programs are timed in
alternation in one run (`ilax.timing.time_paired`), each over
`num_envs x unroll_length` environment steps:

- `bare`: the batched rollout with uniformly random actions (no network);
- `collect`: the same rollout with PPO's behaviour policy (its MLP);
- `ppo`: one whole PPO iteration (collect, GAE, epochs of minibatch steps);
- `gail_ppo`: one whole GAIL iteration with PPO steps (collect, a
  discriminator step against the expert transitions, relabel, PPO step).

Ratios are paired per round (median, with the min and max over rounds):
GAIL's steps/s over PPO's (the discriminator's cost) and PPO's over the
bare rollout's (the learner's cost). Writes results/rl_throughput_<backend>/
and the BENCHMARKS.md section.
"""

import dataclasses

import jax
from absl import app

import ilax
from ilax import envs, experts, policies, scripts, timing
from ilax.algorithms import gail, ppo


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The task, the batch sizes timed, and how long."""

    task: str = "pendulum"
    """A task with an expert (GAIL imitates it)."""
    num_envs: tuple[int, ...] = (256, 1024, 4096)
    """Environments per iteration."""
    unroll_length: int = 64
    """Steps per environment per iteration."""
    min_calls: int = 5
    """Timed calls per program (alternated)."""
    min_time_s: float = 5.0
    """Timed seconds per batch size, all programs together."""


def programs(env, expert, num_envs: int, settings: Settings):
    """The four programs of one batch size, and the arguments of each round."""
    common = dict(num_envs=num_envs, unroll_length=settings.unroll_length)
    gail_config = gail.GAILPPOConfig(**common)
    # PPO with GAIL's own policy learner (the paper's 2 x 100 tanh), so the
    # ratio is the discriminator's cost alone.
    ppo_config = ppo.PPOTrainConfig(learner=gail_config.learner, **common)
    ppo_trainer = ppo.ALGORITHM.make_trainer(ppo_config, env, None)
    gail_trainer = gail.PPO_ALGORITHM.make_trainer(gail_config, env, expert)
    learner = ppo.ALGORITHM.make_learner(ppo_config, env)
    ppo_state = jax.jit(ppo_trainer.init)(jax.random.key(0))
    gail_state = jax.jit(gail_trainer.init)(jax.random.key(0))
    low, high = env.action_bounds
    steps = settings.unroll_length

    def bare(key):
        return ilax.rollout(
            env, policies.uniform_random(low, high), key, num_envs, steps
        )

    def collect(state, key):
        behaviour = learner.make_behaviour(state.train_state)
        return ilax.rollout(env, behaviour, key, num_envs, steps)

    def ppo_iteration(state, key):
        return ppo_trainer.step(state.replace(key=key), None)

    def gail_iteration(state, data, key):
        return gail_trainer.step(state.replace(key=key), data)

    def key(i):
        return jax.random.key(100 + i)

    args = {
        "bare": lambda i: (key(i),),
        "collect": lambda i: (ppo_state, key(i)),
        "ppo": lambda i: (ppo_state, key(i)),
        "gail_ppo": lambda i: (gail_state, gail_trainer.data, key(i)),
    }
    jitted = {
        "bare": jax.jit(bare),
        "collect": jax.jit(collect),
        "ppo": jax.jit(ppo_iteration),
        "gail_ppo": jax.jit(gail_iteration),
    }
    return jitted, args


def ratio_spread(times: dict, slow: str, fast: str) -> dict:
    """Per-round `slow` time over `fast` time: median, min and max."""
    ratios = [a / b for a, b in zip(times[slow], times[fast], strict=True)]
    return {
        "median": timing.paired_ratio(times, slow, fast),
        "min": min(ratios),
        "max": max(ratios),
    }


def row(env, expert, num_envs: int, settings: Settings) -> dict:
    """Steps/s of each program at `num_envs`, and the paired ratios."""
    jitted, args = programs(env, expert, num_envs, settings)
    timed = timing.time_paired(
        jitted, args, min_calls=settings.min_calls, min_time_s=settings.min_time_s
    )
    steps = num_envs * settings.unroll_length
    times = {name: t["times"] for name, t in timed.items()}
    result = {
        "num_envs": num_envs,
        "steps_per_iteration": steps,
        "programs": {
            name: {
                "steps_per_s": steps / t["run_s"],
                "run_s": t["run_s"],
                "compile_s": t["compile_s"],
                "calls": t["calls"],
            }
            for name, t in timed.items()
        },
        # Speed ratios: the other's time over this one's, round by round.
        "gail_over_ppo": ratio_spread(times, "ppo", "gail_ppo"),
        "ppo_over_bare": ratio_spread(times, "bare", "ppo"),
        "collect_over_bare": ratio_spread(times, "bare", "collect"),
    }
    speeds = ", ".join(
        f"{name} {p['steps_per_s']:,.0f}" for name, p in result["programs"].items()
    )
    print(f"{num_envs} envs: steps/s {speeds}", flush=True)
    return result


def _spread(ratio: dict) -> str:
    return f"{ratio['median']:.2f} ({ratio['min']:.2f}-{ratio['max']:.2f})"


def _format(rows: list[dict], settings: Settings, info: dict) -> str:
    table = ilax.metrics.markdown_table(
        [
            {
                "envs": r["num_envs"],
                **{
                    f"{name} steps/s": f"{p['steps_per_s']:,.0f}"
                    for name, p in r["programs"].items()
                },
                "GAIL / PPO": _spread(r["gail_over_ppo"]),
                "PPO / bare": _spread(r["ppo_over_bare"]),
                "collect / bare": _spread(r["collect_over_bare"]),
            }
            for r in rows
        ]
    )
    compile_s = ", ".join(
        f"{name} {p['compile_s']:.1f} s" for name, p in rows[-1]["programs"].items()
    )
    return "\n".join(
        [
            f"`{settings.task}`, {settings.unroll_length} steps per environment per "
            "iteration; PPO with GAIL's policy learner (2 x 100 tanh, 10 epochs x 8 "
            "minibatches), GAIL adding one discriminator step (2 x 100 tanh) on "
            "every policy transition and as many expert ones). Ratios are speeds, "
            "median over alternated rounds with the min-max in brackets; floors "
            "(issue 10): GAIL / PPO >= 0.7, PPO / bare >= 0.8 at the largest "
            "batch.",
            "",
            table,
            "",
            f"Compile at {rows[-1]['num_envs']} environments: {compile_s}.",
            "",
            f"Hardware: {scripts.hardware_line(info)}.",
        ]
    )


def main(argv):
    """Times PPO and GAIL iterations; writes results and BENCHMARKS.md."""
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    scripts.setup_jax()
    info = scripts.environment_info()
    env = envs.make(settings.task)
    expert = experts.make(env)
    rows = [row(env, expert, n, settings) for n in settings.num_envs]
    record = {
        "benchmark": "rl_throughput",
        "environment": info,
        "settings": dataclasses.asdict(settings),
        "rows": rows,
    }
    scripts.publish(
        "rl_throughput",
        "Reinforcement-learning throughput",
        record,
        _format(rows, settings, info),
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
    )


if __name__ == "__main__":
    scripts.define_flags("rl_throughput", Settings(), benchmark=True)
    app.run(main)
