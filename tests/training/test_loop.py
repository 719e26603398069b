"""The training loop: records, seeds, resuming, non-finite stops, SIGTERM."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import chex
import jax
import numpy as np
import pytest

from ilax.training import (
    Checkpointer,
    CheckpointMismatchError,
    NonFiniteError,
    checkpoints,
    loop,
    run,
    seed_keys,
)
from tests.training import fake_trainer

ROOT = pathlib.Path(__file__).resolve().parents[2]


def read_jsonl(path):
    return [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]


def leaves(state):
    return jax.tree.leaves(checkpoints.to_savable(state))


def subprocess_env():
    env = dict(os.environ)
    env["ILAX_JAX_CACHE"] = jax.config.jax_compilation_cache_dir
    return env


def test_records_metrics_evaluations_and_compiles_once(tmp_path, key):
    trainer = fake_trainer.make(num_rounds=4)
    trainer = trainer._replace(step=chex.assert_max_traces(trainer.step, n=1))
    metrics_path = tmp_path / "metrics.jsonl"
    state, history = run(
        trainer,
        key=key,
        num_seeds=2,
        eval_every=3,
        metrics_path=metrics_path,
        progress=False,
    )
    assert state["params"].shape == (2, fake_trainer.SIZE)
    assert read_jsonl(metrics_path) == history
    assert [record["round"] for record in history] == [1, 2, 3, 4]
    # Evaluated after round 3 (eval_every) and after the last round.
    assert ["eval/score" in r["metrics"] for r in history] == [0, 0, 1, 1]
    for record in history:
        for name, per_seed in record["per_seed"].items():
            assert len(per_seed) == 2
            np.testing.assert_allclose(record["metrics"][name], np.mean(per_seed))
    # 12 updates shrink the distance to the target by 0.7**12 < 0.02.
    target = np.arange(fake_trainer.SIZE)
    assert np.abs(np.asarray(state["params"]) - target).max() < 0.2
    assert all(r["round_seconds"] > 0 for r in history)


def test_seeds_match_single_seed_runs(key):
    trainer = fake_trainer.make(num_rounds=3)
    together, _ = run(trainer, key=key, num_seeds=3, eval_every=1, progress=False)
    for seed in range(3):
        alone, history = run(
            trainer, key=key, seed_offset=seed, eval_every=1, progress=False
        )
        for a, b in zip(leaves(alone), leaves(together), strict=True):
            np.testing.assert_allclose(a[0], b[seed], rtol=1e-6)
    # Distinct seeds really differ.
    assert not np.allclose(together["params"][0], together["params"][1])


def test_seed_keys_do_not_depend_on_the_number_of_seeds(key):
    np.testing.assert_array_equal(
        jax.random.key_data(seed_keys(key, 2, seed_offset=3)),
        jax.random.key_data(seed_keys(key, 5))[3:],
    )


def test_resume_continues_and_rewrites_metrics(tmp_path, key):
    trainer = fake_trainer.make(num_rounds=5)
    straight, _ = run(trainer, key=key, num_seeds=2, progress=False)
    options = dict(
        key=key,
        num_seeds=2,
        checkpoint_dir=tmp_path / "ckpt",
        metrics_path=tmp_path / "metrics.jsonl",
        progress=False,
        run_info={"config": {"rounds": 2}},
    )
    run(trainer, num_rounds=2, **options)
    # A crash after round 3 was logged but before it was saved, mid-line.
    with open(tmp_path / "metrics.jsonl", "a") as file:
        file.write(json.dumps({"round": 3, "metrics": {}}) + '\n{"round": 4, "me')
    options["run_info"] = {"config": {"rounds": 5}}  # lengthening is allowed
    resumed, history = run(trainer, **options)
    assert [r["round"] for r in history] == [3, 4, 5]
    assert [r["round"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [
        1,
        2,
        3,
        4,
        5,
    ]
    for a, b in zip(leaves(resumed), leaves(straight), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_different_run_is_refused(tmp_path, key):
    trainer = fake_trainer.make(num_rounds=2)
    options = dict(checkpoint_dir=tmp_path, progress=False)
    run(trainer, key=key, run_info={"algo": "a"}, **options)
    with pytest.raises(CheckpointMismatchError, match="algo: checkpoint has 'a'"):
        run(trainer, key=key, run_info={"algo": "b"}, **options)
    with pytest.raises(CheckpointMismatchError, match="key: checkpoint has"):
        run(trainer, key=jax.random.key(1), run_info={"algo": "a"}, **options)
    with pytest.raises(CheckpointMismatchError, match="num_seeds"):
        run(trainer, key=key, num_seeds=2, run_info={"algo": "a"}, **options)
    other_data = trainer._replace(data=trainer.data + 1.0)
    with pytest.raises(CheckpointMismatchError, match="data_digest: checkpoint has"):
        run(other_data, key=key, run_info={"algo": "a"}, **options)


def test_nonfinite_stops_and_keeps_the_last_good_checkpoint(tmp_path, key):
    num_seeds = 3
    keys = loop.init_keys(key, num_seeds)
    firsts = np.asarray(jax.vmap(fake_trainer.make().init)(keys)["first"])
    worst = int(np.argmin(firsts))
    trainer = fake_trainer.make(
        num_rounds=5, blow_up_round=3, blow_up_below=float(firsts[worst]) + 1e-6
    )
    with pytest.raises(NonFiniteError) as error:
        run(
            trainer,
            key=key,
            num_seeds=num_seeds,
            checkpoint_dir=tmp_path,
            metrics_path=tmp_path / "metrics.jsonl",
            progress=False,
        )
    assert error.value.round_number == 3 and error.value.seeds == [worst]
    assert "round 3" in str(error.value) and f"[{worst}]" in str(error.value)
    assert error.value.checkpoint == 2
    assert [r["round"] for r in read_jsonl(tmp_path / "metrics.jsonl")] == [1, 2]
    good, _ = run(fake_trainer.make(num_rounds=2), key=key, num_seeds=num_seeds)
    with Checkpointer(tmp_path) as checkpointer:
        assert checkpointer.steps() == [1, 2]
        restored, _ = checkpointer.restore(jax.eval_shape(lambda: good))
    for a, b in zip(leaves(restored), leaves(good), strict=True):
        np.testing.assert_array_equal(a, b)


def test_nonfinite_may_be_only_reported(key):
    trainer = fake_trainer.make(num_rounds=3, blow_up_round=2, blow_up_below=np.inf)
    _, history = run(trainer, key=key, stop_on_nonfinite=False, progress=False)
    assert [r["metrics"]["train/nonfinite"] > 0 for r in history] == [0, 1, 1]


def test_missing_tensorboard_writer_is_announced(key, caplog):
    try:
        import tensorboardX  # noqa: F401

        pytest.skip("tensorboardX is installed")
    except ImportError:
        pass
    run(fake_trainer.make(num_rounds=1), key=key, tensorboard_dir="tb", progress=False)
    assert "tensorboard_dir=tb ignored" in caplog.text


def test_resume_in_a_new_process_is_bit_identical(tmp_path, key):
    # Offline BC on a synthetic dataset: 4 rounds straight, against 2 rounds
    # here and 2 more in a fresh Python process restoring the checkpoint.
    straight, _ = run(fake_trainer.make_bc(num_rounds=4), key=key, num_seeds=2)
    run(
        fake_trainer.make_bc(num_rounds=4),
        key=key,
        num_seeds=2,
        num_rounds=2,
        checkpoint_dir=tmp_path,
        progress=False,
    )
    out = tmp_path / "resumed.npz"
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.harness_script", "resume"]
        + [str(tmp_path), str(out)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = np.load(out)
    expected = leaves(straight)
    assert len(resumed.files) == len(expected)
    for index, array in enumerate(expected):
        np.testing.assert_array_equal(resumed[f"arr_{index}"], array)


def test_sigterm_saves_at_the_next_round_and_exits_cleanly(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.training.harness_script", "sigterm"]
        + [str(tmp_path / "ckpt"), str(metrics)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (metrics.exists() and metrics.stat().st_size):
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no round finished in 120 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert "DONE" in stdout
    assert "SIGTERM: stopped after round" in stderr
    last = read_jsonl(metrics)[-1]["round"]
    assert last < 200_000
    with Checkpointer(tmp_path / "ckpt") as checkpointer:
        assert checkpointer.steps() == [last]


def test_sigterm_handler_is_restored(key):
    before = signal.getsignal(signal.SIGTERM)
    run(fake_trainer.make(num_rounds=1), key=key, progress=False)
    assert signal.getsignal(signal.SIGTERM) is before


def test_restore_and_evaluate_reproduce_the_logged_evaluation(tmp_path, key):
    trainer = fake_trainer.make(num_rounds=2)
    _, history = run(
        trainer, key=key, num_seeds=2, eval_every=2, checkpoint_dir=tmp_path
    )
    state, completed = loop.restore(trainer, tmp_path, key=key, num_seeds=2)
    means, per_seed = loop.evaluate(trainer, state, key=key, round_number=completed)
    assert completed == 2
    assert per_seed["eval/score"] == history[-1]["per_seed"]["eval/score"]
