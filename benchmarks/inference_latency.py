"""Inference latency: how fast each policy family turns an observation into an action.

    python -m benchmarks.inference_latency

Per family (BC-MSE, BC-GMM, DDPM-100 and DDIM-10 sampling the same denoiser
parameters, CVAE, GAN, Diffusion Policy's U-Net with both samplers and ACT),
on two_ways-sized inputs, the jitted `policy.step` of the learner's network
(one chunk per call for the chunk families): the latency of one call at batch 1
(median and p90, compile time apart), actions per second at batch 1,024,
and a roofline estimate from XLA's cost analysis against this machine's
measured matmul rate and memory bandwidth. Parameters are untrained: the
programs do the same arithmetic whatever the weights hold. Writes
results/inference_latency_<backend>/ and the BENCHMARKS.md section.
"""

import dataclasses
import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
from absl import app, flags, logging

import ilax.metrics
from benchmarks import common, roofline
from ilax import envs
from ilax.types import Batch, Observation

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Defines the command line's flags, only when run as a script.

    Benchmark modules share flag names, and tests import several into one
    process: flags defined at import would clash.
    """
    flags.DEFINE_integer("latency_calls", 200, "Least batch-1 rounds.")
    flags.DEFINE_float("latency_time_s", 3.0, "Least batch-1 seconds.")
    flags.DEFINE_integer("max_rounds", 5000, "Most batch-1 rounds.")
    flags.DEFINE_integer("batch_size", 1024, "Batch of the throughput figure.")
    flags.DEFINE_integer("throughput_calls", 5, "Least batch calls.")
    flags.DEFINE_float("throughput_time_s", 3.0, "Least batch seconds.")
    flags.DEFINE_bool(
        "compilation_cache",
        False,
        "Use the persistent compilation cache (then compile times are cache loads).",
    )
    flags.DEFINE_string(
        "out_dir", None, "Default: results/inference_latency_<backend>."
    )
    flags.DEFINE_bool("benchmarks_md", True, "Rewrite BENCHMARKS.md's section.")


# DDPM-100 calls the denoiser 100 times per action, DDIM-10 ten times: at
# batch 1,024, where that work outweighs the per-call overhead, ten times the
# work must show as at least 8x the time.
MIN_DDPM_OVER_DDIM = 8.0


class Family(NamedTuple):
    """A policy family: a learner module, its config, and where its params come from.

    Every learner module has `make(config, observation_size=, action_size=)`.
    `params_from` names another family whose (untrained) train state this one
    samples with, so two samplers can be compared on the same network.
    """

    name: str
    module: str
    config: Callable[[Any], Any]  # the imported module -> its config
    params_from: str | None = None
    optional: bool = False  # skipped (and said so) when the module is missing
    obs_horizon: int = 1  # To: the network reads To stacked observations
    prediction_horizon: int = 1  # Tp: one call predicts a chunk of Tp actions
    executed: int = 1  # Ta: actions executed per call (1 when ensembling)

    def network(self, config) -> str:
        """The network's shape, for the table."""
        if getattr(config, "denoiser", "mlp") == "unet":
            return "U-Net " + "/".join(str(w) for w in config.down_sizes)
        if hasattr(config, "model_size"):
            return (
                f"transformer d{config.model_size} "
                f"{config.encoder_layers}+{config.decoder_layers} layers"
            )
        return "MLP " + "x".join(str(w) for w in config.hidden_sizes)


FAMILIES = (
    Family("BC-MSE", "ilax.algorithms.bc", lambda m: m.BCConfig(loss="mse")),
    Family("BC-GMM", "ilax.algorithms.bc", lambda m: m.BCConfig(loss="gmm")),
    Family(
        "DDPM-100",
        "ilax.algorithms.diffusion",
        lambda m: m.DiffusionConfig(num_steps=100, sampler="ddpm"),
    ),
    Family(
        "DDIM-10",
        "ilax.algorithms.diffusion",
        lambda m: m.DiffusionConfig(num_steps=100, sampler="ddim", ddim_steps=10),
        params_from="DDPM-100",
    ),
    Family("CVAE", "ilax.algorithms.vae", lambda m: m.VAEConfig(), optional=True),
    Family("GAN", "ilax.algorithms.gan", lambda m: m.GANConfig(), optional=True),
    # Diffusion Policy's horizons (To, Tp, Ta) = (2, 16, 8): one call samples
    # a 16-step chunk from two observations, eight of which are executed.
    Family(
        "DP U-Net DDPM-100",
        "ilax.algorithms.diffusion",
        lambda m: m.DiffusionConfig(
            num_steps=100, sampler="ddpm", denoiser="unet", horizon=16
        ),
        obs_horizon=2,
        prediction_horizon=16,
        executed=8,
    ),
    Family(
        "DP U-Net DDIM-10",
        "ilax.algorithms.diffusion",
        lambda m: m.DiffusionConfig(
            num_steps=100, sampler="ddim", ddim_steps=10, denoiser="unet", horizon=16
        ),
        params_from="DP U-Net DDPM-100",
        obs_horizon=2,
        prediction_horizon=16,
        executed=8,
    ),
    # ACT with temporal ensembling predicts a chunk of k = 20 every step.
    Family(
        "ACT k=20 ensembling",
        "ilax.algorithms.act",
        lambda m: m.ACTConfig(chunk_size=20),
        prediction_horizon=20,
    ),
)


def input_sizes(family: Family, observation_size: int, action_size: int):
    """The widths of what the family's network reads and writes per call."""
    return (
        family.obs_horizon * observation_size,
        family.prediction_horizon * action_size,
    )


def build(families, observation_size: int, action_size: int):
    """Each family's jitted `(state, obs, key) -> action` and untrained state.

    Returns:
      `(programs, states, configs, skipped)`: dicts by family name, and the
      optional families left out with the reason.
    """
    programs, states, configs, skipped = {}, {}, {}, {}
    for family in families:
        obs_size, chunk_size = input_sizes(family, observation_size, action_size)
        data = Batch(
            obs=jax.random.normal(jax.random.key(1), (256, obs_size)),
            privileged=jax.random.normal(jax.random.key(2), (256, obs_size)),
            action=jax.random.normal(jax.random.key(3), (256, chunk_size)),
        )
        try:
            module = importlib.import_module(family.module)
            config = family.config(module)
            learner = module.make(
                config, observation_size=obs_size, action_size=chunk_size
            )
        except (ImportError, AttributeError) as error:
            if not family.optional:
                raise
            skipped[family.name] = f"{type(error).__name__}: {error}"
            continue
        if family.params_from is None:
            states[family.name] = learner.init(jax.random.key(0), data)
        else:
            states[family.name] = states[family.params_from]

        def program(state, obs, key, learner=learner):
            policy = learner.make_policy(state)
            # Students read `obs`; `privileged` is only there to fill the tuple.
            action, _, _ = policy.step((), Observation(obs, obs), key)
            return action

        programs[family.name] = jax.jit(program)
        configs[family.name] = config
    return programs, states, configs, skipped


def _compile(programs, states, obs) -> tuple[dict, dict[str, float]]:
    compiled, compile_s = {}, {}
    for name, program in programs.items():
        start = time.perf_counter()
        lowered = program.lower(states[name], obs[name], jax.random.key(0))
        compiled[name] = lowered.compile()
        compile_s[name] = time.perf_counter() - start
        for warm_up in range(5):
            key = jax.random.key(1_000_000 + warm_up)
            jax.block_until_ready(compiled[name](states[name], obs[name], key))
    return compiled, compile_s


def _paired_times(
    compiled, states, obs, *, min_rounds: int, min_time_s: float, max_rounds: int
) -> dict[str, list[float]]:
    """Per-call seconds, the families called in alternation round by round.

    A slow spell of a shared machine then hits every family alike, and each
    round gives one paired ratio between any two families.
    """
    times = {name: [] for name in compiled}
    total = 0.0
    for i in range(max_rounds):
        names = list(compiled) if i % 2 == 0 else list(reversed(compiled))
        for j, name in enumerate(names):
            key = jax.random.key(2 + i * len(names) + j)  # never reused
            start = time.perf_counter()
            jax.block_until_ready(compiled[name](states[name], obs[name], key))
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        if i + 1 >= min_rounds and total >= min_time_s:
            break
    return times


def paired_ratio(times: dict[str, list[float]], slow: str, fast: str) -> float:
    """Median over rounds of `slow`'s time over `fast`'s."""
    return statistics.median(
        a / b for a, b in zip(times[slow], times[fast], strict=True)
    )


def measure(
    families,
    observation_size: int,
    action_size: int,
    *,
    latency_rounds: int = 200,
    latency_time_s: float = 3.0,
    max_rounds: int = 5000,
    batch_size: int = 1024,
    throughput_calls: int = 5,
    throughput_time_s: float = 3.0,
) -> dict[str, Any]:
    """Batch-1 latency, batch throughput and cost per action of each family.

    A chunk family's call predicts a chunk of which `Family.executed`
    actions are executed: its latency is per call (the replanning step's
    wait), its actions per second and FLOPs and bytes per action count the
    executed actions.

    Returns:
      `rows` (per family: `compile_s`, `latency_median_s`, `latency_p90_s`,
      `latency_calls`, `batch_compile_s`, `actions_per_s`, `batch_calls`,
      `flops_per_action`, `bytes_per_action`, both at batch 1 and at
      `batch_size`, and `executed_per_call`), `times` (the raw batch-1 and
      batch call times, for paired ratios), `configs` and `skipped`
      (optional families left out).
    """
    programs, states, configs, skipped = build(families, observation_size, action_size)
    by_name = {family.name: family for family in families}
    executed = {name: by_name[name].executed for name in programs}
    obs_sizes = {
        name: input_sizes(by_name[name], observation_size, action_size)[0]
        for name in programs
    }
    rows = {
        name: {
            "network": by_name[name].network(configs[name]),
            "executed_per_call": executed[name],
        }
        for name in programs
    }
    times = {}
    for label, batch, rounds, min_time in (
        ("latency", 1, latency_rounds, latency_time_s),
        ("batch", batch_size, throughput_calls, throughput_time_s),
    ):
        obs = {
            name: jax.random.normal(jax.random.key(4), (batch, size))
            for name, size in obs_sizes.items()
        }
        compiled, compile_s = _compile(programs, states, obs)
        times[label] = _paired_times(
            compiled,
            states,
            obs,
            min_rounds=rounds,
            min_time_s=min_time,
            max_rounds=max_rounds,
        )
        for name, program in programs.items():
            calls = times[label][name]
            actions = batch * executed[name]  # executed actions per call
            cost = roofline.cost_per_action(
                program, (states[name], obs[name], jax.random.key(0)), actions
            )
            prefix = "" if label == "latency" else "batch_"
            rows[name][f"{prefix}compile_s"] = compile_s[name]
            rows[name][f"{label}_calls"] = len(calls)
            rows[name][f"{prefix}flops_per_action"] = cost["flops"]
            rows[name][f"{prefix}bytes_per_action"] = cost["bytes"]
            if label == "latency":
                rows[name]["latency_median_s"] = statistics.median(calls)
                rows[name]["latency_p90_s"] = float(np.percentile(calls, 90))
            else:
                rows[name]["actions_per_s"] = actions / statistics.median(calls)
    return {
        "rows": rows,
        "times": times,
        "configs": {name: dataclasses.asdict(c) for name, c in configs.items()},
        "skipped": skipped,
    }


# The DDPM-100 and DDIM-10 families that sample the same parameters.
SAMPLER_PAIRS = (("DDPM-100", "DDIM-10"), ("DP U-Net DDPM-100", "DP U-Net DDIM-10"))


def ddpm_over_ddim(
    measured: dict[str, Any], ddpm: str = "DDPM-100", ddim: str = "DDIM-10"
) -> dict[str, Any] | None:
    """DDPM-100's time per action over DDIM-10's, paired within rounds."""
    if not {ddpm, ddim} <= set(measured["rows"]):
        return None
    times = measured["times"]
    batch = paired_ratio(times["batch"], ddpm, ddim)
    return {
        "ddpm": ddpm,
        "ddim": ddim,
        "batch": batch,
        "batch_1": paired_ratio(times["latency"], ddpm, ddim),
        "floor": MIN_DDPM_OVER_DDIM,
        "holds": bool(batch >= MIN_DDPM_OVER_DDIM),
    }


def _format(measured, peaks, ratios, batch_size, info) -> str:
    rows = measured["rows"]
    table = ilax.metrics.markdown_table(
        [
            [
                name,
                r["network"],
                str(r["executed_per_call"]),
                f"{r['latency_median_s'] * 1e3:.3f}",
                f"{r['latency_p90_s'] * 1e3:.3f}",
                f"{r['compile_s']:.2f}",
                f"{r['actions_per_s']:,.0f}",
                f"{r['batch_flops_per_action'] / 1e6:.3f}",
                f"{r['batch_bytes_per_action'] / 1e3:.2f}",
                f"{r['roofline_actions_per_s']:,.0f} ({r['roofline_bound_by']})",
                f"{r['roofline_fraction']:.1%}",
            ]
            for name, r in rows.items()
        ],
        [
            "policy",
            "network",
            "actions per call",
            "batch-1 ms per call (median)",
            "batch-1 ms per call (p90)",
            "compile s",
            f"actions/s at {batch_size:,}",
            "MFLOP/action",
            "kB/action",
            "roofline actions/s",
            "of roofline",
        ],
    )
    lines = [
        table,
        "",
        f"Machine peaks measured in the same run: float32 "
        f"{peaks['matmul_size']}x{peaks['matmul_size']} matmul "
        f"**{peaks['matmul_flop_per_s'] / 1e9:.1f} GFLOP/s**, memory bandwidth "
        f"(in-place x + 1 or a sum over {peaks['copy_elements'] * 4 // 2**20} MiB) "
        f"**{peaks['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s**. FLOPs and bytes "
        "per action at the batch come from XLA's cost analysis, each `lax.scan` "
        "counted as many times as it runs (XLA counts a loop body once). The "
        "roofline bound is min(peak FLOP/s / FLOPs, bandwidth / bytes) per "
        "action. Parameters are untrained (latency does not depend on the "
        "weights); each family uses its learner's default network. A chunk "
        "family's call returns a chunk: Diffusion Policy executes 8 of its 16 "
        "actions per call (To 2, Tp 16, Ta 8), so its actions/s, FLOPs and bytes "
        "count 8 actions per call while its latency is the replanning call's; "
        "ACT with temporal ensembling calls its network every step.",
    ]
    for ratio in ratios:
        verdict = "holds" if ratio["holds"] else "**does not hold**"
        lines += [
            "",
            f"{ratio['ddpm']} over {ratio['ddim']} (same denoiser parameters), "
            f"time per action: **{ratio['batch']:.1f}x** at batch {batch_size:,} "
            f"(floor {ratio['floor']:.0f}x: {verdict}), {ratio['batch_1']:.1f}x at "
            "batch 1.",
        ]
    if measured["skipped"]:
        lines += ["", "Not measured: " + ", ".join(measured["skipped"]) + "."]
    lines += ["", f"Hardware: {common.hardware_line(info)}."]
    return "\n".join(lines)


def main(argv):
    """Measures every family; writes results and the BENCHMARKS.md section."""
    del argv
    if FLAGS.compilation_cache:
        common.setup_jax()
    else:
        logging.set_verbosity(logging.WARNING)  # as setup_jax, without the cache
    info = common.environment_info()
    env = envs.make("two_ways")
    peaks = roofline.machine_peaks()
    print(
        f"matmul {peaks['matmul_flop_per_s'] / 1e9:.1f} GFLOP/s, bandwidth "
        f"{peaks['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s",
        flush=True,
    )
    measured = measure(
        FAMILIES,
        env.observation_size,
        env.action_size,
        latency_rounds=FLAGS.latency_calls,
        latency_time_s=FLAGS.latency_time_s,
        max_rounds=FLAGS.max_rounds,
        batch_size=FLAGS.batch_size,
        throughput_calls=FLAGS.throughput_calls,
        throughput_time_s=FLAGS.throughput_time_s,
    )
    roofline.add_roofline(measured["rows"], peaks)
    ratios = [ddpm_over_ddim(measured, *pair) for pair in SAMPLER_PAIRS]
    ratios = [ratio for ratio in ratios if ratio is not None]
    table = _format(measured, peaks, ratios, FLAGS.batch_size, info)
    record = {
        "benchmark": "inference_latency",
        "environment": info,
        "settings": {
            "task_sizes": "two_ways",
            "observation_size": env.observation_size,
            "action_size": env.action_size,
            "batch_size": FLAGS.batch_size,
            "latency_min_rounds": FLAGS.latency_calls,
            "latency_min_time_s": FLAGS.latency_time_s,
            "throughput_min_calls": FLAGS.throughput_calls,
            "throughput_min_time_s": FLAGS.throughput_time_s,
            "compilation_cache": FLAGS.compilation_cache,
            "params": "untrained (learner.init on random data)",
            "configs": measured["configs"],
        },
        "machine_peaks": peaks,
        "families": measured["rows"],
        "ddpm_over_ddim": ratios,
        "skipped": measured["skipped"],
    }
    common.publish(
        "inference_latency",
        "Inference latency",
        record,
        table,
        out_dir=FLAGS.out_dir,
        benchmarks_md=FLAGS.benchmarks_md,
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
