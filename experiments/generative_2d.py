r"""Generative families on 2-D toy data: diffusion, CVAE and GAN by their samples.

Eight Gaussians, two moons and a Swiss roll (`ilax.data.toy2d`), each learned
by the diffusion (one net, sampled with DDPM-100, with the policy's DDIM-10
and with DDIM-10 clipping its x0 estimates), conditional VAE and GAN
learners made unconditional by a constant observation (zeros of width 1).
Every family gets the same updates, batch and hidden widths; all seeds of a
family run as one `vmap` inside one jitted program. Samples are compared
with a held-out set by energy distance, RBF MMD^2 and sliced W2, next to two
references: a Gaussian with the training data's mean and covariance (what a
unimodal model can do) and the data-vs-data floor (a fresh held-out set of
the same size). On eight Gaussians also the per-mode mass, the off-mode
fraction and the modes covered.

    python -m experiments.generative_2d       # 6 CPU-minutes (2 cores: 3-9 min)
    python -m experiments.generative_2d --seeds=10 --updates=20000

Writes results/generative_2d/: results.json (settings, per-seed numbers,
versions, hardware), results.md (the table) and samples.png (rows datasets,
columns the data and each method's samples from seed 0).
"""

import dataclasses
import functools
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks import common
from ilax import metrics as metrics_lib
from ilax.algorithms import diffusion, gan, vae
from ilax.data import toy2d
from ilax.networks.denoisers import mlp_denoiser
from ilax.types import Batch, Learner, Observation

FLAGS = flags.FLAGS

FAMILIES = ("diffusion", "cvae", "gan")
_DDIM_10 = {"sampler": "ddim", "ddim_steps": 10}
DDIM_CLIPPED = "diffusion DDIM-10, x0 clipped"
# Sampling methods: (family whose trained state they use, config overrides).
METHODS = {
    "diffusion DDPM-100": ("diffusion", {}),
    "diffusion DDIM-10": ("diffusion", _DDIM_10),
    DDIM_CLIPPED: ("diffusion", _DDIM_10),
    "CVAE": ("cvae", {}),
    "GAN": ("gan", {}),
}
# Bound of DDIM's clean-sample estimates, in normalized units: standardized,
# no coordinate of a toy set passes 2.3 (measured on 100,000 points). The
# policy's DDIM does not clip, and its first step divides by sqrt(alpha_T) ~
# 5e-4 (the cosine schedule), so a small error of the net becomes an outlier.
DDIM_CLIP = 3.0
GAUSSIAN = "Gaussian (moment-matched)"
FLOOR = "data vs data (floor)"
# A mode counts as covered when it holds at least a quarter of its fair share
# (1/8) of the samples.
MIN_MODE_FRACTION = 0.25 / 8
CONDITION_SIZE = 1  # the constant observation's width


def family_config(family: str, hidden_sizes: tuple[int, ...], **overrides):
    """The learner config of a family at the shared widths."""
    if family == "diffusion":
        return diffusion.DiffusionConfig(hidden_sizes=hidden_sizes, **overrides)
    if family == "cvae":
        # kl_weight 0.1: at 1 the posterior collapses onto the prior on
        # unit-variance data (see VAEConfig.kl_weight).
        return vae.VAEConfig(hidden_sizes=hidden_sizes, kl_weight=0.1, **overrides)
    if family == "gan":
        return gan.GANConfig(
            hidden_sizes=hidden_sizes, generator_loss="non_saturating", **overrides
        )
    raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")


def make_learner(family: str, hidden_sizes: tuple[int, ...], **overrides) -> Learner:
    """A family's learner over 2-D samples conditioned on a constant obs."""
    maker = {"diffusion": diffusion.make, "cvae": vae.make, "gan": gan.make}[family]
    return maker(
        family_config(family, hidden_sizes, **overrides),
        observation_size=CONDITION_SIZE,
        action_size=2,
    )


def train(
    learner: Learner,
    points: jax.Array,
    key: jax.Array,
    *,
    num_updates: int,
    batch_size: int,
):
    """One seed: `init` on all of `points`, then `num_updates` updates in a scan.

    The points are the `Batch`'s actions and its obs a constant 0. Returns
    the final train state and the per-update metrics `[num_updates]`.
    """
    key_init, key_run = jax.random.split(key)
    constant = jnp.zeros((points.shape[0], CONDITION_SIZE), jnp.float32)
    data = Batch(obs=constant, privileged=constant, action=points)
    state = learner.init(key_init, data)

    def one_update(state, index):
        key_batch, key_update = jax.random.split(jax.random.fold_in(key_run, index))
        rows = jax.random.randint(key_batch, (batch_size,), 0, points.shape[0])
        return learner.update(state, jax.tree.map(lambda x: x[rows], data), key_update)

    # fold_in over the update index, as in the BC trainer: the key-reuse
    # checker flags a vmapped scan over a split key array.
    return jax.lax.scan(one_update, state, jnp.arange(num_updates, dtype=jnp.uint32))


def sample(learner: Learner, state, key: jax.Array, num_samples: int) -> jax.Array:
    """[num_samples, 2] draws of the learner's policy, one per constant obs."""
    key_init, key_step = jax.random.split(key)
    policy = learner.make_policy(state)
    constant = jnp.zeros((num_samples, CONDITION_SIZE), jnp.float32)
    policy_state = policy.init(key_init, (num_samples,))
    points, _, _ = policy.step(
        policy_state, Observation(obs=constant, privileged=constant), key_step
    )
    return points


def clipped_ddim_sampler(config: diffusion.DiffusionConfig):
    """`(state, key, num_samples) -> [num_samples, 2]`: DDIM with x0 clipped.

    The policy's DDIM with `clip_x0=DDIM_CLIP`, called through the shared
    core: the learner does not expose the option, so its denoiser is rebuilt
    here from the same config (same layout, so the trained params fit).
    """
    network = mlp_denoiser(
        2,
        CONDITION_SIZE,
        hidden_sizes=tuple(config.hidden_sizes),
        time_embedding=config.time_embedding,
        activation=config.activation,
    )
    schedule = diffusion.make_schedule(config)

    def draw(state, key: jax.Array, num_samples: int) -> jax.Array:
        normalizer = state.normalizer
        cond = normalizer.normalize_inputs(jnp.zeros((num_samples, CONDITION_SIZE)))
        shape = (num_samples, 2)
        points = diffusion.ddim_sample(
            network.apply,
            state.ema_params,
            schedule,
            cond,
            key,
            shape,
            config.ddim_steps,
            clip_x0=DDIM_CLIP,
        )
        return normalizer.denormalize_actions(points)

    return draw


def gaussian_sample(points: jax.Array, key: jax.Array, num_samples: int):
    """[num_samples, 2] from the Gaussian with `points`' mean and covariance."""
    mean = jnp.mean(points, axis=0)
    centered = points - mean[None, :]
    covariance = centered.T @ centered / (points.shape[0] - 1)
    noise = jax.random.normal(key, (num_samples, points.shape[1]), jnp.float32)
    return mean[None, :] + noise @ jnp.linalg.cholesky(covariance).T


def sample_metrics(
    samples: jax.Array,
    reference: jax.Array,
    dataset: toy2d.Toy2D,
    *,
    bandwidths: jax.Array,
    key_projections: jax.Array,
) -> dict[str, jax.Array]:
    """The metrics of one seed's samples [N, 2] against the held-out reference.

    The MMD's bandwidths and the sliced Wasserstein's directions are the same
    for every method and seed of a dataset (common random numbers: the key is
    cloned on purpose), so their numbers compare directly.
    """
    result = {
        "energy_distance": metrics_lib.energy_distance(samples, reference),
        "mmd_rbf": metrics_lib.mmd_rbf(samples, reference, bandwidths),
        "sliced_w2": metrics_lib.sliced_wasserstein(
            samples, reference, jax.random.clone(key_projections)
        ),
        "nonfinite_samples": jnp.sum(~jnp.all(jnp.isfinite(samples), axis=-1)),
    }
    if dataset.mode_centers is not None:
        centers, radius = dataset.mode_centers, dataset.mode_radius
        masses = metrics_lib.mode_mass(samples, centers, radius)
        result["mode_mass"] = masses
        result["off_mode_fraction"] = metrics_lib.off_mode_fraction(
            samples, centers, radius
        )
        result["modes_covered"] = jnp.sum(masses >= MIN_MODE_FRACTION)
    return result


def _timed(fn, *args):
    """Compiles `fn` (jitted) for `args`, runs it; (result, compile_s, run_s)."""
    start = time.perf_counter()
    compiled = fn.lower(*args).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(*args))
    return result, compile_s, time.perf_counter() - start


def _train_family(family, points, key, *, seeds, hidden_sizes, fields, **budget):
    """All seeds of one family as one vmapped program: states, timing, summary."""
    learner = make_learner(family, hidden_sizes, **fields)
    run = jax.jit(
        jax.vmap(functools.partial(train, learner, **budget), in_axes=(None, 0))
    )
    (states, history), compile_s, run_s = _timed(
        run, points, jax.random.split(key, seeds)
    )
    tail = min(100, budget["num_updates"])
    summary = {
        f"{metric} (last {tail} mean)": values[:, -tail:].mean(axis=1).tolist()
        for metric, values in history.items()
    }
    summary["train/nonfinite total"] = history["train/nonfinite"].sum(axis=1).tolist()
    # A constant obs has std 0: the normalizer's min_std floor must catch it.
    summary["normalizer obs_std"] = np.asarray(states.normalizer.obs_std).tolist()
    return states, {"compile_s": compile_s, "train_s": run_s}, summary


def _sampler(method: str, hidden_sizes, fields: dict, num_samples: int):
    """`(states, keys) -> [S, num_samples, 2]`, jitted, for one method."""
    family, sampler_fields = METHODS[method]
    fields = {**fields, **sampler_fields}
    if method == DDIM_CLIPPED:
        draw = clipped_ddim_sampler(family_config(family, hidden_sizes, **fields))
    else:
        draw = functools.partial(sample, make_learner(family, hidden_sizes, **fields))
    return jax.jit(jax.vmap(functools.partial(draw, num_samples=num_samples)))


def run_dataset(
    name: str,
    key: jax.Array,
    *,
    seeds: int,
    updates: int,
    batch_size: int,
    num_train: int,
    num_samples: int,
    hidden_sizes: tuple[int, ...],
    methods: tuple[str, ...] = tuple(METHODS),
    overrides: dict[str, dict] | None = None,
) -> dict:
    """Trains the families of `methods` on one dataset and scores their samples.

    `overrides` maps a family to config fields that replace its defaults.
    Returns a dict with `metrics` (method -> metric -> per-seed NumPy array,
    the two references included), `samples` (method -> seed 0's samples,
    plus the held-out `data`), `timing` (seconds; training for all seeds
    together, compile apart) and `train` (family -> per-seed training
    summaries).
    """
    overrides = overrides or {}
    dataset = toy2d.get(name)
    key_data, key_reference, key_floor, key_seeds, key_projections = jax.random.split(
        key, 5
    )
    points = dataset.sample(key_data, num_train)
    reference = dataset.sample(key_reference, num_samples)
    floors = jax.vmap(lambda k: dataset.sample(k, num_samples))(
        jax.random.split(key_floor, seeds)
    )
    score = functools.partial(
        sample_metrics,
        reference=reference,
        dataset=dataset,
        bandwidths=metrics_lib.median_bandwidths(floors[0][:1000], reference[:1000]),
        key_projections=key_projections,
    )
    samples, timing, train_summary = {}, {}, {}
    for family in sorted({METHODS[m][0] for m in methods}, key=FAMILIES.index):
        key_train, key_sample = jax.random.split(
            jax.random.fold_in(key_seeds, FAMILIES.index(family))
        )
        fields = overrides.get(family, {})
        states, timing[family], train_summary[family] = _train_family(
            family,
            points,
            key_train,
            seeds=seeds,
            hidden_sizes=hidden_sizes,
            fields=fields,
            num_updates=updates,
            batch_size=batch_size,
        )
        for method in (m for m in methods if METHODS[m][0] == family):
            keys = jax.random.split(
                jax.random.fold_in(key_sample, list(METHODS).index(method)), seeds
            )
            draw = _sampler(method, hidden_sizes, fields, num_samples)
            samples[method], _, timing[f"{method} sample_s"] = _timed(
                draw, states, keys
            )
    gaussian_keys = jax.random.fold_in(key_seeds, len(FAMILIES))
    samples[GAUSSIAN] = jax.vmap(lambda k: gaussian_sample(points, k, num_samples))(
        jax.random.split(gaussian_keys, seeds)
    )
    samples[FLOOR] = floors
    # One seed at a time (lax.map): the distances are [N, N] per seed.
    score_seeds = jax.jit(lambda many: jax.lax.map(score, many))
    return {
        "metrics": {
            method: jax.tree.map(np.asarray, score_seeds(draws))
            for method, draws in samples.items()
        },
        "samples": {
            "data": np.asarray(reference),
            **{method: np.asarray(draws[0]) for method, draws in samples.items()},
        },
        "timing": timing,
        "train": train_summary,
    }


# Table columns: (heading, metric, transform of its per-seed values).
_COLUMNS = (
    ("energy distance x100", "energy_distance", lambda v: 100 * v),
    ("MMD^2 x100", "mmd_rbf", lambda v: 100 * v),
    ("sliced W2", "sliced_w2", lambda v: v),
    ("off-mode fraction", "off_mode_fraction", lambda v: v),
    ("modes covered (of 8)", "modes_covered", lambda v: v),
    ("smallest mode mass", "mode_mass", lambda v: v.min(axis=1)),
)


def table_rows(name: str, result: dict) -> list[dict]:
    """One row per method and reference: mean [95% bootstrap CI] over seeds."""
    rows = []
    for method, values in result["metrics"].items():
        row = {"dataset": name, "method": method}
        for heading, metric, transform in _COLUMNS:
            row[heading] = "-"
            if metric in values:
                per_seed = np.asarray(transform(values[metric]), np.float64)
                row[heading] = metrics_lib.summarize_over_seeds(per_seed, "mean")
        family = METHODS[method][0] if method in METHODS else None
        row["train s"] = f"{result['timing'][family]['train_s']:.1f}" if family else "-"
        rows.append(row)
    return rows


def plot_samples(results: dict, path: pathlib.Path, max_points: int = 2000):
    """Scatter grid: one row per dataset, the held-out data then each method."""
    # Imported here: matplotlib is only needed by code that draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = ["data", *METHODS, GAUSSIAN]
    figure = Figure(
        figsize=(2.4 * len(columns), 2.4 * len(results)), dpi=100, layout="constrained"
    )
    FigureCanvasAgg(figure)
    grid = figure.subplots(len(results), len(columns), squeeze=False)
    for row, (name, result) in enumerate(results.items()):
        data = result["samples"]["data"]
        low, high = data.min(axis=0), data.max(axis=0)
        margin = 0.15 * (high - low)
        for column, method in enumerate(columns):
            axes = grid[row, column]
            points = result["samples"].get(method)
            if points is not None:
                points = points[:max_points]
                color = "black" if method == "data" else f"C{column}"
                axes.scatter(points[:, 0], points[:, 1], s=1, color=color, alpha=0.5)
            axes.set(
                xlim=(low[0] - margin[0], high[0] + margin[0]),
                ylim=(low[1] - margin[1], high[1] + margin[1]),
                xticks=[],
                yticks=[],
            )
            axes.set_aspect("equal")
            if row == 0:
                axes.set_title(method, fontsize=9)
            if column == 0:
                axes.set_ylabel(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def define_flags() -> None:
    """Defines the command line's flags.

    Only when run as a script: importing this module (the tests do) next to
    another script's flags must not clash in absl's global flag registry.
    """
    flags.DEFINE_list("datasets", list(toy2d.DATASETS), "Datasets to run.")
    flags.DEFINE_integer("seeds", 3, "Seeds per family, vmapped in one program.")
    flags.DEFINE_integer(
        "updates",
        5000,
        "Updates per seed, every family. At 3,000 the diffusion net is still "
        "blurry on the eight sharp Gaussians; 10,000 brings it to the floor.",
    )
    flags.DEFINE_integer("batch_size", 256, "Minibatch size of every update.")
    flags.DEFINE_integer("num_train", 10000, "Training points (shared by seeds).")
    flags.DEFINE_integer(
        "num_samples", 2000, "Generated points per seed, and held-out set size."
    )
    flags.DEFINE_list(
        "hidden_sizes",
        ["128", "128", "128"],
        "Hidden widths of every network (denoiser, encoder, decoder, generator, "
        "discriminator). The denoiser sees the step only at its input: on two "
        "moons, 5,000 updates, a third layer halved its samples' distance from "
        "the curves (median 0.09 to 0.05; data 0.034) where 256x256 gave 0.06.",
    )
    flags.DEFINE_integer("seed", 0, "Seed of the run keys.")
    flags.DEFINE_string(
        "out_dir", str(common.ROOT / "results" / "generative_2d"), "Output folder."
    )


def main(argv):
    """Runs every family on every dataset and writes the table and samples."""
    del argv
    common.setup_jax()
    info = common.environment_info()
    out = pathlib.Path(FLAGS.out_dir)
    settings = dict(
        seeds=FLAGS.seeds,
        updates=FLAGS.updates,
        batch_size=FLAGS.batch_size,
        num_train=FLAGS.num_train,
        num_samples=FLAGS.num_samples,
        hidden_sizes=tuple(int(h) for h in FLAGS.hidden_sizes),
    )
    record = {
        "settings": {**settings, "seed": FLAGS.seed, "datasets": FLAGS.datasets},
        "configs": {
            method: dataclasses.asdict(
                family_config(family, settings["hidden_sizes"], **overrides)
            )
            for method, (family, overrides) in METHODS.items()
        },
        # The datasets' constants (stds, noise, mode radius).
        "toy2d": {k: v for k, v in vars(toy2d).items() if isinstance(v, float)},
        "min_mode_fraction": MIN_MODE_FRACTION,
        "ddim_clip": DDIM_CLIP,
        "environment": info,
    }
    key = jax.random.key(FLAGS.seed)
    results, rows = {}, []
    start = time.perf_counter()
    for name in FLAGS.datasets:
        index = list(toy2d.DATASETS).index(name)
        results[name] = run_dataset(name, jax.random.fold_in(key, index), **settings)
        rows += table_rows(name, results[name])
        print(f"{name:16s} {results[name]['timing']}", flush=True)
        record[name] = {
            "metrics": {
                method: {metric: v.tolist() for metric, v in values.items()}
                for method, values in results[name]["metrics"].items()
            },
            **{k: results[name][k] for k in ("timing", "train")},
        }
    record["total_s"] = time.perf_counter() - start
    plot_samples(results, out / "samples.png")
    markdown = (
        "### Generative families on 2-D toy data, against a held-out set\n\n"
        + metrics_lib.markdown_table(rows, digits=3)
        + f"\n\n{settings['seeds']} seeds per family (mean [95% bootstrap CI]); "
        f"{settings['updates']} Adam updates at batch {settings['batch_size']} on "
        f"{settings['num_train']} training points; hidden widths "
        f"{'x'.join(map(str, settings['hidden_sizes']))}; "
        f"{settings['num_samples']} samples per seed against a held-out set of as "
        f"many. The floor compares fresh held-out sets with it. A mode is covered "
        f"when it holds at least 1/32 of the samples (within "
        f"{toy2d.EIGHT_GAUSSIANS_MODE_RADIUS:g} of its centre); train s is all "
        f"seeds together, compile apart; {common.hardware_line(info)}."
    )
    common.write_results(out, record, markdown)
    print(markdown)


if __name__ == "__main__":
    define_flags()
    app.run(main)
