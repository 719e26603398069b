"""Data-parallel BC updates on 4 (forced host) devices match 1-device updates."""

import os
import pathlib
import subprocess
import sys
import textwrap

import jax

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import os

    import jax
    import numpy as np

    jax.config.update("jax_compilation_cache_dir", os.environ["ILAX_JAX_CACHE"])
    from ilax import data
    from ilax.algorithms import bc
    from ilax.training import sharding
    from tests.training import fake_trainer

    assert jax.device_count() == 4, jax.devices()
    dataset = fake_trainer.synthetic_dataset()
    learner = bc.make(
        bc.BCConfig(hidden_sizes=(32, 32)), observation_size=3, action_size=1
    )
    update = jax.jit(learner.update)  # the same program object on both layouts
    key = jax.random.key(0)
    key_init, key_batches, key_updates = jax.random.split(key, 3)
    normalizer = learner.fit_normalizer(data.sample_batch(dataset, key_init, 64))
    state = learner.init(key_init, normalizer)
    batches = [
        data.sample_batch(dataset, jax.random.fold_in(key_batches, i), 64)
        for i in range(10)
    ]

    def run(state, place_batch):
        for i, batch in enumerate(batches):
            state, metrics = update(
                state, place_batch(batch), jax.random.fold_in(key_updates, i)
            )
        return state, metrics

    single, single_metrics = run(state, lambda batch: batch)
    mesh = sharding.data_mesh()
    sharded_batch = sharding.shard_batch(batches[0], mesh)
    assert len(sharded_batch.obs.addressable_shards) == 4
    assert sharded_batch.obs.addressable_shards[0].data.shape == (16, 3)
    parallel, parallel_metrics = run(
        sharding.replicate(state, mesh), lambda b: sharding.shard_batch(b, mesh)
    )
    leaf = jax.tree.leaves(parallel.params)[0]
    assert leaf.sharding.is_fully_replicated and len(leaf.sharding.device_set) == 4
    for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(parallel), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(
        single_metrics["bc/loss"], parallel_metrics["bc/loss"], rtol=1e-5
    )
    try:
        sharding.shard_batch(data.sample_batch(dataset, key_init, 6), mesh)
        raise AssertionError("6 rows over 4 devices were accepted")
    except ValueError as error:
        assert "(6 rows) must divide evenly over the 4 devices" in str(error)
    print("MATCH", float(single_metrics["bc/loss"]))
    """
)


def test_four_device_updates_match_one_device():
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    )
    env["JAX_PLATFORMS"] = "cpu"
    env["ILAX_JAX_CACHE"] = jax.config.jax_compilation_cache_dir
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MATCH" in result.stdout
