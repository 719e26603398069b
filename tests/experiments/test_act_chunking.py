"""The ACT chunking experiment: its arms, its data filter and, slow, its claim.

The claim's direction at the CPU budget is measured on the MLP control arms
(chunks of 10 against single steps, human-like demonstrations): the small
ACT transformer learns the task too slowly there for a margin that holds
over keys (k = 20 against k = 1 gained 0.13, 0.29 and 0.00 over three keys;
results/act_chunking/). The margin's measurement is in
tests/experiments/README.md.
"""

import dataclasses

import jax
import numpy as np
import pytest

from experiments import act_chunking
from ilax import data, envs, experts


def test_the_plot_has_one_open_loop_curve_per_network_and_set(monkeypatch):
    settings = act_chunking.Settings(
        chunk_sizes=(1, 20), ensembling_sizes=(20,), no_cvae_sizes=(20,), mlp_sizes=(5,)
    )
    configs = act_chunking.arms(settings)
    success = {name: np.full(2, index / 10) for index, name in enumerate(configs)}
    run = {"arms": {name: {"numbers": {"success": s}} for name, s in success.items()}}
    drawn = {}
    monkeypatch.setattr(
        act_chunking.metrics_lib,
        "plot_curves",
        lambda curves, **kwargs: drawn.update(curves),
    )
    act_chunking.plot_success_vs_k({"human": run, "scripted": run}, configs, None)
    # The MLP has a single k, so it draws nothing; ensembling and no-CVAE
    # arms are not open-loop ACT points.
    assert sorted(drawn) == ["ACT, human", "ACT, scripted"]
    ks, values = drawn["ACT, human"]
    assert ks == [1, 20]
    np.testing.assert_array_equal(values, [[0.0, 0.1], [0.0, 0.1]])


def test_arms_execute_and_train_as_the_ablation_says():
    settings = act_chunking.Settings(
        chunk_sizes=(1, 20), ensembling_sizes=(20,), no_cvae_sizes=(20,), mlp_sizes=()
    )
    arms = act_chunking.arms(settings)
    assert list(arms) == ["k=1", "k=20", "k=20 + ensembling", "k=20, no CVAE"]
    single, open_loop, ensembling, plain = arms.values()
    for config in arms.values():
        assert config.chunk.obs_horizon == 1
        assert not config.learner.mask_padding
        assert config.num_demos == settings.demos
    masked = act_chunking.arms(dataclasses.replace(settings, mask_padding=True))
    assert masked["k=20"].learner.mask_padding
    # Open loop executes the whole chunk; ensembling predicts every step.
    assert open_loop.chunk.action_horizon == 20
    assert not open_loop.chunk.temporal_ensembling
    assert single.chunk.action_horizon == 1
    assert ensembling.chunk.temporal_ensembling
    assert ensembling.chunk.ensembling_decay == 0.01
    assert ensembling.chunk.action_horizon == 1
    assert not plain.learner.use_cvae and plain.chunk.action_horizon == 20
    # The ensembling arm reuses its open-loop twin's training, the others not.
    trainings = {name: repr(act_chunking.training_of(c)) for name, c in arms.items()}
    assert trainings["k=20 + ensembling"] == trainings["k=20"]
    assert len(set(trainings.values())) == 3


def test_mlp_control_arms_train_behaviour_cloning_on_chunks():
    settings = act_chunking.Settings(
        chunk_sizes=(), ensembling_sizes=(), no_cvae_sizes=(), mlp_sizes=(10,)
    )
    ((name, mlp),) = act_chunking.arms(settings).items()
    assert name == "MLP k=10"
    assert mlp.learner.loss == "mse" and mlp.learner.hidden_sizes == (256, 256)
    assert mlp.chunk.prediction_horizon == mlp.chunk.action_horizon == 10


def test_only_successful_demonstrations_are_kept():
    env = envs.make("slot")
    # An 8 mm tremor makes most episodes touch the wall (15 of 24 with this
    # key, over two collection rounds), so the filter has failures to drop.
    expert = experts.make(env, style="human", tremor_std=0.008)
    dataset, info = data.collect_successful(env, expert, jax.random.key(0), 8)
    assert dataset.num_episodes == info["kept"] == 8
    assert info["failed"] > 0 and info["collected"] > 12
    final_y = np.asarray(dataset.final_privileged)[:, 1]
    last = np.asarray(dataset.episode_start + dataset.episode_length - 1)
    assert np.all(np.asarray(dataset.terminated)[last])
    assert np.all(final_y >= env.unwrapped.success_depth), final_y


@pytest.mark.slow  # about 35 s per key on 2 cores
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chunks_beat_single_step_cloning(seed):
    settings = act_chunking.Settings(
        chunk_sizes=(),
        ensembling_sizes=(),
        no_cvae_sizes=(),
        mlp_sizes=(1, 10),
        seeds=8,  # at 2 seeds one seed of k = 10 fails outright in half the keys
        seed=seed,
    )
    run = act_chunking.run_style("human", settings, jax.random.key(seed))
    success = {
        name: float(np.mean(result["numbers"]["success"]))
        for name, result in run["arms"].items()
    }
    assert success["MLP k=10"] >= success["MLP k=1"] + MARGIN, success


MARGIN = 0.09  # half the smallest gap measured: tests/experiments/README.md
