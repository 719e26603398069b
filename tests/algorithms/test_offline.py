"""The shared offline trainer with chunked policies, for every offline learner."""

import dataclasses

import jax
import numpy as np
import pytest

from ilax import chunking
from ilax.algorithms import bc, diffusion, gan, offline, registry, vae
from ilax.chunking import ChunkConfig
from ilax.data import windows_at
from ilax.envs.wrappers import TimeLimit
from ilax.training import train
from ilax.types import Observation
from tests.fake_env import CountdownEnv
from tests.training.fake_trainer import synthetic_dataset

CHUNK = ChunkConfig(obs_horizon=2, prediction_horizon=4, action_horizon=2)
# name: (the learner's make, small settings)
LEARNERS = {
    "bc": (bc.make, {"hidden_sizes": (16, 16)}),
    "diffusion": (diffusion.make, {"hidden_sizes": (32, 32), "num_steps": 10}),
    "cvae": (vae.make, {"hidden_sizes": (16, 16), "kl_weight": 0.1}),
    "gan": (gan.make, {"hidden_sizes": (16, 16)}),
}


@pytest.fixture(scope="module")
def env():
    return TimeLimit(CountdownEnv(), 10)


@pytest.fixture(scope="module")
def dataset():
    return synthetic_dataset()


def make_config(name: str, chunk: ChunkConfig, **fields):
    config = registry.default_config(name)
    learner = dataclasses.replace(config.learner, **LEARNERS[name][1])
    settings = dict(
        batch_size=16, updates_per_chunk=20, num_chunks=2, eval_envs=3, eval_steps=15
    )
    return dataclasses.replace(
        config, learner=learner, chunk=chunk, **{**settings, **fields}
    )


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_every_offline_learner_trains_and_acts_in_chunks(name, env, dataset, key):
    config = make_config(name, CHUNK)
    trainer = offline.make_trainer_from_dataset(config, env, dataset, LEARNERS[name][0])
    _, history = train(trainer, key=key, num_seeds=2, eval_every=2, progress=False)
    last = history[-1]["metrics"]
    assert last["train/nonfinite"] == 0
    assert all(np.isfinite(value) for value in last.values())
    assert last["eval/num_episodes"] >= 3  # 3 envs x 15 steps, episodes <= 10


def test_chunk_element_zero_is_the_label_of_the_current_step(env, dataset, key):
    # action_t = tanh(obs_t[0] - 0.5 obs_t[1]) with obs drawn afresh each step:
    # chunk element 0 is predictable from the current observation, element 1
    # (the next step's label) is not. Misaligned windows would swap that.
    chunk = ChunkConfig(obs_horizon=2, prediction_horizon=2, action_horizon=1)
    config = make_config("bc", chunk, updates_per_chunk=400, num_chunks=1)
    config = dataclasses.replace(
        config, learner=dataclasses.replace(config.learner, hidden_sizes=(64, 64))
    )
    trainer = offline.make_trainer_from_dataset(config, env, dataset, bc.make)
    state, _ = train(trainer, key=key, num_seeds=1, eval_every=0, progress=False)
    learner = chunking.chunk_learner(
        bc.make(config.learner, observation_size=6, action_size=2),
        chunk,
        observation_size=3,
        privileged_size=3,
        action_size=1,
    )
    train_state = jax.tree.map(lambda x: x[0], state.train_state)
    obs = np.random.default_rng(1).normal(size=(256, 3)).astype(np.float32)
    policy = learner.make_policy(train_state)
    action, _, _ = policy.step(
        policy.init(key, (256,)), Observation(obs, obs), jax.random.key(1)
    )
    target = np.tanh(obs[:, 0] - 0.5 * obs[:, 1])
    error = np.mean((np.asarray(action[:, 0]) - target) ** 2)
    # Measured: MSE 0.05 against a label variance of 0.41; a policy acting
    # with the next step's (unpredictable) label would be near the variance.
    assert error < 0.3 * np.var(target)


def test_mismatched_window_horizons_name_the_field(key):
    learner = chunking.chunk_learner(
        bc.make(bc.BCConfig(), observation_size=6, action_size=4),
        CHUNK,
        observation_size=3,
        privileged_size=3,
        action_size=1,
    )
    window = windows_at(synthetic_dataset(), np.arange(4), 2, 2)
    with pytest.raises(ValueError, match="prediction_horizon = 4; got shape"):
        learner.init(key, window)
