"""SIGKILL at random moments of a checkpointed run; every resume is exact.

A run killed at any moment (inside a round, during an asynchronous save,
between the two) and started again with the same command finishes with the
same final state and the same metrics records, bit for bit, as a run that
was never interrupted, and never leaves a workdir it cannot resume. The
default tier kills 3 times, the slow tier 20.
"""

import json
import random
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.training.test_loop import ROOT, subprocess_env

ROUNDS = 40


def start(workdir):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.kill_script", str(workdir)]
        + [str(ROUNDS)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(workdir):
    process = start(workdir)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0 and "DONE" in stdout, stderr[-3000:]


def records(workdir):
    """The metrics records without their wall-clock fields."""
    lines = (workdir / "metrics.jsonl").read_text().splitlines()
    return [
        {
            k: v
            for k, v in json.loads(line).items()
            if k not in ("time", "round_seconds")
        }
        for line in lines
    ]


def first_round_written(process, workdir, deadline_s=120):
    deadline = time.monotonic() + deadline_s
    metrics = workdir / "metrics.jsonl"
    while not (metrics.exists() and metrics.stat().st_size):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no round finished"
        time.sleep(0.01)
    return time.monotonic()


@pytest.mark.parametrize(
    "kills", [3, pytest.param(20, marks=pytest.mark.slow)], ids=["3", "20"]
)
def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path, kills):
    straight = tmp_path / "straight"
    started = time.monotonic()
    finish(straight)
    span = time.monotonic() - started  # a whole run, start-up included
    killed = tmp_path / "killed"
    rng = random.Random(kills)
    interrupted = 0
    for _ in range(kills):
        process = start(killed)
        try:
            began = first_round_written(process, killed)
            time.sleep(rng.uniform(0.0, 0.5 * span))
        finally:
            process.kill()  # SIGKILL: no handler, no cleanup
            process.communicate()
        if process.returncode == 0:  # finished before the kill: start again
            (killed / "final.npz").unlink()
        interrupted += process.returncode == -9
        assert began  # it got as far as a first round
    assert interrupted >= kills // 2, f"only {interrupted} of {kills} kills hit a run"
    finish(killed)
    assert records(killed) == records(straight)
    ours, theirs = np.load(killed / "final.npz"), np.load(straight / "final.npz")
    assert ours.files == theirs.files
    for name in ours.files:
        np.testing.assert_array_equal(ours[name], theirs[name])
