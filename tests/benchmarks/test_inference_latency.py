"""The inference-latency benchmark in miniature: a few families, a few calls."""

import dataclasses

import pytest

from benchmarks import families, inference_latency, roofline
from ilax import envs
from ilax.chunking import ChunkConfig

QUICK = inference_latency.Settings(
    latency_calls=3,
    latency_time_s=0.0,
    batch_size=8,
    throughput_calls=2,
    throughput_time_s=0.0,
)


@pytest.fixture(scope="module")
def env():
    return envs.make("two_ways")  # observation 4, action 2


def test_measure_one_family(env):
    measured = inference_latency.measure(families.FAMILIES[:1], env, QUICK)
    assert list(measured["rows"]) == ["BC-MSE"]
    row = measured["rows"]["BC-MSE"]
    assert row["latency_calls"] == 3 and row["batch_calls"] == 2
    assert 0 < row["latency_median_s"] <= row["latency_p90_s"]
    assert row["actions_per_s"] > 0 and row["compile_s"] > 0
    # An MLP 4 -> 64 -> 64 -> 2 is at least 2 * (4*64 + 64*64 + 64*2) flops.
    assert row["flops_per_action"] >= 2 * (4 * 64 + 64 * 64 + 64 * 2)
    assert row["batch_bytes_per_action"] < row["bytes_per_action"]  # shared weights

    peaks = {"matmul_flop_per_s": 1e9, "bandwidth_bytes_per_s": 1e9}
    roofline.add_roofline(measured["rows"], peaks)
    bound = min(
        1e9 / row["batch_flops_per_action"], 1e9 / row["batch_bytes_per_action"]
    )
    assert row["roofline_actions_per_s"] == pytest.approx(bound)
    assert row["roofline_fraction"] == pytest.approx(row["actions_per_s"] / bound)
    assert inference_latency.ddpm_over_ddim(measured) is None


def test_a_chunk_family_counts_its_executed_actions(env):
    plain = families.FAMILIES[0]
    chunked = families.Family(
        "BC chunk",
        dataclasses.replace(
            plain.config,
            chunk=ChunkConfig(obs_horizon=2, prediction_horizon=4, action_horizon=4),
        ),
    )
    measured = inference_latency.measure((plain, chunked), env, QUICK)
    row = measured["rows"]["BC chunk"]
    assert row["executed_per_call"] == 4
    assert measured["rows"]["BC-MSE"]["executed_per_call"] == 1
    # One call runs an MLP 8 -> 64 -> 64 -> 8 and yields 4 executed actions.
    per_call = 2 * (8 * 64 + 64 * 64 + 64 * 8)
    assert per_call / 4 <= row["batch_flops_per_action"] < per_call / 2
    assert row["network"] == "MLP 64x64"


def test_every_family_is_a_registered_config_and_samplers_share_params():
    names = [family.name for family in families.FAMILIES]
    for family in families.FAMILIES:
        assert family.params_from is None or names.index(family.params_from) < (
            names.index(family.name)
        )
    ensembling = families.FAMILIES[names.index("ACT k=20 ensembling")]
    assert ensembling.executed == 1 and ensembling.chunk.prediction_horizon == 20
