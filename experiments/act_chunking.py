r"""ACT's ablation on the slot task: chunk size, temporal ensembling, the CVAE.

The claim of ACT (Zhao et al. 2023, Fig. 8): predicting chunks of k future
absolute targets turns a behaviour-cloned policy that fails (k = 1) into one
that succeeds, success rising with k up to a peak; temporal ensembling
changes success by a few points; the CVAE matters on human demonstrations
(whose pauses the latent absorbs) and little on scripted ones. Here on
`slot`, from successful demonstrations of the hesitant "human" and the
fixed-timing "scripted" demonstrator (`ilax.experts.slot`). Every arm is the
ACT learner on one observation (To = 1) with chunks of k actions:

- `k=K`: the chunk is executed open-loop (Ta = k; k = 1 is single-step
  behaviour cloning with the ACT network);
- `k=K + ensembling`: a chunk every step, the stored chunks' actions for the
  step averaged with ACT's weights exp(-0.01 i); it executes the policy
  trained for its open-loop twin (execution does not change training);
- `k=K, no CVAE`: no encoder, z = 0, the L1 loss alone, open-loop;
- `MLP k=K`: the control, an MLP (256x256, MSE) predicting the flattened
  chunk through the same chunk code, open-loop: it separates what chunking
  does from what the small transformer can fit on a CPU budget.

All seeds of a training run in one jitted, vmapped program; all arms of a
demonstration set train on the same demonstrations and are evaluated on the
same episodes. Per arm and seed: success, wall contacts, and the mean
insertion time of the successful episodes.

    python -m experiments.act_chunking                      # CPU defaults
    python -m experiments.act_chunking --settings.chunk_sizes=1,5,10,25,50,100 \
        --settings.ensembling_sizes=25 --settings.no_cvae_sizes=25 \
        --settings.seeds=5 --settings.updates=20000 --settings.batch_size=64 \
        --settings.learning_rate=1e-4 --settings.eval_envs=100 \
        --settings.model_size=128 --settings.layers=2 \
        --settings.feedforward_size=512                     # ACT-lite's grid
    python -m experiments.act_chunking --settings.mask_padding=true \
        --out_dir=results/act_chunking_masked               # ACT's padding mask

The CPU defaults (d_model 64, one layer, 2,500 updates of 32) take about 25
minutes on 2 cores; at that budget the transformer fits the demonstrations
more slowly than the MLP and learns the task poorly below k = 100.

Writes results/act_chunking/: results.json, results.md, results.tex,
success_vs_k.png.
"""

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

from ilax import data as data_lib
from ilax import envs, experts, scripts
from ilax import metrics as metrics_lib
from ilax.algorithms import act, bc, registry
from ilax.chunking import ChunkConfig
from ilax.experts import slot as slot_expert
from ilax.training import evaluation, offline, seeds

TASK = "slot"
ROUNDS = 10  # training runs as this many scanned rounds; one loss each


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The arms, the data, and the budget and ACT network every arm shares."""

    seeds: int = 2
    """Training seeds per arm, vmapped in one program."""
    chunk_sizes: tuple[int, ...] = (1, 10, 20, 50, 100)
    """k of the open-loop ACT arms."""
    ensembling_sizes: tuple[int, ...] = (20,)
    """k run with temporal ensembling."""
    no_cvae_sizes: tuple[int, ...] = (20,)
    """k trained without the CVAE."""
    mlp_sizes: tuple[int, ...] = (1, 10, 20, 50, 100)
    """k of the open-loop MLP control arms (256x256, MSE)."""
    styles: tuple[str, ...] = ("human", "scripted")
    """Demonstrators: human, scripted."""
    demos: int = 50
    """Successful demonstrations per set."""
    updates: int = 2500
    """Learner updates per training."""
    batch_size: int = 32
    """Minibatch size (ACT-lite: 64; ACT: 8)."""
    eval_envs: int = 50
    """Evaluation episodes per seed."""
    model_size: int = 64
    """d_model of the transformer."""
    num_heads: int = 4
    """Attention heads."""
    feedforward_size: int = 256
    """Feed-forward width."""
    layers: int = 1
    """Depth of the encoder, the memory encoder and the decoder."""
    latent_size: int = 32
    """Width of the CVAE latent z."""
    kl_weight: float = 10.0
    """beta of the CVAE loss."""
    learning_rate: float = 1e-3
    """AdamW step size (ACT-lite: 1e-4 over 20k updates; a short CPU run
    needs larger steps)."""
    loss: str = "l1"
    """Reconstruction loss, `l1` (ACT) or `mse`."""
    mask_padding: bool = False
    """Leave chunk steps past an episode's end out of ACT's loss, as ACT's
    code does (`ACTConfig.mask_padding`; the MLP arms never mask)."""


def chunk(k: int, ensembling: bool = False) -> ChunkConfig:
    """One observation; k-action chunks, open-loop or ensembled (ACT's m)."""
    return ChunkConfig(
        prediction_horizon=k,
        action_horizon=1 if ensembling else k,
        temporal_ensembling=ensembling,
        ensembling_decay=0.01,
    )


def arms(settings: Settings) -> dict[str, offline.OfflineTrainConfig]:
    """The ablation's arms in table order, as the configs they train and run."""
    schedule = dict(
        num_demos=settings.demos,
        batch_size=settings.batch_size,
        updates_per_round=max(1, settings.updates // ROUNDS),
        rounds=ROUNDS,
        eval_envs=settings.eval_envs,
    )
    transformer = act.ACTConfig(
        latent_size=settings.latent_size,
        model_size=settings.model_size,
        num_heads=settings.num_heads,
        feedforward_size=settings.feedforward_size,
        encoder_layers=settings.layers,
        decoder_layers=settings.layers,
        kl_weight=settings.kl_weight,
        learning_rate=settings.learning_rate,
        loss=settings.loss,
        mask_padding=settings.mask_padding,
    )
    plain = dataclasses.replace(transformer, use_cvae=False)
    mlp = bc.BCConfig(
        loss="mse", hidden_sizes=(256, 256), learning_rate=settings.learning_rate
    )

    def trained(learner, chunk_config, cls=act.ACTTrainConfig):
        return cls(learner=learner, chunk=chunk_config, **schedule)

    table = {f"k={k}": trained(transformer, chunk(k)) for k in settings.chunk_sizes}
    for k in settings.ensembling_sizes:
        table[f"k={k} + ensembling"] = trained(transformer, chunk(k, ensembling=True))
    for k in settings.no_cvae_sizes:
        table[f"k={k}, no CVAE"] = trained(plain, chunk(k))
    for k in settings.mlp_sizes:
        table[f"MLP k={k}"] = trained(mlp, chunk(k), bc.BCTrainConfig)
    return table


def training_of(config: offline.OfflineTrainConfig) -> offline.OfflineTrainConfig:
    """What a config trains: itself without its chunks' execution rule.

    Arms that differ only in how they execute chunks share one training.
    """
    return dataclasses.replace(
        config,
        chunk=dataclasses.replace(
            config.chunk, action_horizon=1, temporal_ensembling=False
        ),
    )


def evaluate(config, env, learner, train_states, keys) -> dict:
    """Per seed: success, contact and mean insertion time of successes (s)."""

    def one_seed(train_state, key):
        policy = offline.env_policy(config, env, learner, train_state)
        _, log = evaluation.one_episode_each(env, policy, key, config.eval_envs)
        end = metrics_lib.first_episode(log)
        return {
            "success": jnp.mean(end["success"]),
            "contact": jnp.mean(end["contact"]),
            # NaN where no episode succeeded.
            "insertion_time": jnp.sum(end["success"] * end["insertion_time"])
            / jnp.sum(end["success"]),
        }

    return jax.tree.map(np.asarray, jax.jit(jax.vmap(one_seed))(train_states, keys))


def run_style(style: str, settings: Settings, key: jax.Array) -> dict:
    """Every arm on one demonstration set: per-seed numbers and timings.

    Every arm is evaluated on the same episodes (seed s of every arm draws
    the same slots, starts and pushes), so arms are compared pairwise.
    """
    key_data, key_train, key_eval = jax.random.split(key, 3)
    env = envs.make(TASK)
    expert = experts.make(env, style=style)
    dataset, data_info = data_lib.collect_successful(
        env, expert, key_data, settings.demos
    )
    trainings, results = {}, {}
    for name, config in arms(settings).items():
        algorithm = registry.of_config(config)
        learner = algorithm.make_learner(config, env)
        training = repr(training_of(config))  # configs are values, not hashable
        if training not in trainings:
            trainer = offline.make_trainer_from_dataset(
                training_of(config), env, dataset, learner
            )
            keys = jax.random.split(
                jax.random.fold_in(key_train, len(trainings)), settings.seeds
            )
            trainings[training] = seeds.run_seeds(trainer, keys)
        runs = trainings[training]
        loss = np.asarray(runs.metrics[algorithm.loss_metric])
        start = time.perf_counter()
        keys = jax.random.split(jax.random.fold_in(key_eval, 0), settings.seeds)
        numbers = evaluate(config, env, learner, runs.state.train_state, keys)
        numbers.update(final_loss=loss[:, -1], loss_curve=loss)
        timing = {"compile_s": runs.compile_s, "train_s": runs.run_s}
        results[name] = {
            "numbers": numbers,
            "timing": {**timing, "eval_s": time.perf_counter() - start},
        }
        print(f"{style:8s} {name:22s} success {np.round(numbers['success'], 2)}")
    return {"data": {**data_info, "steps": dataset.num_steps}, "arms": results}


def table_rows(results: dict, names: list[str], metrics: tuple[str, ...]) -> list:
    """One row per arm, one column per demonstration set and metric."""
    labels = {"human": "human-like", "scripted": "scripted"}
    rows = []
    for name in names:
        row = {"arm": name}
        for metric in metrics:
            for style, run in results.items():
                values = np.asarray(run["arms"][name]["numbers"][metric], np.float64)
                values = values[np.isfinite(values)]  # seeds without a value
                row[f"{labels.get(style, style)} {metric}"] = (
                    metrics_lib.summarize_over_seeds(values, "mean")
                    if values.size
                    else "-"
                )
        rows.append(row)
    return rows


def plot_success_vs_k(results: dict, configs: dict, path) -> None:
    """Success of the open-loop arms against k, one line per network and set."""
    curves = {}
    for network in ("ACT", "MLP"):
        names = [
            name
            for name, config in configs.items()
            if name.startswith("MLP") == (network == "MLP")
            and not config.chunk.temporal_ensembling
            and ", no CVAE" not in name
        ]
        if len(names) < 2:
            continue
        ks = [configs[name].chunk.prediction_horizon for name in names]
        for style, run in results.items():
            success = [run["arms"][name]["numbers"]["success"] for name in names]
            curves[f"{network}, {style}"] = (ks, np.stack(success, axis=1))
    if curves:
        metrics_lib.plot_curves(
            curves,
            xlabel="chunk size k (open loop)",
            ylabel="success (mean over seeds, 95% CI)",
            title="slot: success against chunk size",
            path=path,
            log_x=True,
            statistic="mean",
        )


def main(argv):
    """Runs every arm on every demonstration set; writes the tables and plot."""
    del argv
    settings, out, _ = scripts.parsed()
    scripts.check_choices(settings, "styles", slot_expert.STYLES)
    scripts.setup_jax()
    start = time.perf_counter()
    key = jax.random.key(settings.seed)
    results = {
        style: run_style(style, settings, jax.random.fold_in(key, index))
        for index, style in enumerate(settings.styles)
    }
    wall_s = time.perf_counter() - start
    configs = arms(settings)
    tables = {
        "Success": table_rows(results, list(configs), ("success",)),
        "Wall contacts and insertion time (s) of the successful episodes": (
            table_rows(results, list(configs), ("contact", "insertion_time"))
        ),
    }
    out.mkdir(parents=True, exist_ok=True)
    plot_success_vs_k(results, configs, out / "success_vs_k.png")
    info = scripts.environment_info()
    record = {
        "settings": {**dataclasses.asdict(settings), "task": TASK},
        "configs": configs,
        "environment": info,
        "wall_s": wall_s,
        "results": results,
    }
    success, secondary = (metrics_lib.markdown_table(rows) for rows in tables.values())
    summary = (
        f"# ACT chunking ablation on slot\n\n{scripts.hardware_line(info)}; "
        f"{settings.demos} successful demonstrations per set, {settings.seeds} seeds "
        f"x {settings.eval_envs} episodes, {settings.updates} updates of batch "
        f"{settings.batch_size}, d_model {settings.model_size}, {settings.layers} "
        f"layer(s); wall clock {wall_s / 60:.1f} min.\n\n"
        f"Success, mean over seeds [95% bootstrap CI]:\n\n{success}\n\n"
        "Wall contacts and insertion time (s) of the successful episodes (seeds "
        f"without a success left out):\n\n{secondary}\n"
    )
    scripts.write(out, record, summary, tables=tables)
    print(summary)


if __name__ == "__main__":
    scripts.define_flags("act_chunking", Settings())
    app.run(main)
