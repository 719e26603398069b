"""The two_ways experiment: an arm end to end, resuming, and (slow) its claim:
a chunked diffusion policy covers both sides and succeeds where MSE regression
averages the modes and fails."""

import dataclasses
import json

import jax
import numpy as np
import pytest

from experiments import generative_policies as gp
from ilax import data, envs, experts
from ilax.algorithms import bc, diffusion
from ilax.chunking import ChunkConfig

MSE = bc.BCTrainConfig(learner=bc.BCConfig(loss="mse"))
DIFFUSION = diffusion.DiffusionTrainConfig(
    learner=diffusion.DiffusionConfig(num_steps=50),
    chunk=ChunkConfig(obs_horizon=1, prediction_horizon=4, action_horizon=4),
)


@pytest.fixture(scope="module")
def heldout():
    env = envs.make(gp.TASK)
    return data.collect(env, experts.make(env), jax.random.key(10_000), 4)


def test_every_arm_is_a_registered_config():
    for name, config in gp.arms().items():
        config = gp.scheduled(config, 10, gp.Settings())
        assert config.num_demos == 10 and config.rounds == 10, name
        assert config.updates_per_round * 10 == gp.Settings().updates


def test_an_arm_trains_evaluates_and_times_its_seeds(heldout):
    settings = gp.Settings(updates=40, batch_size=32, eval_envs=3, seeds=2)
    chunked_mse = dataclasses.replace(MSE, chunk=DIFFUSION.chunk)  # cheap to compile
    numbers, timing = gp.run_arm(
        gp.scheduled(chunked_mse, 4, settings), jax.random.key(1), settings, heldout
    )
    for name in ("success", "left", "dithering", "energy_distance", "loss_cv"):
        assert numbers[name].shape == (2,), name
        assert np.all(np.isfinite(numbers[name])), name
    assert np.all(numbers["nonfinite"] == 0)
    assert numbers["latency_ms"] > 0 and timing["compile_s"] > 0


@pytest.mark.slow  # about 75 s per key on 2 cores
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_diffusion_commits_to_a_side_where_mse_averages_them(heldout, seed):
    settings = gp.Settings(updates=4000, batch_size=256, eval_envs=20, seeds=2)
    # The same seeds for both arms (a fresh key object each: keys are used once).
    mse, _ = gp.run_arm(
        gp.scheduled(MSE, 40, settings), jax.random.key(seed), settings, heldout
    )
    dp, _ = gp.run_arm(
        gp.scheduled(DIFFUSION, 40, settings), jax.random.key(seed), settings, heldout
    )
    # Half the smallest gap measured over these keys (0.575; numbers in
    # tests/experiments/README.md).
    assert np.mean(dp["success"]) >= np.mean(mse["success"]) + 0.3
    assert np.all((dp["left"] > 0.0) & (dp["left"] < 1.0))  # both sides taken
    assert np.all(dp["nonfinite"] == 0)
    # MSE regression puts actions between the modes at ambiguous states.
    assert np.mean(dp["energy_distance"]) < np.mean(mse["energy_distance"])


def test_resume_keeps_runs_of_the_same_settings_only(tmp_path):
    settings = gp.Settings(seeds=2, updates=10)
    environment = {"backend": "cpu", "cpu": "x", "cpu_count": 2}
    environment["versions"] = {"jax": "0"}
    run = {"numbers": {"success": [1.0, 0.0]}, "timing": {"train_s": 1.0}}
    record = {
        "settings": {**vars(settings), "task": gp.TASK, "demos": [25]},
        "environment": environment,
        "results": {"BC-MSE": {"25": run}},
    }
    (tmp_path / "results.json").write_text(json.dumps(record))
    assert gp.finished_runs(tmp_path, settings, environment) == {"BC-MSE": {25: run}}
    with pytest.raises(ValueError, match="'updates': 10.*'updates': 20"):
        gp.finished_runs(tmp_path, gp.Settings(seeds=2, updates=20), environment)
    other = {**environment, "cpu_count": 16}
    with pytest.raises(ValueError, match=r"\(2 cores\).*\(16 cores\)"):
        gp.finished_runs(tmp_path, settings, other)
    assert gp.finished_runs(tmp_path / "empty", settings, environment) == {}
