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
import statistics
from typing import Any

import jax
import numpy as np
from absl import app, logging

import ilax.metrics
from benchmarks import roofline
from benchmarks.families import FAMILIES, build, input_sizes
from ilax import envs, scripts, timing


@dataclasses.dataclass(kw_only=True)
class Settings(scripts.RunSettings):
    """How long each figure is timed."""

    latency_calls: int = 200
    """Least batch-1 rounds."""
    latency_time_s: float = 3.0
    """Least batch-1 seconds."""
    max_rounds: int = 5000
    """Most batch-1 rounds."""
    batch_size: int = 1024
    """Batch of the throughput figure."""
    throughput_calls: int = 5
    """Least batch calls."""
    throughput_time_s: float = 3.0
    """Least batch seconds."""
    compilation_cache: bool = False
    """Use the persistent compilation cache (then compile times are cache loads)."""


# DDPM-100 calls the denoiser 100 times per action, DDIM-10 ten times: at
# batch 1,024, where that work outweighs the per-call overhead, ten times the
# work must show as at least 8x the time.
MIN_DDPM_OVER_DDIM = 8.0


def measure(families, env, settings: Settings) -> dict[str, Any]:
    """Batch-1 latency, batch throughput and cost per action of each family.

    A chunk family's call predicts a chunk of which `Family.executed`
    actions are executed: its latency is per call (the replanning step's
    wait), its actions per second and FLOPs and bytes per action count the
    executed actions. The families are called in alternation round by round
    (`ilax.timing.time_paired`), each call with a key never used before.

    Returns:
      `rows` (per family: `compile_s`, `latency_median_s`, `latency_p90_s`,
      `latency_calls`, `batch_compile_s`, `actions_per_s`, `batch_calls`,
      `flops_per_action`, `bytes_per_action`, both at batch 1 and at
      `settings.batch_size`, and `executed_per_call`), `times` (the raw batch-1 and
      batch call times, for paired ratios) and `configs`.
    """
    programs, states = build(families, env)
    by_name = {family.name: family for family in families}
    rows = {
        name: {"network": by_name[name].network(), "executed_per_call": f.executed}
        for name, f in by_name.items()
    }
    times = {}
    for label, batch, rounds, min_time, max_rounds in (
        (
            "latency",
            1,
            settings.latency_calls,
            settings.latency_time_s,
            settings.max_rounds,
        ),
        (
            "batch",
            settings.batch_size,
            settings.throughput_calls,
            settings.throughput_time_s,
            settings.max_rounds,
        ),
    ):
        obs = {
            name: jax.random.normal(
                jax.random.key(4), (batch, input_sizes(by_name[name], env)[0])
            )
            for name in programs
        }
        timed = timing.time_paired(
            programs,
            {
                name: lambda i, name=name, index=index, obs=obs: (
                    states[name],
                    obs[name],
                    jax.random.key(2 + i * len(programs) + index),  # never reused
                )
                for index, name in enumerate(programs)
            },
            min_calls=rounds,
            max_calls=max_rounds,
            min_time_s=min_time,
            warm_up=5,
        )
        times[label] = {name: t["times"] for name, t in timed.items()}
        for name, program in programs.items():
            calls = timed[name]["times"]
            actions = batch * by_name[name].executed  # executed actions per call
            cost = roofline.cost_per_action(
                program, (states[name], obs[name], jax.random.key(0)), actions
            )
            prefix = "" if label == "latency" else "batch_"
            rows[name][f"{prefix}compile_s"] = timed[name]["compile_s"]
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
        "configs": {family.name: family.config for family in families},
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
    batch = timing.paired_ratio(times["batch"], ddpm, ddim)
    return {
        "ddpm": ddpm,
        "ddim": ddim,
        "batch": batch,
        "batch_1": timing.paired_ratio(times["latency"], ddpm, ddim),
        "floor": MIN_DDPM_OVER_DDIM,
        "holds": bool(batch >= MIN_DDPM_OVER_DDIM),
    }


def _format(measured, peaks, ratios, batch_size, info) -> str:
    rows = [
        {
            "policy": name,
            "network": r["network"],
            "actions per call": str(r["executed_per_call"]),
            "batch-1 ms per call (median)": f"{r['latency_median_s'] * 1e3:.3f}",
            "batch-1 ms per call (p90)": f"{r['latency_p90_s'] * 1e3:.3f}",
            "compile s": f"{r['compile_s']:.2f}",
            f"actions/s at {batch_size:,}": f"{r['actions_per_s']:,.0f}",
            "MFLOP/action": f"{r['batch_flops_per_action'] / 1e6:.3f}",
            "kB/action": f"{r['batch_bytes_per_action'] / 1e3:.2f}",
            "roofline actions/s": (
                f"{r['roofline_actions_per_s']:,.0f} ({r['roofline_bound_by']})"
            ),
            "of roofline": f"{r['roofline_fraction']:.1%}",
        }
        for name, r in measured["rows"].items()
    ]
    mib = peaks["copy_elements"] * 4 // 2**20
    lines = [
        ilax.metrics.markdown_table(rows),
        "",
        f"Machine peaks measured in the same run: float32 {peaks['matmul_size']}x"
        f"{peaks['matmul_size']} matmul **{peaks['matmul_flop_per_s'] / 1e9:.1f} "
        f"GFLOP/s**, memory bandwidth (in-place x + 1 or a sum over {mib} MiB) "
        f"**{peaks['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s**. " + NOTES,
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
    lines += ["", f"Hardware: {scripts.hardware_line(info)}."]
    return "\n".join(lines)


NOTES = (
    "FLOPs and bytes per action at the batch come from XLA's cost analysis, each "
    "`lax.scan` counted as many times as it runs (XLA counts a loop body once). "
    "The roofline bound is min(peak FLOP/s / FLOPs, bandwidth / bytes) per "
    "action. Parameters are untrained (latency does not depend on the weights); "
    "each family uses its learner's default network. A chunk family's call "
    "returns a chunk: Diffusion Policy executes 8 of its 16 actions per call "
    "(To 2, Tp 16, Ta 8), so its actions/s, FLOPs and bytes count 8 actions per "
    "call while its latency is the replanning call's; ACT with temporal "
    "ensembling calls its network every step."
)


def main(argv):
    """Measures every family; writes results and the BENCHMARKS.md section."""
    del argv
    settings, out_dir, benchmarks_md = scripts.parsed()
    if settings.compilation_cache:
        scripts.setup_jax()
    else:
        logging.set_verbosity(logging.WARNING)  # as setup_jax, without the cache
    info = scripts.environment_info()
    env = envs.make("two_ways")
    peaks = roofline.machine_peaks()
    print(
        f"matmul {peaks['matmul_flop_per_s'] / 1e9:.1f} GFLOP/s, bandwidth "
        f"{peaks['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s",
        flush=True,
    )
    measured = measure(FAMILIES, env, settings)
    roofline.add_roofline(measured["rows"], peaks)
    ratios = [ddpm_over_ddim(measured, *pair) for pair in SAMPLER_PAIRS]
    ratios = [ratio for ratio in ratios if ratio is not None]
    table = _format(measured, peaks, ratios, settings.batch_size, info)
    record = {
        "benchmark": "inference_latency",
        "environment": info,
        "settings": {
            **dataclasses.asdict(settings),
            "task_sizes": "two_ways",
            "observation_size": env.observation_size,
            "action_size": env.action_size,
            "params": "untrained (learner.init on random data)",
            "configs": measured["configs"],
        },
        "machine_peaks": peaks,
        "families": measured["rows"],
        "ddpm_over_ddim": ratios,
    }
    scripts.publish(
        "inference_latency",
        "Inference latency",
        record,
        table,
        out_dir=out_dir,
        benchmarks_md=benchmarks_md,
    )


if __name__ == "__main__":
    scripts.define_flags("inference_latency", Settings(), benchmark=True)
    app.run(main)
