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
    python -m experiments.generative_2d --settings.seeds=10 \
        --settings.updates=20000

Writes results/generative_2d/: results.json (settings, per-seed numbers,
versions, hardware), results.md and results.tex (the table) and samples.png
(rows datasets, columns the data and each method's samples from seed 0).
"""

import dataclasses
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

from ilax import metrics as metrics_lib
from ilax import scripts, timing
from ilax.algorithms import diffusion, gan, registry, vae
from ilax.data import toy2d
from ilax.training import seeds
from ilax.types import Batch, Observation


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """The datasets and the budget and widths every family shares."""

    datasets: tuple[str, ...] = tuple(toy2d.DATASETS)
    """Datasets to run."""
    updates: int = 5000
    """Updates per seed, every family. At 3,000 the diffusion net is still
    blurry on the eight sharp Gaussians; 10,000 brings it to the floor."""
    batch_size: int = 256
    """Minibatch size of every update."""
    num_train: int = 10000
    """Training points (shared by the seeds)."""
    num_samples: int = 2000
    """Generated points per seed, and the held-out set's size."""
    hidden_sizes: tuple[int, ...] = (128, 128, 128)
    """Hidden widths of every network (denoiser, encoder, decoder, generator,
    discriminator). The denoiser sees the step only at its input: on two
    moons, 5,000 updates, a third layer halved its samples' distance from
    the curves (median 0.09 to 0.05; data 0.034) where 256x256 gave 0.06."""


CONDITION_SIZE = 1  # the constant observation's width
# Bound of DDIM's clean-sample estimates, in normalized units: standardized,
# no coordinate of a toy set passes 2.3 (measured on 100,000 points). The
# policy's DDIM does not clip by default, and its first step divides by
# sqrt(alpha_T) ~ 5e-4 (the cosine schedule), so a small error of the net
# becomes an outlier.
DDIM_CLIP = 3.0
GAUSSIAN = "Gaussian (moment-matched)"
FLOOR = "data vs data (floor)"
# A mode counts as covered when it holds at least a quarter of its fair share
# (1/8) of the samples.
MIN_MODE_FRACTION = 0.25 / 8


def families(hidden_sizes: tuple[int, ...]) -> dict[str, object]:
    """Family -> the learner config it trains, at the shared widths."""
    return {
        "diffusion": diffusion.DiffusionConfig(hidden_sizes=hidden_sizes),
        # kl_weight 0.1: at 1 the posterior collapses onto the prior on
        # unit-variance data (see VAEConfig.kl_weight).
        "cvae": vae.VAEConfig(hidden_sizes=hidden_sizes, kl_weight=0.1),
        "gan": gan.GANConfig(hidden_sizes=hidden_sizes),
    }


FAMILIES = ("diffusion", "cvae", "gan")  # in table order; the index seeds each
DDIM_CLIPPED = "diffusion DDIM-10, x0 clipped"
# Every method in table order (the index seeds its samples), and its family.
METHODS = ("diffusion DDPM-100", "diffusion DDIM-10", DDIM_CLIPPED, "CVAE", "GAN")
FAMILY_OF = dict(zip(METHODS, ("diffusion",) * 3 + ("cvae", "gan"), strict=True))


def methods(trained: dict[str, object]) -> dict[str, tuple[str, object]]:
    """Method -> (the family whose trained state it samples, its config).

    The diffusion methods share one training and differ in their sampler.
    """
    table = {}
    if "diffusion" in trained:
        ddpm = trained["diffusion"]
        ddim = dataclasses.replace(ddpm, sampler="ddim", ddim_steps=10)
        table["diffusion DDPM-100"] = ("diffusion", ddpm)
        table["diffusion DDIM-10"] = ("diffusion", ddim)
        clipped = dataclasses.replace(ddim, ddim_clip_x0=DDIM_CLIP)
        table[DDIM_CLIPPED] = ("diffusion", clipped)
    for family, method in (("cvae", "CVAE"), ("gan", "GAN")):
        if family in trained:
            table[method] = (family, trained[family])
    return table


def make_learner(config):
    """The config's learner over 2-D samples conditioned on a constant obs."""
    make = registry.learner_factory(config)
    return make(config, observation_size=CONDITION_SIZE, action_size=2)


def as_batch(points: jax.Array) -> Batch:
    """The points as the `Batch`'s actions, its obs a constant 0."""
    constant = jnp.zeros((points.shape[0], CONDITION_SIZE), jnp.float32)
    return Batch(obs=constant, privileged=constant, action=points)


def sample(learner, state, key: jax.Array, num_samples: int) -> jax.Array:
    """[num_samples, 2] draws of the learner's policy, one per constant obs."""
    key_init, key_step = jax.random.split(key)
    policy = learner.make_policy(state)
    constant = jnp.zeros((num_samples, CONDITION_SIZE), jnp.float32)
    points, _, _ = policy.step(
        policy.init(key_init, (num_samples,)), Observation(constant, constant), key_step
    )
    return points


def run_dataset(
    name: str, key: jax.Array, settings: Settings, trained: dict | None = None
) -> dict:
    """Trains the families on one dataset and scores every method's samples.

    `trained` maps a family to its learner config (by default `families` at
    the settings' widths).

    Returns `metrics` (method -> metric -> per-seed array, the two references
    included), `samples` (method -> seed 0's samples, and the held-out
    `data`), `timing` (seconds; training for all seeds together, compile
    apart) and `train` (family -> per-seed training summaries).
    """
    dataset, n = toy2d.get(name), settings.num_samples
    keys = jax.random.split(key, 5)
    key_data, key_reference, key_floor, key_seeds, key_projections = keys
    points = dataset.sample(key_data, settings.num_train)
    reference = dataset.sample(key_reference, n)
    floors = jax.vmap(lambda k: dataset.sample(k, n))(
        jax.random.split(key_floor, settings.seeds)
    )
    # The same bandwidths and projections for every method and seed of a
    # dataset (common random numbers), so their numbers compare directly.
    score = functools.partial(
        metrics_lib.sample_report,
        reference=reference,
        bandwidths=metrics_lib.median_bandwidths(floors[0][:1000], reference[:1000]),
        key_projections=key_projections,
        mode_centers=dataset.mode_centers,
        mode_radius=dataset.mode_radius or 0.0,
        min_mode_fraction=MIN_MODE_FRACTION,
    )
    trained = trained or families(tuple(settings.hidden_sizes))
    samples, timings, train_summary = {}, {}, {}
    for family, config in trained.items():
        index = FAMILIES.index(family)
        key_train, key_sample = jax.random.split(jax.random.fold_in(key_seeds, index))
        run = seeds.fit_seeds(
            make_learner(config),
            points,
            jax.random.split(key_train, settings.seeds),
            num_updates=settings.updates,
            batch_size=settings.batch_size,
            as_batch=as_batch,
        )
        states, history = run.state, run.metrics
        timings[family] = {"compile_s": run.compile_s, "train_s": run.run_s}
        train_summary[family] = summary(history, states, settings.updates)
        for method, (owner, sampler) in methods(trained).items():
            if owner == family:
                m_index = METHODS.index(method)
                draw = functools.partial(sample, make_learner(sampler), num_samples=n)
                method_keys = jax.random.split(
                    jax.random.fold_in(key_sample, m_index), settings.seeds
                )
                drawn = timing.compile_and_run(
                    jax.jit(jax.vmap(draw)), states, method_keys
                )
                samples[method] = drawn.result
                timings[f"{method} sample_s"] = drawn.run_s
    samples[GAUSSIAN] = jax.vmap(
        lambda k: metrics_lib.moment_matched_gaussian(points, k, n)
    )(jax.random.split(jax.random.fold_in(key_seeds, 3), settings.seeds))
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
        "timing": timings,
        "train": train_summary,
    }


def summary(history: dict, states, num_updates: int) -> dict:
    """Per-seed training summaries: late means of every metric, skips, floors."""
    tail = min(100, num_updates)
    result = {
        f"{metric} (last {tail} mean)": values[:, -tail:].mean(axis=1)
        for metric, values in history.items()
    }
    result["train/nonfinite total"] = history["train/nonfinite"].sum(axis=1)
    # A constant obs has std 0: the normalizer's min_std floor must catch it.
    result["normalizer obs_std"] = states.normalizer.obs_std
    return result


# Table columns: (heading, metric, transform of its per-seed values).
COLUMNS = (
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
        for heading, metric, transform in COLUMNS:
            row[heading] = "-"
            if metric in values:
                per_seed = np.asarray(transform(values[metric]), np.float64)
                row[heading] = metrics_lib.summarize_over_seeds(per_seed, "mean")
        owner = FAMILY_OF.get(method)
        row["train s"] = f"{result['timing'][owner]['train_s']:.1f}" if owner else "-"
        rows.append(row)
    return rows


def main(argv):
    """Runs every family on every dataset and writes the table and samples."""
    del argv
    settings, out, _ = scripts.parsed()
    scripts.check_choices(settings, "datasets", list(toy2d.DATASETS))
    scripts.setup_jax()
    info = scripts.environment_info()
    hidden = tuple(settings.hidden_sizes)
    record = {
        "settings": settings,
        "configs": {m: config for m, (_, config) in methods(families(hidden)).items()},
        # The datasets' constants (stds, noise, mode radius).
        "toy2d": {k: v for k, v in vars(toy2d).items() if isinstance(v, float)},
        "min_mode_fraction": MIN_MODE_FRACTION,
        "ddim_clip": DDIM_CLIP,
        "environment": info,
    }
    key = jax.random.key(settings.seed)
    results, rows = {}, []
    start = time.perf_counter()
    for name in settings.datasets:
        index = list(toy2d.DATASETS).index(name)
        results[name] = run_dataset(name, jax.random.fold_in(key, index), settings)
        rows += table_rows(name, results[name])
        print(f"{name:16s} {results[name]['timing']}", flush=True)
        record[name] = {k: results[name][k] for k in ("metrics", "timing", "train")}
    record["total_s"] = time.perf_counter() - start
    metrics_lib.plot_scatter_grid(
        {
            name: {k: v for k, v in result["samples"].items() if k != FLOOR}
            for name, result in results.items()
        },
        out / "samples.png",
    )
    caption = "Generative families on 2-D toy data, against a held-out set"
    markdown = (
        f"### {caption}\n\n"
        + metrics_lib.markdown_table(rows, digits=3)
        + f"\n\n{settings.seeds} seeds per family (mean [95% bootstrap CI]); "
        f"{settings.updates} Adam updates at batch {settings.batch_size} on "
        f"{settings.num_train} training points; hidden widths "
        f"{'x'.join(map(str, hidden))}; {settings.num_samples} samples per seed "
        "against a held-out set of as many. The floor compares fresh held-out "
        "sets with it. A mode is covered when it holds at least 1/32 of the "
        f"samples (within {toy2d.EIGHT_GAUSSIANS_MODE_RADIUS:g} of its centre); "
        f"train s is all seeds together, compile apart; {scripts.hardware_line(info)}."
    )
    scripts.write(out, record, markdown, tables={caption: rows}, digits=3)
    print(markdown)


if __name__ == "__main__":
    scripts.define_flags("generative_2d", Settings())
    app.run(main)
