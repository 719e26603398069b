"""The probe's seven silent failures, each now an error or a lossless behaviour.

Every test here failed on the code the probe ran against (issue 14); the
message each asserts names the field, what was expected and what was found.
"""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import config as config_lib
from ilax import data, envs
from ilax.algorithms import bc, diffusion
from ilax.data import hdf5
from ilax.data.normalizer import fit_normalizer
from ilax.training import checkpoints, loop, metrics_log, offline
from ilax.types import Observation
from tests.data.test_dataset import _dataset, _episode
from tests.training import fake_trainer
from tests.training.test_cli import run_cli
from tests.training.test_loop import read_jsonl


def stored_run(workdir, config):
    workdir.mkdir(parents=True)
    run = {"algo": "bc", "task": "pendulum", "seed": 0, "seeds": 1}
    run["config"] = checkpoints.info_json(config)
    (workdir / "run.json").write_text(json.dumps(run))


def test_1_eval_refuses_a_config_that_is_not_the_runs(tmp_path):
    workdir = tmp_path / "run"
    stored_run(workdir, bc.BCTrainConfig())
    result = run_cli("eval", f"--workdir={workdir}", "--config.learner.activation=tanh")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: eval of")
    assert "config.learner.activation: the run has 'relu', eval got 'tanh'" in last
    # The evaluation's own fields may change: the command gets past the
    # config and stops only at the missing checkpoint.
    result = run_cli("eval", f"--workdir={workdir}", "--config.eval_envs=3")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors and errors[0].startswith("error: no checkpoint"), result.stderr[
        -3000:
    ]


def test_2_save_every_zero_is_refused_and_the_last_round_always_saved(tmp_path, key):
    with pytest.raises(ValueError, match="run: save_every must be an int >= 1; got 0"):
        loop.run(fake_trainer.make(num_rounds=3), key=key, save_every=0)
    loop.run(
        fake_trainer.make(num_rounds=3),
        key=key,
        checkpoint_dir=tmp_path,
        save_every=10,
        progress=False,
    )
    with checkpoints.Checkpointer(tmp_path) as checkpointer:
        assert checkpointer.steps() == [3]
    # The command line refuses it before writing anything.
    workdir = tmp_path / "run"
    result = run_cli("--algo=bc", f"--workdir={workdir}", "--save_every=0")
    assert "error: run: save_every must be an int >= 1; got 0" in result.stderr
    assert not workdir.exists()


def test_3_no_silent_restart_over_unreadable_checkpoints(tmp_path, key):
    trainer = fake_trainer.make(num_rounds=3)
    workdir, metrics = tmp_path / "ckpt", tmp_path / "metrics.jsonl"
    common = dict(key=key, checkpoint_dir=workdir, metrics_path=metrics)
    loop.run(trainer, progress=False, **common)
    for step in (1, 2, 3):
        (workdir / str(step) / "meta" / "metadata").write_text("{broken")
    with pytest.raises(checkpoints.CheckpointError, match="no readable checkpoint"):
        loop.run(trainer, progress=False, **common)  # sets all three aside
    with pytest.raises(checkpoints.CheckpointError, match="starting again would lose"):
        loop.run(trainer, progress=False, **common)  # the probe's silent restart
    assert [r["round"] for r in read_jsonl(metrics)] == [1, 2, 3]
    _, history = loop.run(trainer, progress=False, restart=True, **common)
    assert [r["round"] for r in history] == [1, 2, 3]
    (old,) = tmp_path.glob("metrics.jsonl.*.old")
    assert [r["round"] for r in read_jsonl(old)] == [1, 2, 3]
    (corrupt,) = workdir.glob(f"{checkpoints.CORRUPT_DIR}.*.old")
    assert len(list(corrupt.iterdir())) == 3  # kept, out of the next run's way


def test_3_a_crash_before_the_first_save_resumes_without_restart(tmp_path, key):
    # Records of rounds no checkpoint holds are run again, as on any resume.
    trainer = fake_trainer.make(num_rounds=3)
    metrics = tmp_path / "metrics.jsonl"
    loop.run(trainer, key=key, num_rounds=1, metrics_path=metrics, restart=True)
    (tmp_path / "ckpt").mkdir()
    _, history = loop.run(
        trainer, key=key, checkpoint_dir=tmp_path / "ckpt", metrics_path=metrics
    )
    assert [r["round"] for r in read_jsonl(metrics)] == [1, 2, 3]
    assert [r["round"] for r in history] == [1, 2, 3]


def test_set_aside_never_replaces_an_earlier_copy(tmp_path):
    path = tmp_path / "metrics.jsonl"
    copies = []
    for text in ("first", "second", "third"):  # within one second
        path.write_text(text)
        copies.append(metrics_log.set_aside(path))
    assert [copy.read_text() for copy in copies] == ["first", "second", "third"]


def test_3_metrics_of_a_run_without_checkpoints_are_not_overwritten(tmp_path, key):
    metrics = tmp_path / "metrics.jsonl"
    loop.run(fake_trainer.make(num_rounds=2), key=key, metrics_path=metrics)
    with pytest.raises(checkpoints.CheckpointError, match="records rounds up to 2"):
        loop.run(fake_trainer.make(num_rounds=2), key=key, metrics_path=metrics)
    assert [r["round"] for r in read_jsonl(metrics)] == [1, 2]


@pytest.mark.parametrize("fault", ["empty", "nan"])
def test_4_save_refuses_an_invalid_dataset_and_keeps_the_old_one(tmp_path, fault):
    good = _dataset()
    hdf5.save(good, tmp_path / "demos")
    if fault == "empty":
        bad = jax.tree.map(lambda x: x[:0], good)
        message = "empty dataset"
    else:
        bad = dataclasses.replace(good, action=good.action.at[2, 0].set(jnp.nan))
        message = "field 'action' holds 1 non-finite values"
    with pytest.raises(data.DatasetError, match=message):
        hdf5.save(bad, tmp_path / "demos")
    loaded = hdf5.load(tmp_path / "demos")
    np.testing.assert_array_equal(loaded.action, good.action)


def test_5_the_diffusion_horizon_is_the_chunks_not_a_field():
    assert "horizon" not in config_lib.field_names(diffusion.DiffusionConfig)
    config = diffusion.DiffusionConfig(
        denoiser="unet", down_sizes=(8, 16), groups=4, num_steps=4
    )
    learner = diffusion.make(config, observation_size=3, action_size=2, horizon=16)
    normalizer = fit_normalizer(jnp.zeros((4, 3)), jnp.zeros((4, 32)), min_std=1.0)
    state = learner.init(jax.random.key(0), normalizer)
    policy = learner.make_policy(state)
    observation = Observation(jnp.zeros((5, 3)), jnp.zeros((5, 4)))
    policy_state = policy.init(jax.random.key(1), (5,))
    action, _, _ = policy.step(policy_state, observation, jax.random.key(2))
    assert action.shape == (5, 32)  # 16 steps of 2 actions, as the chunk says


def pendulum_demos():
    """Demonstrations as wide as pendulum's fields (obs 3, privileged 2)."""
    return data.from_episodes(
        [_episode(n, obs_size=3, privileged_size=2) for n in (6, 5)]
    )


def test_6_actions_too_large_for_float32_statistics_are_refused():
    env = envs.make("pendulum")
    dataset = pendulum_demos()
    huge = dataclasses.replace(dataset, action=dataset.action * 1e20)
    config = bc.BCTrainConfig(batch_size=4)
    learner = offline.build_learner(config, env, bc.make)
    with pytest.raises(ValueError, match="field 'action' is finite but too large"):
        offline.make_trainer_from_dataset(config, env, huge, learner)


def test_7_a_nan_in_a_dataset_is_named_at_the_trainers_entry():
    env = envs.make("pendulum")
    dataset = pendulum_demos()
    bad = dataclasses.replace(dataset, obs=dataset.obs.at[4, 1].set(jnp.nan))
    config = bc.BCTrainConfig(batch_size=4)
    learner = offline.build_learner(config, env, bc.make)
    with pytest.raises(ValueError, match=r"field 'obs' holds 1 non-finite .* \(4, 1\)"):
        offline.make_trainer_from_dataset(config, env, bad, learner)
