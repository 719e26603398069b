"""Roofline tools: loop-aware cost analysis and the roofline bound."""

import jax
import jax.numpy as jnp
import pytest

from benchmarks import roofline


def test_cost_counts_every_loop_iteration():
    # XLA alone reports the same flops for both lengths (it counts the body
    # once); the corrected counts must scale with the trip count.
    def chain(length):
        def program(x, w):
            def body(h, _):
                return jnp.tanh(h @ w), None

            return jax.lax.scan(body, x, None, length=length)[0]

        return jax.jit(program)

    args = (jnp.ones((1, 128)), jnp.ones((128, 128)))
    long = roofline.cost_per_action(chain(100), args, 1)
    short = roofline.cost_per_action(chain(10), args, 1)
    assert long["xla_flops_loops_once"] == pytest.approx(short["xla_flops_loops_once"])
    assert long["flops"] >= 100 * 2 * 128 * 128
    assert long["flops"] / short["flops"] == pytest.approx(10.0, rel=0.05)


def test_machine_peaks_are_positive_rates():
    peaks = roofline.machine_peaks(size=128, elements=1 << 16)
    assert peaks["matmul_flop_per_s"] > 1e6  # any CPU of this century
    assert peaks["bandwidth_bytes_per_s"] == max(
        peaks["in_place_add_bytes_per_s"], peaks["sum_bytes_per_s"]
    )
    assert peaks["bandwidth_bytes_per_s"] > 1e6
