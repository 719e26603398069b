"""Trained experts: saved and loaded exactly, checked, and the shipped ones score."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from ilax import envs, experts, metrics
from ilax.algorithms import ppo
from ilax.experts import trained
from ilax.training import checkpoints, evaluation
from ilax.types import Observation


@pytest.fixture(scope="module")
def run():
    env = envs.make("gym/Pendulum-v1")
    config = dataclasses.replace(
        ppo.PPOTrainConfig(),
        iterations=2,
        num_envs=4,
        unroll_length=16,
        learner=ppo.PPOConfig(hidden_sizes=(8,), num_minibatches=2, epochs=1),
    )
    trainer = ppo.ALGORITHM.make_trainer(config, env, None)
    state = jax.jit(trainer.init)(jax.random.key(0))
    for _ in range(2):
        state, _ = jax.jit(trainer.step)(state, None)
    meta = {"task": env.name, "algo": "ppo", "config": checkpoints.info_json(config)}
    return env, trainer, state, meta


def actions(policy, obs):
    _, step_state, _ = None, policy.init(jax.random.key(1), (obs.shape[0],)), None
    action, _, _ = policy.step(
        step_state, Observation(obs, obs[:, :2]), jax.random.key(2)
    )
    return np.asarray(action)


def test_a_saved_expert_loads_as_the_same_policy(run, tmp_path):
    env, trainer, state, meta = run
    path = trained.save(tmp_path, state.train_state, meta)
    assert path.name == "gym__Pendulum-v1.json"
    obs = np.asarray(jax.random.normal(jax.random.key(3), (6, 3)))
    np.testing.assert_array_equal(
        actions(trained.load(env, path), obs), actions(trainer.policy(state), obs)
    )


def test_a_file_of_another_task_or_shape_is_refused(run, tmp_path):
    env, _, state, meta = run
    path = trained.save(tmp_path, state.train_state, {**meta, "task": "pendulum"})
    with pytest.raises(ValueError, match="made for task 'pendulum', not"):
        trained.load(env, path)
    path = trained.save(tmp_path, state.train_state, meta)
    arrays = dict(np.load(path.with_suffix(".npz")))
    name = next(n for n in arrays if "log_std" in n)
    arrays[name] = np.zeros((3,), np.float32)
    np.savez(path.with_suffix(".npz"), **arrays)
    with pytest.raises(
        ValueError, match=r"log_std.*must have shape \(1,\); got \(3,\)"
    ):
        trained.load(env, path)


def test_the_shipped_pendulum_v1_expert_scores_what_its_file_says():
    meta = trained.metadata("gym/Pendulum-v1")
    assert meta["algo"] == "ppo" and meta["eval_episodes"] == 100
    assert meta["command"].startswith("python -m experiments.train_expert")
    low, high = meta["return_ci95"]
    assert low <= meta["return_mean"] <= high
    env = envs.make("gym/Pendulum-v1")
    expert = experts.make(env)
    _, log = jax.jit(lambda k: evaluation.one_episode_each(env, expert, k, 100))(
        jax.random.key(7)
    )
    score = float(np.asarray(metrics.first_episode(log)["return"]).mean())
    # Shipped: -167.3 [-186.1, -149.4] on its own 100 starts; -153.6 on these.
    # Random actions score about -1,200.
    assert score > -220.0, score
    assert json.loads(json.dumps(meta)) == meta


# The locomotion experts, trained on the C engine (cheap on CPU): 16
# episodes of each must keep 0.8 of the file's 100-episode mean. Measured on
# these starts (expert mean, and uniform-random actions' mean): halfcheetah
# 5906.7 (one episode of 16 at 1089.8), -322.4; hopper 3375.8, 16.0;
# walker2d 5685.1 (one at 440.0), 0.2.
LOCOMOTION_FLOORS = {"halfcheetah": 0.8, "hopper": 0.8, "walker2d": 0.8}


@pytest.mark.parametrize(
    "task", [t for t in LOCOMOTION_FLOORS if trained.metadata(t) is not None]
)
def test_a_shipped_locomotion_expert_scores_what_its_file_says(task):
    meta = trained.metadata(task)
    assert meta["env_config"]["impl"] == "c"
    env = envs.make(task)
    expert = experts.make(env)
    _, log = jax.jit(lambda k: evaluation.one_episode_each(env, expert, k, 16))(
        jax.random.key(11)
    )
    returns = np.asarray(metrics.first_episode(log)["return"])
    assert returns.mean() > LOCOMOTION_FLOORS[task] * meta["return_mean"], returns
