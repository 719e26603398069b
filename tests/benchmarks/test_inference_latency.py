"""The inference-latency benchmark in miniature: one family, a few calls."""

import pytest

from benchmarks import inference_latency, roofline


def test_measure_one_family_with_a_missing_optional_one():
    missing = inference_latency.Family(
        "nowhere", "ilax.algorithms.no_such_learner", lambda m: None, optional=True
    )
    measured = inference_latency.measure(
        (inference_latency.FAMILIES[0], missing),
        4,
        2,
        latency_rounds=3,
        latency_time_s=0.0,
        batch_size=8,
        throughput_calls=2,
        throughput_time_s=0.0,
    )
    assert list(measured["rows"]) == ["BC-MSE"]
    assert "nowhere" in measured["skipped"]
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


def test_a_chunk_family_counts_its_executed_actions():
    plain = inference_latency.FAMILIES[0]
    chunked = plain._replace(
        name="BC chunk", obs_horizon=2, prediction_horizon=4, executed=4
    )
    measured = inference_latency.measure(
        (plain, chunked),
        4,
        2,
        latency_rounds=3,
        latency_time_s=0.0,
        batch_size=8,
        throughput_calls=2,
        throughput_time_s=0.0,
    )
    row = measured["rows"]["BC chunk"]
    assert row["executed_per_call"] == 4
    assert measured["rows"]["BC-MSE"]["executed_per_call"] == 1
    # One call runs an MLP 8 -> 64 -> 64 -> 8 and yields 4 executed actions.
    per_call = 2 * (8 * 64 + 64 * 64 + 64 * 8)
    assert per_call / 4 <= row["batch_flops_per_action"] < per_call / 2
    assert row["network"] == "MLP 64x64"
