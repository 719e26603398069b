"""The peer comparison's race: where it stops, what it reports, the ratio cell."""

import numpy as np
import pytest

from benchmarks import peer_comparison


def scripted_race(scores, target=0.9):
    remaining = list(scores)
    return peer_comparison.race(
        len(scores),
        lambda: None,
        lambda: remaining.pop(0),
        target,
        lambda index: {"labels": 100 * (index + 1), "env_steps": 0},
    )


def test_a_race_stops_at_the_first_chunk_on_target():
    result = scripted_race([0.2, 0.95, 0.99, 1.0])
    assert result["reached"]
    assert len(result["curve"]) == 2
    assert result["at_target"]["labels"] == 200
    assert result["time_to_target_s"] == result["curve"][1]["train_s"]
    times = [point["train_s"] for point in result["curve"]]
    assert np.all(np.diff(times) >= 0)


def test_a_race_that_never_gets_there_reports_its_last_chunk():
    result = scripted_race([0.2, 0.5, 0.7])
    assert not result["reached"] and result["time_to_target_s"] is None
    assert result["at_target"]["normalized"] == 0.7


def cell(seconds, reached=True, labels=800):
    point = {"train_s": seconds, "normalized": 0.95 if reached else 0.4}
    point.update(labels=labels, env_steps=0)
    return {
        "reached": reached,
        "time_to_target_s": seconds if reached else None,
        "at_target": point,
        "compile_s": 1.5,
    }


@pytest.mark.parametrize(
    ("peer", "ratio", "with_compile"),
    [
        (cell(20.0), "40.0x", "10.0x"),
        (cell(20.0, reached=False), ">= 40.0x", ">= 10.0x"),
        (None, "-", "-"),
    ],
)
def test_the_ratio_is_the_peers_time_over_ilaxs(peer, ratio, with_compile):
    # ilax: 0.5 s to the target after 1.5 s of compile.
    row = peer_comparison.ratio_line("dagger", cell(0.5), peer)
    assert row["imitation / ilax"] == ratio
    assert row["counting ilax's compile"] == with_compile
    assert row["ilax"] == "0.50 s (800 labels)"
    assert row["ilax compile s"] == "1.5"
