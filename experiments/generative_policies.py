r"""Generative policies on multimodal demonstrations (two_ways).

The claim of Diffusion Policy (Chi et al. 2023): with demonstrations that go
around an obstacle on the left or on the right at random, a diffusion policy
over action chunks commits to one side per episode and covers both, while
regression with an MSE loss averages the two modes and fails. Every arm
trains on the same demonstrations (one collection per demonstration count),
all seeds of an arm vmapped in one jitted program, and is judged on:

- success, the fraction of successful episodes going left, and dithering
  (episodes whose lateral side changes while passing the obstacle,
  |y| < 0.4, before the episode ends);
- the energy distance between the expert's actions and the policy's first
  predicted actions at the states of held-out demonstrations (one sample per
  state; a policy that averages the modes puts its actions between them);
- sample efficiency: the fewest demonstrations (of `--demos`) at which the
  seeds' mean success reaches 80%;
- ease of training: the spread of success over seeds and the coefficient of
  variation of the training loss over the second half of training;
- training time (compile apart) and the latency of one policy step at
  batch 1 (mean over 64 steps, so chunked policies amortize their
  predictions as they run).

    python -m experiments.generative_policies                # CPU defaults
    python -m experiments.generative_policies --demos=10,25,50,100,200 \
        --updates=20000 --seeds=5                            # the full sweep

Writes results/generative_policies/: results.json, results.md.
"""

import dataclasses
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks import common
from ilax import data as data_lib
from ilax import envs, experts, rollout
from ilax import metrics as metrics_lib
from ilax.algorithms import act, bc, diffusion, gan, offline, registry, vae
from ilax.chunking import ChunkConfig
from ilax.metrics import sample_quality
from ilax.types import Observation

FLAGS = flags.FLAGS
TASK = "two_ways"
# Diffusion Policy's horizons (To, Tp, Ta) = (2, 16, 8).
DP_CHUNK = ChunkConfig(obs_horizon=2, prediction_horizon=16, action_horizon=8)
# The CVAE, GAN and ACT arms execute 8-action chunks from one observation.
GEN_CHUNK = ChunkConfig(obs_horizon=1, prediction_horizon=8, action_horizon=8)
SINGLE = ChunkConfig()
# Sized for a CPU run: a quarter of the U-Net widths the reference notes
# suggest for this task (64, 128, 256) (4 channels per group), and a small
# ACT (d 64, one layer each, the paper's kl_weight 10 collapses the latent
# on toy data: see README).
UNET = {"denoiser": "unet", "horizon": 16, "down_sizes": (16, 32, 64), "groups": 4}
SMALL_ACT = {
    "chunk_size": 8,
    "model_size": 64,
    "num_heads": 4,
    "feedforward_size": 256,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "learning_rate": 1e-3,
}


def arms() -> dict:
    """Arm name: (algorithm, learner overrides, chunk config)."""
    table = {
        "BC-MSE": ("bc", {"loss": "mse"}, SINGLE),
        "BC-GMM": ("bc", {"loss": "gmm", "num_components": 5}, SINGLE),
        "CVAE (Ta=8)": ("cvae", {"kl_weight": 0.1, "prior_sample": True}, GEN_CHUNK),
        "GAN (Ta=8)": ("gan", {}, GEN_CHUNK),
        "DDPM-100 MLP (Ta=8)": ("diffusion", {"sampler": "ddpm"}, DP_CHUNK),
        "DDIM-10 MLP (Ta=8)": ("diffusion", {"sampler": "ddim"}, DP_CHUNK),
        "DDPM-100 MLP (Ta=1)": (
            "diffusion",
            {"sampler": "ddpm"},
            dataclasses.replace(DP_CHUNK, action_horizon=1),
        ),
        "DDPM-100 U-Net (Ta=8)": (
            "diffusion",
            {"sampler": "ddpm", **UNET},
            DP_CHUNK,
        ),
        "DDIM-10 U-Net (Ta=8)": (
            "diffusion",
            {"sampler": "ddim", **UNET},
            DP_CHUNK,
        ),
    }
    table["ACT (k=8 ensembling)"] = (
        "act",
        SMALL_ACT,
        dataclasses.replace(GEN_CHUNK, action_horizon=1, temporal_ensembling=True),
    )
    # Cheapest first, so that a sweep stopped early keeps the most arms.
    order = ("BC-MSE", "BC-GMM", "CVAE (Ta=8)", "GAN (Ta=8)", "ACT (k=8 ensembling)")
    return {name: table[name] for name in order} | table


def learner_make(algorithm: str):
    """The `make` of an algorithm's learner module."""
    modules = {"act": act, "bc": bc, "cvae": vae, "diffusion": diffusion, "gan": gan}
    return modules[algorithm].make


def arm_config(spec: tuple, num_demos: int, updates: int, batch_size: int):
    """The offline train config of an arm `(algorithm, overrides, chunk)`."""
    algorithm, overrides, chunk = spec
    config = registry.default_config(algorithm)
    fields = {f.name for f in dataclasses.fields(config.learner)}
    overrides = {k: v for k, v in overrides.items() if k in fields}
    return algorithm, dataclasses.replace(
        config,
        learner=dataclasses.replace(config.learner, **overrides),
        chunk=chunk,
        num_demos=num_demos,
        batch_size=batch_size,
        updates_per_chunk=updates // 10,
        num_chunks=10,
    )


def loss_name(metrics: dict) -> str:
    """The training loss among a learner's metrics (the generator's for a GAN)."""
    for name in ("bc/loss", "diffusion/loss", "vae/loss", "act/loss"):
        if name in metrics:
            return name
    return "gan/generator_loss"


def dithering(trajectory, log) -> jax.Array:
    """Per env: the side (sign of x) changes while |y| < 0.4, in episode 1."""
    ended_before = jnp.cumsum(log.done, axis=0) - log.done > 0
    x, y = trajectory.obs[..., 0], trajectory.obs[..., 1]
    near = (jnp.abs(y) < 0.4) & ~ended_before
    side = jnp.where(x < 0, -1, 1)
    changed = (side[1:] != side[:-1]) & near[1:] & near[:-1]
    return jnp.any(changed, axis=0)


def run_arm(spec, num_demos, key, *, seeds, updates, batch_size, eval_envs, heldout):
    """Trains `seeds` seeds of one arm and evaluates them; per-seed numbers.

    `spec` is `(algorithm, learner overrides, chunk config)` as in `arms()`.
    """
    env = envs.make(TASK)
    expert = experts.make(env)
    algorithm, config = arm_config(spec, num_demos, updates, batch_size)
    make = learner_make(algorithm)
    dataset = offline.demonstrations(config, env, expert)
    trainer = offline.make_trainer_from_dataset(config, env, dataset, make)
    flat, learner = offline.build_learners(config, env, make)
    chunk = offline.active_chunk(config)
    view = offline.training_view(heldout, chunk)

    def train_one(seed_key):
        def one_chunk(state, _):
            return trainer.step(state, dataset)

        state, metrics = jax.lax.scan(
            one_chunk, trainer.init(seed_key), None, length=config.num_chunks
        )
        return state, metrics

    def evaluate_one(train_state, seed_key):
        key_rollout, key_heldout = jax.random.split(seed_key)
        trajectory, log = rollout(
            env,
            learner.make_policy(train_state),
            key_rollout,
            eval_envs,
            env.max_steps,
            auto_reset=False,
        )
        first_end = jnp.argmax(log.done, axis=0)[None]  # the first episode's end

        def at_end(values):
            return jnp.take_along_axis(values, first_end, 0)[0]

        success = at_end(log.metrics["success"]) * jnp.any(log.done, axis=0)
        side = at_end(log.metrics["side"])
        chunk_pred, _, _ = flat.make_policy(train_state).step(
            (), Observation(view.obs, view.privileged), key_heldout
        )
        first_action = chunk_pred[:, : env.action_size]
        expert_action = view.action[:, : env.action_size]
        distance = sample_quality.energy_distance(expert_action, first_action)
        return {
            "success": jnp.mean(success),
            "left": jnp.sum(success * (side < 0)) / jnp.maximum(jnp.sum(success), 1),
            "dithering": jnp.mean(dithering(trajectory, log)),
            "energy_distance": distance,
        }

    keys = jax.random.split(key, 2 * seeds)
    train_keys, eval_keys = keys[:seeds], keys[seeds:]
    program = jax.jit(jax.vmap(train_one))
    start = time.perf_counter()
    compiled = program.lower(train_keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(train_keys))
    train_s = time.perf_counter() - start
    results = jax.tree.map(
        np.asarray, jax.jit(jax.vmap(evaluate_one))(state.train_state, eval_keys)
    )
    losses = np.asarray(metrics[loss_name(metrics)])  # [S, chunks]
    late = losses[:, losses.shape[1] // 2 :]
    results["loss_cv"] = np.std(late, axis=1) / np.maximum(
        np.abs(np.mean(late, axis=1)), 1e-8
    )
    results["nonfinite"] = np.asarray(metrics["train/nonfinite"]).sum(axis=1)
    one = jax.tree.map(lambda x: x[0], state.train_state)
    results["latency_ms"] = step_latency_ms(learner.make_policy(one), env)
    return results, {"compile_s": compile_s, "train_s": train_s}


def step_latency_ms(policy, env, steps: int = 64) -> float:
    """Mean ms of one policy step at batch 1 over `steps` steps (warm)."""
    step = jax.jit(policy.step)
    key = jax.random.key(0)
    state = policy.init(key, (1,))
    obs = Observation(
        jnp.zeros((1, env.observation_size)), jnp.zeros((1, env.privileged_size))
    )
    jax.block_until_ready(step(state, obs, key))
    start = time.perf_counter()
    for t in range(steps):
        action, state, _ = step(state, obs, jax.random.fold_in(key, t))
    jax.block_until_ready(action)
    return 1e3 * (time.perf_counter() - start) / steps


def _estimate(values, digits: int = 2) -> str:
    return metrics_lib.format_estimate(
        metrics_lib.summarize_over_seeds(np.asarray(values), statistic="mean"),
        digits,
    )


def table_rows(results: dict, demos: list[int], threshold: float = 0.8) -> list[dict]:
    """One row per arm at its largest finished demonstration count.

    An arm run at only some of the counts is still shown, named with the
    counts it ran at, so a sweep cut short keeps the arms it finished.
    """
    rows = []
    for arm, by_demos in results.items():
        done = [n for n in demos if n in by_demos]
        if not done:
            continue
        top = by_demos[max(done)]
        reached = [
            n for n in done if np.mean(by_demos[n]["numbers"]["success"]) >= threshold
        ]
        if not reached:
            efficiency = f"> {max(done)}"
        elif all(n in done for n in demos if n < min(reached)):
            efficiency = str(min(reached))
        else:  # fewer demonstrations were not tried
            efficiency = f"<= {min(reached)}"
        numbers, timing = top["numbers"], top["timing"]
        partial = (
            ""
            if len(done) == len(demos)
            else f" [run at {', '.join(map(str, done))} demos only]"
        )
        rows.append(
            {
                "policy": arm + partial,
                "success by demos": " / ".join(
                    f"{np.mean(by_demos[n]['numbers']['success']):.2f}"
                    if n in by_demos
                    else "-"
                    for n in demos
                ),
                "success": _estimate(numbers["success"]),
                "left (of successes)": _estimate(numbers["left"]),
                "dithering": _estimate(numbers["dithering"]),
                "energy distance": _estimate(numbers["energy_distance"], digits=4),
                f"demos for {threshold:.0%}": efficiency,
                "success std (seeds)": f"{np.std(numbers['success']):.2f}",
                "loss CV": f"{np.mean(numbers['loss_cv']):.3f}",
                "train s": f"{timing['train_s']:.1f}",
                "step ms (batch 1)": f"{numbers['latency_ms']:.2f}",
            }
        )
    return rows


def _as_lists(run: dict) -> dict:
    numbers = {name: np.asarray(v).tolist() for name, v in run["numbers"].items()}
    return {"numbers": numbers, "timing": run["timing"]}


def define_flags() -> None:
    """Defines the command line's flags (only when run as a script)."""
    flags.DEFINE_list("demos", ["25", "100"], "Demonstration counts to sweep.")
    flags.DEFINE_list("arms", [], "Arms to run (default: all).")
    flags.DEFINE_integer("seeds", 2, "Seeds per arm, vmapped in one program.")
    flags.DEFINE_integer("updates", 6000, "Learner updates per run.")
    flags.DEFINE_integer("batch_size", 256, "Minibatch size.")
    flags.DEFINE_integer("eval_envs", 30, "Evaluation episodes per seed.")
    flags.DEFINE_integer("heldout_demos", 20, "Held-out expert episodes.")
    flags.DEFINE_integer("seed", 0, "Seed of the run keys.")
    flags.DEFINE_bool(
        "resume",
        False,
        "Keep the runs already in out_dir/results.json (same settings and "
        "hardware required) and run only the missing (arm, demos) pairs.",
    )
    flags.DEFINE_string(
        "out_dir",
        str(common.ROOT / "results" / "generative_policies"),
        "Output folder.",
    )


def write(out: pathlib.Path, results: dict, demos: list[int], specs: dict, info):
    """Writes results.json and results.md for the arms finished so far."""
    record = {
        "settings": {**info["settings"], "demos": demos},
        "configs": {
            arm: dataclasses.asdict(
                arm_config(
                    specs[arm],
                    demos[-1],
                    info["settings"]["updates"],
                    info["settings"]["batch_size"],
                )[1]
            )
            for arm in results
        },
        "environment": info["environment"],
        "results": {
            arm: {str(n): _as_lists(run) for n, run in by_demos.items()}
            for arm, by_demos in results.items()
        },
    }
    rows = table_rows(results, demos)
    markdown = metrics_lib.markdown_table(rows) if rows else "(no arm finished yet)"
    common.write_results(
        out,
        record,
        "# Generative policies on two_ways\n\n"
        f"{common.hardware_line(info['environment'])}\n\n{markdown}\n",
    )
    return markdown


def load_finished(out: pathlib.Path, info: dict) -> dict:
    """The runs of an earlier sweep in `out`, to resume it.

    Raises:
      ValueError: the earlier sweep used other settings (demonstration
        counts aside) or ran on other hardware, naming what differs.
    """
    path = out / "results.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    earlier = {k: v for k, v in record["settings"].items() if k != "demos"}
    if earlier != info["settings"]:
        raise ValueError(
            f"--resume: {path} was made with settings {earlier}, this run has "
            f"{info['settings']}; use another --out_dir or the same flags"
        )
    before, now = (
        common.hardware_line(record["environment"]),
        common.hardware_line(info["environment"]),
    )
    if before != now:
        raise ValueError(f"--resume: {path} ran on {before!r}, this is {now!r}")
    return {
        arm: {int(n): run for n, run in by_demos.items()}
        for arm, by_demos in record["results"].items()
    }


def main(argv):
    """Runs every arm at every demonstration count; writes the table.

    The files are rewritten after every run, so a stopped sweep keeps the
    arms it finished.
    """
    del argv
    common.setup_jax()
    out = pathlib.Path(FLAGS.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    requested = sorted(int(n) for n in FLAGS.demos)
    specs = arms()
    names = FLAGS.arms or list(specs)
    env = envs.make(TASK)
    heldout = data_lib.collect(
        env, experts.make(env), jax.random.key(10_000 + FLAGS.seed), FLAGS.heldout_demos
    )
    settings = dict(
        seeds=FLAGS.seeds,
        updates=FLAGS.updates,
        batch_size=FLAGS.batch_size,
        eval_envs=FLAGS.eval_envs,
    )
    info = {
        "settings": {
            **settings,
            "heldout_demos": FLAGS.heldout_demos,
            "task": TASK,
            "seed": FLAGS.seed,
        },
        "environment": common.environment_info(),
    }
    key = jax.random.key(FLAGS.seed)
    results = load_finished(out, info) if FLAGS.resume else {}
    # The table's columns: this run's counts and those of resumed runs.
    demos = sorted(set(requested) | {n for by in results.values() for n in by})
    markdown = None
    for arm in names:
        results.setdefault(arm, {})
        for num_demos in requested:
            if num_demos in results[arm]:
                continue
            numbers, timing = run_arm(
                specs[arm],
                num_demos,
                jax.random.fold_in(key, list(specs).index(arm)),
                heldout=heldout,
                **settings,
            )
            results[arm][num_demos] = {"numbers": numbers, "timing": timing}
            print(
                f"{arm:24s} demos {num_demos:4d} success "
                f"{np.mean(numbers['success']):.2f} {timing}",
                flush=True,
            )
            markdown = write(out, results, demos, specs, info)
    print(markdown or write(out, results, demos, specs, info))


if __name__ == "__main__":
    define_flags()
    app.run(main)
