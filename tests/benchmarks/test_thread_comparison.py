"""The thread comparison pairs rounds by task and batch and takes medians."""

import pytest

from benchmarks import thread_comparison


def _row(task, envs, ilax, bare):
    return {
        "task": task,
        "num_envs": envs,
        "ilax_steps_per_s": ilax,
        "bare_steps_per_s": bare,
        "ratio": ilax / bare,
    }


def _round(few_rows, all_rows):
    return {"rows": few_rows}, {"rows": all_rows}


def test_rounds_are_paired_by_task_and_batch():
    rounds = [
        _round(
            [_row("pendulum", 1, 900.0, 1000.0), _row("hopper", 1, 5.0, 5.0)],
            [_row("pendulum", 16, 1.0, 1.0), _row("pendulum", 1, 450.0, 500.0)],
        ),
        _round(
            [_row("pendulum", 1, 600.0, 800.0)], [_row("pendulum", 1, 600.0, 400.0)]
        ),
        _round(
            [_row("pendulum", 1, 300.0, 300.0)], [_row("pendulum", 1, 100.0, 200.0)]
        ),
    ]
    (row,) = thread_comparison.pair_rounds(rounds)  # hopper and 16 never pair
    assert (row["task"], row["num_envs"], row["rounds"]) == ("pendulum", 1, 3)
    # Per-round speed-ups 2.0, 1.0, 3.0: the median of the ratios, not the
    # ratio of the medians (600 / 450).
    assert row["speedup"] == pytest.approx(2.0)
    assert row["bare_speedup"] == pytest.approx(2.0)  # 2.0, 2.0, 1.5
    assert row["few_ratio"] == pytest.approx(0.9)  # 0.9, 0.75, 1.0
    assert row["all_ratio"] == pytest.approx(0.9)  # 0.9, 1.5, 0.5
    assert row["few_ilax_steps_per_s"] == 600.0
    table = thread_comparison.format_table([row], 1, 2)
    assert "| pendulum | 1 | 3 | 600 / 450 | 2.00x | 2.00x | 0.90 / 0.90 |" in table
