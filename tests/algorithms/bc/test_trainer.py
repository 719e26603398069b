"""Offline BC as a Trainer, and the algorithm registry."""

import dataclasses

import jax
import numpy as np
import pytest

from ilax import data
from ilax.algorithms import registry
from ilax.algorithms.bc import BCConfig
from ilax.algorithms.bc.trainer import BCTrainConfig, make_trainer
from ilax.envs.wrappers import TimeLimit
from ilax.training import checkpoints, train
from tests.fake_env import CountdownEnv
from tests.training import fake_trainer


@pytest.fixture(scope="module")
def env():
    return TimeLimit(CountdownEnv(), 10)


def test_registry_knows_bc():
    assert "bc" in registry.names()
    config = registry.default_config("bc")
    assert isinstance(config, BCTrainConfig)
    assert isinstance(config.learner, BCConfig)
    assert registry.default_config("bc") is not config  # a fresh value each time


def test_registry_errors_name_the_choices(env):
    with pytest.raises(ValueError, match="unknown algorithm 'nope'; known.*bc"):
        registry.make_trainer("nope", None, env, None)
    with pytest.raises(ValueError, match="takes a BCTrainConfig; got BCConfig"):
        registry.make_trainer("bc", BCConfig(), env, None)
    with pytest.raises(ValueError, match="'bc' is already registered"):
        registry.register("bc", BCTrainConfig, make_trainer)


def test_batch_larger_than_the_dataset_names_both_numbers():
    with pytest.raises(ValueError, match=r"batch_size \(1000\).*\(120 steps in 6"):
        fake_trainer.make_bc(batch_size=1000)


def test_config_fields_are_checked():
    with pytest.raises(ValueError, match="BCTrainConfig.updates_per_chunk must be > 0"):
        fake_trainer.make_bc(updates_per_chunk=0)


def test_learns_on_the_demonstrations_and_evaluates(key):
    trainer = fake_trainer.make_bc(num_chunks=4)
    _, history = train(trainer, key=key, num_seeds=2, eval_every=4, progress=False)
    mse = [record["metrics"]["bc/action_mse"] for record in history]
    # Measured over 3 keys: chunk 4 / chunk 1 mean action MSE in 0.26-0.38.
    assert mse[-1] < 0.5 * mse[0]
    last = history[-1]["metrics"]
    assert last["train/nonfinite"] == 0
    assert last["eval/num_episodes"] >= 2  # 2 envs x 12 steps, episodes <= 10


def test_seeds_equal_single_seed_runs(key):
    trainer = fake_trainer.make_bc(num_chunks=2)
    together, _ = train(trainer, key=key, num_seeds=2, progress=False)
    together = jax.tree.leaves(checkpoints.to_savable(together))
    for seed in range(2):
        alone, _ = train(trainer, key=key, seed_offset=seed, progress=False)
        alone = jax.tree.leaves(checkpoints.to_savable(alone))
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_allclose(a[0], b[seed], rtol=1e-5, atol=1e-6)


def test_reads_a_saved_dataset(tmp_path, env):
    dataset = fake_trainer.synthetic_dataset()
    data.save(dataset, tmp_path / "demos")
    config = BCTrainConfig(
        dataset_path=str(tmp_path / "demos"), batch_size=8, eval_envs=1
    )
    trainer = make_trainer(config, env, expert=None)  # nothing is collected
    np.testing.assert_array_equal(trainer.data.action, dataset.action)
    assert trainer.num_chunks == config.num_chunks

    class Wider(CountdownEnv):
        observation_size = 4

    with pytest.raises(ValueError, match="'obs' has size 3, the task 'countdown'"):
        make_trainer(config, TimeLimit(Wider(), 10), expert=None)
    missing = dataclasses.replace(config, dataset_path=str(tmp_path / "none"))
    with pytest.raises(data.DatasetError, match="no such dataset"):
        make_trainer(missing, env, expert=None)
