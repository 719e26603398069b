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
- sample efficiency: the fewest demonstrations (of `demos`) at which the
  seeds' mean success reaches 80%;
- ease of training: the spread of success over seeds and the coefficient of
  variation of the training loss over the second half of training;
- training time (compile apart) and the latency of one policy step at
  batch 1 (mean over 64 steps, so chunked policies amortize their
  predictions as they run).

    python -m experiments.generative_policies                # CPU defaults
    python -m experiments.generative_policies --settings.demos=10,25,50,100,200 \
        --settings.updates=20000 --settings.seeds=5          # the full sweep

Writes results/generative_policies/: results.json, results.md, results.tex.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

from ilax import data as data_lib
from ilax import envs, experts, scripts, timing
from ilax import metrics as metrics_lib
from ilax.algorithms import act, bc, diffusion, gan, registry, vae
from ilax.chunking import ChunkConfig
from ilax.envs import two_ways
from ilax.training import evaluation, offline, seeds
from ilax.types import Observation

TASK = "two_ways"


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The sweep: demonstration counts, budget, evaluation."""

    seeds: int = 2
    """Seeds per arm, vmapped in one program."""
    demos: tuple[int, ...] = (25, 100)
    """Demonstration counts to sweep."""
    arms: tuple[str, ...] = ()
    """Arms to run (names as in the table); empty runs them all."""
    updates: int = 6000
    """Learner updates per run (10 rounds)."""
    batch_size: int = 256
    """Minibatch size."""
    eval_envs: int = 30
    """Evaluation episodes per seed."""
    heldout_demos: int = 20
    """Held-out expert episodes for the energy distance."""
    resume: bool = False
    """Keep the runs already in out_dir/results.json (same settings and
    hardware required) and run only the missing (arm, demos) pairs."""


# What must agree for runs of two sweeps to share a table.
RESULT_SETTINGS = ("seeds", "updates", "batch_size", "eval_envs", "heldout_demos")

# Diffusion Policy's horizons (To, Tp, Ta) = (2, 16, 8); the CVAE, GAN and ACT
# arms execute 8-action chunks from one observation.
DP_CHUNK = ChunkConfig(obs_horizon=2, prediction_horizon=16, action_horizon=8)
GEN_CHUNK = ChunkConfig(obs_horizon=1, prediction_horizon=8, action_horizon=8)
# Sized for a CPU run: a quarter of the U-Net widths the reference notes
# suggest for this task (64, 128, 256) (4 channels per group), and a small
# ACT (d 64, one layer each; the paper's kl_weight 10 collapses the latent on
# toy data: see README).
UNET = dict(denoiser="unet", down_sizes=(16, 32, 64), groups=4)
SMALL_ACT = act.ACTConfig(
    model_size=64,
    num_heads=4,
    feedforward_size=256,
    encoder_layers=1,
    decoder_layers=1,
    learning_rate=1e-3,
)


def arms() -> dict[str, offline.OfflineTrainConfig]:
    """Arm name -> its train config (cheapest first: a stopped sweep keeps most).

    The order also seeds each arm (its index), so it stays as it is.
    """
    dp = functools.partial(diffusion.DiffusionTrainConfig, chunk=DP_CHUNK)
    return {
        "BC-MSE": bc.BCTrainConfig(learner=bc.BCConfig(loss="mse")),
        "BC-GMM": bc.BCTrainConfig(learner=bc.BCConfig(loss="gmm", num_components=5)),
        "CVAE (Ta=8)": vae.CVAETrainConfig(
            learner=vae.VAEConfig(kl_weight=0.1, prior_sample=True), chunk=GEN_CHUNK
        ),
        "GAN (Ta=8)": gan.GANTrainConfig(chunk=GEN_CHUNK),
        "ACT (k=8 ensembling)": act.ACTTrainConfig(
            learner=SMALL_ACT,
            chunk=ChunkConfig(
                prediction_horizon=8, action_horizon=1, temporal_ensembling=True
            ),
        ),
        "DDPM-100 MLP (Ta=8)": dp(learner=diffusion.DiffusionConfig(sampler="ddpm")),
        "DDIM-10 MLP (Ta=8)": dp(learner=diffusion.DiffusionConfig(sampler="ddim")),
        "DDPM-100 MLP (Ta=1)": dp(
            learner=diffusion.DiffusionConfig(sampler="ddpm"),
            chunk=dataclasses.replace(DP_CHUNK, action_horizon=1),
        ),
        "DDPM-100 U-Net (Ta=8)": dp(
            learner=diffusion.DiffusionConfig(sampler="ddpm", **UNET)
        ),
        "DDIM-10 U-Net (Ta=8)": dp(
            learner=diffusion.DiffusionConfig(sampler="ddim", **UNET)
        ),
    }


def scheduled(config, num_demos: int, settings: Settings):
    """An arm's config with the sweep's data and budget (10 rounds)."""
    return dataclasses.replace(
        config,
        num_demos=num_demos,
        batch_size=settings.batch_size,
        updates_per_round=settings.updates // 10,
        rounds=10,
    )


def run_arm(config, key: jax.Array, settings: Settings, heldout) -> tuple[dict, dict]:
    """Trains the seeds of one arm (a scheduled config) and evaluates them."""
    env = envs.make(TASK)
    algorithm = registry.of_config(config)
    trainer = algorithm.make_trainer(config, env, experts.make(env))
    learner = algorithm.make_learner(config, env)
    view = offline.training_view(heldout, offline.active_chunk(config))

    def evaluate(run_state, seed_key):
        key_rollout, key_heldout = jax.random.split(seed_key)
        trajectory, log = evaluation.one_episode_each(
            env, trainer.policy(run_state), key_rollout, settings.eval_envs
        )
        end = metrics_lib.first_episode(log)
        success = end["success"]
        chunk, _, _ = learner.make_policy(run_state.train_state).step(
            (), Observation(view.obs, view.privileged), key_heldout
        )
        first_action, expert_action = (
            a[:, : env.action_size] for a in (chunk, view.action)
        )
        return {
            "success": jnp.mean(success),
            "left": jnp.sum(success * (end["side"] < 0))
            / jnp.maximum(jnp.sum(success), 1),
            "dithering": jnp.mean(two_ways.dithering(trajectory, log)),
            "energy_distance": metrics_lib.energy_distance(expert_action, first_action),
        }

    keys = jax.random.split(key, 2 * settings.seeds)
    runs = seeds.run_seeds(trainer, keys[: settings.seeds])
    numbers = jax.jit(jax.vmap(evaluate))(runs.state, keys[settings.seeds :])
    numbers = jax.tree.map(np.asarray, numbers)
    losses = np.asarray(runs.metrics[algorithm.loss_metric])  # [S, rounds]
    late = losses[:, losses.shape[1] // 2 :]
    numbers["loss_cv"] = np.std(late, axis=1) / np.maximum(
        np.abs(np.mean(late, axis=1)), 1e-8
    )
    numbers["nonfinite"] = np.asarray(runs.metrics["train/nonfinite"]).sum(axis=1)
    one = jax.tree.map(lambda x: x[0], runs.state)
    zeros = Observation(
        jnp.zeros((1, env.observation_size)), jnp.zeros((1, env.privileged_size))
    )
    seconds = timing.policy_step_latency_s(trainer.policy(one), zeros)
    numbers["latency_ms"] = 1e3 * seconds
    return numbers, {"compile_s": runs.compile_s, "train_s": runs.run_s}


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
        success = {n: np.mean(by_demos[n]["numbers"]["success"]) for n in done}
        reached = [n for n in done if success[n] >= threshold]
        if not reached:
            efficiency = f"> {max(done)}"
        elif all(n in done for n in demos if n < min(reached)):
            efficiency = str(min(reached))
        else:  # fewer demonstrations were not tried
            efficiency = f"<= {min(reached)}"
        numbers, timed = by_demos[max(done)]["numbers"], by_demos[max(done)]["timing"]
        counts = ", ".join(map(str, done))
        partial = "" if len(done) == len(demos) else f" [run at {counts} demos only]"
        rows.append(
            {
                "policy": arm + partial,
                "success by demos": " / ".join(
                    f"{success[n]:.2f}" if n in success else "-" for n in demos
                ),
                "success": estimate(numbers["success"]),
                "left (of successes)": estimate(numbers["left"]),
                "dithering": estimate(numbers["dithering"]),
                "energy distance": estimate(numbers["energy_distance"], digits=4),
                f"demos for {threshold:.0%}": efficiency,
                "success std (seeds)": f"{np.std(numbers['success']):.2f}",
                "loss CV": f"{np.mean(numbers['loss_cv']):.3f}",
                "train s": f"{timed['train_s']:.1f}",
                "step ms (batch 1)": f"{numbers['latency_ms']:.2f}",
            }
        )
    return rows


def estimate(values, digits: int = 2) -> str:
    """Mean over seeds [95% bootstrap interval], formatted."""
    return metrics_lib.format_estimate(
        metrics_lib.summarize_over_seeds(np.asarray(values), statistic="mean"), digits
    )


def finished_runs(out, settings: Settings, info: dict) -> dict:
    """The runs of an earlier sweep in `out` with the same settings and hardware.

    Raises:
      ValueError: naming the settings (demonstration counts aside) or the
        hardware that differ.
    """
    same = {name: getattr(settings, name) for name in (*RESULT_SETTINGS, "seed")}
    earlier = scripts.earlier_results(out, same, info)
    return {
        arm: {int(n): run for n, run in by_demos.items()}
        for arm, by_demos in earlier.items()
    }


def main(argv):
    """Runs every arm at every demonstration count; rewrites the table after each."""
    del argv
    settings, out, _ = scripts.parsed()
    specs = arms()
    scripts.check_choices(settings, "arms", list(specs))
    scripts.setup_jax()
    info = scripts.environment_info()
    env = envs.make(TASK)
    heldout = data_lib.collect(
        env,
        experts.make(env),
        jax.random.key(10_000 + settings.seed),
        settings.heldout_demos,
    )
    results = finished_runs(out, settings, info) if settings.resume else {}
    demos = sorted(set(settings.demos) | {n for by in results.values() for n in by})
    key = jax.random.key(settings.seed)
    for arm in settings.arms or list(specs):
        results.setdefault(arm, {})
        for num_demos in sorted(settings.demos):
            if num_demos in results[arm]:
                continue
            config = scheduled(specs[arm], num_demos, settings)
            arm_key = jax.random.fold_in(key, list(specs).index(arm))
            numbers, timed = run_arm(config, arm_key, settings, heldout)
            results[arm][num_demos] = {"numbers": numbers, "timing": timed}
            print(
                f"{arm:24s} demos {num_demos:4d} success "
                f"{np.mean(numbers['success']):.2f} {timed}",
                flush=True,
            )
            rows = table_rows(results, demos)
            configs = {a: scheduled(specs[a], demos[-1], settings) for a in results}
            scripts.write(
                out,
                {
                    "settings": {
                        **dataclasses.asdict(settings),
                        "task": TASK,
                        "demos": demos,
                    },
                    "configs": configs,
                    "environment": info,
                    "results": results,
                },
                f"# Generative policies on {TASK}\n\n"
                f"{scripts.hardware_line(info)}\n\n{metrics_lib.markdown_table(rows)}\n",
                tables={f"Generative policies on {TASK}": rows},
            )
    print(metrics_lib.markdown_table(table_rows(results, demos)))


if __name__ == "__main__":
    scripts.define_flags("generative_policies", Settings())
    app.run(main)
