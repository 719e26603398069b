"""The thread comparison pairs rows by task and batch and divides right."""

from benchmarks import thread_comparison


def _record(threads, rows):
    environment = {
        "backend": "cpu",
        "cpu": "AMD EPYC",
        "cpu_count": 2,
        "cpu_threads": threads,
        "versions": {"jax": "0.10.2"},
        "commit": f"c{threads}",
    }
    return {"environment": environment, "rows": rows}


def _row(task, envs, ilax, bare):
    return {
        "task": task,
        "num_envs": envs,
        "ilax_steps_per_s": ilax,
        "bare_steps_per_s": bare,
        "ratio": ilax / bare,
    }


def test_rows_are_paired_by_task_and_batch():
    one = _record(1, [_row("pendulum", 1, 900.0, 1000.0), _row("hopper", 1, 5.0, 5.0)])
    two = _record(
        2, [_row("pendulum", 16, 1.0, 1.0), _row("pendulum", 1, 450.0, 500.0)]
    )
    table = thread_comparison.comparison_table(one, two)
    lines = table.splitlines()
    assert lines[0] == "Hardware: CPU: AMD EPYC (2 cores), jax 0.10.2; commits c1 / c2."
    assert "1 over 2 threads" in lines[2]
    body = [line for line in lines if line.startswith("| pendulum")]
    # Only the pair timed in both runs; the speed-up is 900 / 450.
    assert body == ["| pendulum | 1 | 900 / 450 | 1,000 / 500 | 2.00x | 0.90 / 0.90 |"]
    assert "hopper" not in table
