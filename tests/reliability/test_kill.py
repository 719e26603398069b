"""SIGKILL at random moments of a checkpointed run; every resume is exact.

A run killed at any moment (inside a round, during an asynchronous save,
between the two) and started again with the same command finishes with the
same final checkpoint (the SHA-256 digest of every array) and the same
metrics records, bit for bit, as a run that was never interrupted, and never
leaves a workdir it cannot resume. The slow tier kills the command line
(`python -m ilax.train`, BC on pendulum) 3 and 20 times, and the bare host
loop (`kill_script`) 20 times; every run of processes costs 45 s or more
on 2 cores, so the default tier keeps only the resume in a new process
(`tests/training/test_loop.py`).
"""

import json
import random
import subprocess
import sys
import time

import pytest

from ilax.training.checkpoints import Checkpointer
from tests.training.test_loop import ROOT, subprocess_env

COMMANDS = {
    "loop": ["-m", "tests.reliability.kill_script", "{workdir}", "40"],
    "cli": [
        "-m", "ilax.train", "--algo=bc", "--task=pendulum", "--workdir={workdir}",
        "--seeds=2", "--eval_every=3", "--progress=false", "--config.num_demos=4",
        "--config.batch_size=32", "--config.updates_per_round=200",
        "--config.rounds=40", "--config.eval_envs=2",
        "--config.learner.hidden_sizes=(16,)",
    ],
}  # fmt: skip


def start(command, workdir):
    args = [arg.format(workdir=workdir) for arg in COMMANDS[command]]
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(command, workdir):
    process = start(command, workdir)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]


def final_digest(workdir):
    with Checkpointer(workdir / "checkpoints") as checkpointer:
        return checkpointer.read_metadata(checkpointer.latest_step())["digest"]


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


def wrote_metrics(process, workdir, since_ns: int, deadline_s=120) -> None:
    """Waits until this process has written `metrics.jsonl` (its first record,
    or, resuming, the file cut back to its checkpoint)."""
    deadline = time.monotonic() + deadline_s
    metrics = workdir / "metrics.jsonl"
    while not (
        metrics.exists()
        and metrics.stat().st_size
        and metrics.stat().st_mtime_ns > since_ns
    ):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no round finished"
        time.sleep(0.01)


@pytest.mark.parametrize(
    "command, kills",
    [
        pytest.param("cli", 3, marks=pytest.mark.slow),
        pytest.param("cli", 20, marks=pytest.mark.slow),
        pytest.param("loop", 20, marks=pytest.mark.slow),
    ],
    ids=["cli-3", "cli-20", "loop-20"],
)
def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path, command, kills):
    straight = tmp_path / "straight"
    finish(command, straight)
    last = (straight / "metrics.jsonl").read_text().splitlines()[-1]
    span = json.loads(last)["time"]  # the rounds of a whole run, start-up aside
    killed = tmp_path / "killed"
    rng = random.Random(kills)
    interrupted = 0
    for kill in range(kills):
        started_ns = time.time_ns()
        process = start(command, killed)
        try:
            wrote_metrics(process, killed, started_ns)
            # The first kill lands right after round 1's record, possibly
            # before its asynchronous save is done (no checkpoint yet).
            # Later kills advance the run by span / kills on average, so that
            # all of them land inside it.
            time.sleep(0.0 if kill == 0 else rng.uniform(0.0, 2 * span / kills))
        finally:
            process.kill()  # SIGKILL: no handler, no cleanup
            process.communicate()
        interrupted += process.returncode == -9
    assert interrupted >= kills // 2, f"only {interrupted} of {kills} kills hit a run"
    finish(command, killed)
    assert records(killed) == records(straight)
    assert final_digest(killed) == final_digest(straight)
