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
    python -m experiments.act_chunking --chunk_sizes=1,5,10,25,50,100 \
        --ensembling_sizes=25 --no_cvae_sizes=25 --seeds=5 --updates=20000 \
        --batch_size=64 --learning_rate=1e-4 --eval_envs=100 --model_size=128 \
        --layers=2 --feedforward_size=512                   # ACT-lite's grid
    python -m experiments.act_chunking --mask_padding \
        --out_dir=results/act_chunking_masked               # ACT's padding mask

The defaults (d_model 64, one layer, 2,500 updates of 32, ACT and MLP at
k = 1, 10, 20, 50, 100) take about 25 minutes on 2 loaded CPU cores. At
that budget the ACT transformer learns the task poorly below k = 100 (see
results.md): it fits the demonstrations more slowly than the MLP and stays
less precise in x near the wall, where the slot leaves 5 mm of clearance.

Writes results/act_chunking/: results.json, results.md, success_vs_k.png.
"""

import dataclasses
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
from ilax.algorithms import act, bc, offline
from ilax.algorithms.bc.trainer import BCTrainConfig
from ilax.algorithms.generative import ACTTrainConfig
from ilax.chunking import ChunkConfig

FLAGS = flags.FLAGS
TASK = "slot"
STYLES = ("human", "scripted")
ENSEMBLING_DECAY = 0.01  # ACT's m
LOSS_POINTS = 10  # training runs as this many scanned chunks; one loss each
# The control arms' network: behaviour cloning of the flattened chunk by an
# MLP (MSE), trained and executed by the same chunk code as ACT.
MLP_HIDDEN = (256, 256)


@dataclasses.dataclass(frozen=True)
class Arm:
    """One row of the table: a chunk size and how the policy is built and run."""

    chunk_size: int
    ensembling: bool = False
    use_cvae: bool = True
    network: str = "act"  # or "mlp": the MLP control (no CVAE)

    @property
    def name(self) -> str:
        suffix = " + ensembling" if self.ensembling else ""
        name = f"k={self.chunk_size}{suffix}"
        if self.network == "mlp":
            return "MLP " + name
        return name + ("" if self.use_cvae else ", no CVAE")

    @property
    def training(self) -> tuple[int, bool, str]:
        """What the arm trains: arms with the same triple share one training."""
        return self.chunk_size, self.use_cvae, self.network

    @property
    def make(self):
        """The flat learner's `make`."""
        return bc.make if self.network == "mlp" else act.make

    @property
    def loss_metric(self) -> str:
        return "bc/loss" if self.network == "mlp" else "act/loss"

    def chunk(self) -> ChunkConfig:
        """One observation; k-action chunks, open-loop or ensembled."""
        k = self.chunk_size
        return ChunkConfig(
            obs_horizon=1,
            prediction_horizon=k,
            action_horizon=1 if self.ensembling else k,
            temporal_ensembling=self.ensembling,
            ensembling_decay=ENSEMBLING_DECAY,
        )


def make_arms(
    chunk_sizes, ensembling_sizes=(), no_cvae_sizes=(), mlp_sizes=()
) -> list[Arm]:
    """The ablation's arms, in table order.

    Open-loop arms at every k, the ensembling and no-CVAE arms, then the
    open-loop MLP controls.
    """
    return (
        [Arm(k) for k in chunk_sizes]
        + [Arm(k, ensembling=True) for k in ensembling_sizes]
        + [Arm(k, use_cvae=False) for k in no_cvae_sizes]
        + [Arm(k, use_cvae=False, network="mlp") for k in mlp_sizes]
    )


@dataclasses.dataclass(kw_only=True)
class Settings:
    """The budget and the ACT network shared by every arm."""

    seeds: int = 2
    """Training seeds per arm, vmapped in one program."""
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


def train_config(
    arm: Arm, settings: Settings, num_demos: int
) -> ACTTrainConfig | BCTrainConfig:
    """The offline config of an arm (data and schedule included)."""
    schedule = dict(
        chunk=arm.chunk(),
        num_demos=num_demos,
        batch_size=settings.batch_size,
        updates_per_chunk=max(1, settings.updates // LOSS_POINTS),
        num_chunks=LOSS_POINTS,
        eval_envs=settings.eval_envs,
    )
    if arm.network == "mlp":
        learner = bc.BCConfig(
            loss="mse", hidden_sizes=MLP_HIDDEN, learning_rate=settings.learning_rate
        )
        return BCTrainConfig(learner=learner, **schedule)
    learner = act.ACTConfig(
        chunk_size=arm.chunk_size,
        latent_size=settings.latent_size,
        model_size=settings.model_size,
        num_heads=settings.num_heads,
        feedforward_size=settings.feedforward_size,
        encoder_layers=settings.layers,
        decoder_layers=settings.layers,
        kl_weight=settings.kl_weight,
        use_cvae=arm.use_cvae,
        learning_rate=settings.learning_rate,
        loss=settings.loss,
        mask_padding=settings.mask_padding,
    )
    return ACTTrainConfig(learner=learner, **schedule)


def first_episode_success(log) -> jax.Array:
    """Per environment: the first episode ended in success, `[B]`."""
    return jnp.sum(log.done * log.metrics["success"], axis=0)


def successful_demonstrations(
    env, key: jax.Array, num_demos: int, *, max_rounds: int = 10, **expert_overrides
) -> tuple[data_lib.Dataset, dict]:
    """The first `num_demos` successful episodes of a slot demonstrator.

    Collects in rounds of `num_demos` plus a margin until enough episodes
    succeeded (the default demonstrators fail about once in 5,000 episodes).

    `expert_overrides` are `SlotExpertConfig` fields, e.g. `style="human"`.

    Returns:
      The dataset and `{"collected": episodes run, "failed": episodes
      dropped as failures, "kept": num_demos}`.

    Raises:
      RuntimeError: fewer than `num_demos` successes after `max_rounds`.
    """
    expert = experts.make(env, **expert_overrides)
    kept, collected, failed = [], 0, 0
    per_round = num_demos + max(4, num_demos // 10)
    for index in range(max_rounds):
        trajectory, log = data_lib.collect_trajectory(
            env,
            expert,
            jax.random.fold_in(key, index),
            np.float32(0.0),
            num_episodes=per_round,
            max_steps=env.max_steps,
        )
        success = np.asarray(first_episode_success(log)) > 0.5
        episodes = data_lib.episodes(data_lib.from_trajectory(trajectory))
        kept += [e for e, ok in zip(episodes, success, strict=True) if ok]
        collected += per_round
        failed += int(np.sum(~success))
        if len(kept) >= num_demos:
            info = {"collected": collected, "failed": failed, "kept": num_demos}
            return data_lib.from_episodes(kept[:num_demos]), info
    raise RuntimeError(
        f"successful_demonstrations: {len(kept)} of {collected} episodes of "
        f"{expert_overrides} succeeded; {num_demos} were asked for"
    )


def train(arm: Arm, settings: Settings, dataset, key: jax.Array):
    """Trains every seed of an arm's training in one program.

    Returns:
      (the train states, leading `[seeds]`; the loss per seed and chunk of
      updates, `[seeds, LOSS_POINTS]`; compile and train seconds).
    """
    env = envs.make(TASK)
    config = train_config(arm, settings, dataset.num_episodes)
    trainer = offline.make_trainer_from_dataset(config, env, dataset, arm.make)

    def train_one(seed_key):
        def one_chunk(state, _):
            return trainer.step(state, dataset)

        state, metrics = jax.lax.scan(
            one_chunk, trainer.init(seed_key), None, length=config.num_chunks
        )
        return state.train_state, metrics[arm.loss_metric]

    keys = jax.random.split(key, settings.seeds)
    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(train_one)).lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    states, loss = jax.block_until_ready(compiled(keys))
    timing = {"compile_s": compile_s, "train_s": time.perf_counter() - start}
    return states, np.asarray(loss), timing


def evaluate(arm: Arm, settings: Settings, states, key: jax.Array) -> dict:
    """Per seed: success, contact and mean insertion time of successes (s)."""
    env = envs.make(TASK)
    config = train_config(arm, settings, 1)
    _, learner = offline.build_learners(config, env, arm.make)

    def evaluate_one(train_state, seed_key):
        _, log = rollout(
            env,
            learner.make_policy(train_state),
            seed_key,
            settings.eval_envs,
            env.max_steps,
            auto_reset=False,
        )
        success = first_episode_success(log)
        contact = jnp.sum(log.done * log.metrics["contact"], axis=0)
        time_s = jnp.sum(log.done * log.metrics["insertion_time"], axis=0)
        successes = jnp.sum(success)
        return {
            "success": jnp.mean(success),
            "contact": jnp.mean(contact),
            # NaN where no episode succeeded.
            "insertion_time": jnp.sum(success * time_s) / successes,
        }

    keys = jax.random.split(key, settings.seeds)
    return jax.tree.map(np.asarray, jax.jit(jax.vmap(evaluate_one))(states, keys))


def run_style(style, arms, settings, num_demos, key) -> dict:
    """Every arm on one demonstration set: per-seed numbers and timings.

    Every arm is evaluated on the same episodes (seed s of every arm draws
    the same slots, starts and pushes), so arms are compared pairwise.
    """
    key_data, key_train, key_eval = jax.random.split(key, 3)
    env = envs.make(TASK)
    dataset, data_info = successful_demonstrations(
        env, key_data, num_demos, style=style
    )
    trained, results = {}, {}
    for arm in arms:
        if arm.training not in trained:
            trained[arm.training] = train(
                arm, settings, dataset, jax.random.fold_in(key_train, len(trained))
            )
        states, loss, timing = trained[arm.training]
        start = time.perf_counter()
        numbers = evaluate(arm, settings, states, jax.random.fold_in(key_eval, 0))
        numbers["final_loss"] = loss[:, -1]
        numbers["loss_curve"] = loss
        results[arm.name] = {
            "numbers": numbers,
            "timing": {**timing, "eval_s": time.perf_counter() - start},
        }
        success = np.round(numbers["success"], 2).tolist()
        print(f"{style:8s} {arm.name:22s} success {success}", flush=True)
    return {"data": {**data_info, "steps": dataset.num_steps}, "arms": results}


def _estimate(values) -> str:
    """Mean over seeds [95% bootstrap CI]; seeds without a value left out."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "-"
    return metrics_lib.format_estimate(
        metrics_lib.summarize_over_seeds(values, statistic="mean")
    )


def table_rows(results: dict, arms: list[Arm], metrics: tuple[str, ...]) -> list:
    """One row per arm, one column per demonstration set and metric."""
    labels = {"human": "human-like", "scripted": "scripted"}
    rows = []
    for arm in arms:
        row = {"arm": arm.name}
        for metric in metrics:
            for style, run in results.items():
                numbers = run["arms"][arm.name]["numbers"]
                row[f"{labels.get(style, style)} {metric}"] = _estimate(numbers[metric])
        rows.append(row)
    return rows


def plot_success_vs_k(results: dict, arms: list[Arm], path) -> None:
    """Success of the open-loop arms against k, one line per network and set.

    The networks: ACT with its CVAE, and the MLP control.
    """
    families = {
        "ACT": [arm for arm in arms if not arm.ensembling and arm.use_cvae],
        "MLP": [arm for arm in arms if arm.network == "mlp" and not arm.ensembling],
    }
    curves = {
        f"{network}, {style}": (
            [arm.chunk_size for arm in open_loop],
            np.stack(
                [run["arms"][arm.name]["numbers"]["success"] for arm in open_loop],
                axis=1,
            ),
        )
        for network, open_loop in families.items()
        if len(open_loop) >= 2
        for style, run in results.items()
    }
    if not curves:
        return
    metrics_lib.plot_curves(
        curves,
        xlabel="chunk size k (open loop)",
        ylabel="success (mean over seeds, 95% CI)",
        title="slot: success against chunk size",
        path=path,
        log_x=True,
        statistic="mean",
    )


def _as_lists(value):
    """Arrays as nested lists with NaN as None (valid JSON)."""
    if isinstance(value, dict):
        return {name: _as_lists(v) for name, v in value.items()}
    if isinstance(value, np.ndarray | list | tuple):
        return [_as_lists(v) for v in np.asarray(value).tolist()]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def define_flags() -> None:
    """Defines the command line's flags (only when run as a script)."""
    defaults = Settings()
    flags.DEFINE_list("chunk_sizes", ["1", "10", "20", "50", "100"], "Open-loop k.")
    flags.DEFINE_list("ensembling_sizes", ["20"], "k run with temporal ensembling.")
    flags.DEFINE_list("no_cvae_sizes", ["20"], "k trained without the CVAE.")
    flags.DEFINE_list(
        "mlp_sizes",
        ["1", "10", "20", "50", "100"],
        "Open-loop k of the MLP control arms.",
    )
    flags.DEFINE_list("styles", list(STYLES), "Demonstrators: human, scripted.")
    flags.DEFINE_integer("demos", 50, "Successful demonstrations per set.")
    flags.DEFINE_integer("seed", 0, "Seed of the run keys (data, training, eval).")
    kinds = {
        bool: flags.DEFINE_bool,
        int: flags.DEFINE_integer,
        float: flags.DEFINE_float,
    }
    for field in dataclasses.fields(Settings):
        value = getattr(defaults, field.name)
        define = kinds.get(type(value), flags.DEFINE_string)
        define(field.name, value, f"Settings.{field.name} (see act_chunking).")
    flags.DEFINE_string(
        "out_dir", str(common.ROOT / "results" / "act_chunking"), "Output folder."
    )


def main(argv):
    """Runs every arm on every demonstration set; writes the tables and plot."""
    del argv
    common.setup_jax()
    start = time.perf_counter()
    out = pathlib.Path(FLAGS.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [field.name for field in dataclasses.fields(Settings)]
    settings = Settings(**{name: FLAGS[name].value for name in names})
    arms = make_arms(
        *(
            [int(k) for k in FLAGS[name].value]
            for name in (
                "chunk_sizes",
                "ensembling_sizes",
                "no_cvae_sizes",
                "mlp_sizes",
            )
        )
    )
    key = jax.random.key(FLAGS.seed)
    results = {
        style: run_style(
            style, arms, settings, FLAGS.demos, jax.random.fold_in(key, index)
        )
        for index, style in enumerate(FLAGS.styles)
    }
    wall_s = time.perf_counter() - start
    success = metrics_lib.markdown_table(table_rows(results, arms, ("success",)))
    secondary = metrics_lib.markdown_table(
        table_rows(results, arms, ("contact", "insertion_time"))
    )
    plot_success_vs_k(results, arms, out / "success_vs_k.png")
    environment = common.environment_info()
    record = {
        "settings": {
            **dataclasses.asdict(settings),
            "demos": FLAGS.demos,
            "styles": list(FLAGS.styles),
            "arms": [arm.name for arm in arms],
            "seed": FLAGS.seed,
            "task": TASK,
        },
        "configs": {
            arm.name: dataclasses.asdict(train_config(arm, settings, FLAGS.demos))
            for arm in arms
        },
        "environment": environment,
        "wall_s": wall_s,
        "results": _as_lists(results),
    }
    summary = (
        f"# ACT chunking ablation on slot\n\n{common.hardware_line(environment)}; "
        f"{FLAGS.demos} successful demonstrations per set, {settings.seeds} seeds x "
        f"{settings.eval_envs} episodes, {settings.updates} updates of batch "
        f"{settings.batch_size}, d_model {settings.model_size}, {settings.layers} "
        f"layer(s); wall clock {wall_s / 60:.1f} min.\n\n"
        f"Success, mean over seeds [95% bootstrap CI]:\n\n{success}\n\n"
        "Wall contacts and insertion time (s) of the successful episodes (seeds "
        f"without a success left out):\n\n{secondary}\n"
    )
    common.write_results(out, record, summary)
    print(summary)


if __name__ == "__main__":
    define_flags()
    app.run(main)
