"""The algorithm registry: one entry per package, looked up by name or config."""

import dataclasses

import jax.numpy as jnp
import pytest

from ilax.algorithms import bc, dagger, registry
from ilax.envs.wrappers import TimeLimit
from ilax.types import Batch
from tests.fake_env import CountdownEnv


def test_every_algorithm_package_registers_itself():
    names = registry.names()
    assert names == sorted(
        [
            "act",
            "airl",
            "airl_ppo",
            "bc",
            "cvae",
            "dagger",
            "dart",
            "diffusion",
            "gail",
            "gail_ppo",
            "gan",
            "ppo",
            "trpo",
        ]
    )
    packages = {name.rsplit(".", 1)[1] for name in registry.packages()}
    # Each algorithm comes from a package of ilax.algorithms (cvae from vae,
    # gail_ppo from gail, airl_ppo from airl).
    assert packages == {
        "airl",
        "bc",
        "dagger",
        "dart",
        "vae",
        "gan",
        "diffusion",
        "act",
        "ppo",
        "trpo",
        "gail",
    }
    # Only the reinforcement learners need no expert.
    assert [n for n in names if not registry.get(n).needs_expert] == ["ppo", "trpo"]


def test_entries_give_fresh_defaults_and_are_found_by_config():
    config = registry.default_config("bc")
    assert isinstance(config, bc.BCTrainConfig)
    assert isinstance(config.learner, bc.BCConfig)
    assert registry.default_config("bc") is not config  # a fresh value each time
    assert registry.of_config(config) is bc.ALGORITHM
    assert registry.of_config(dagger.DaggerConfig()).name == "dagger"
    with pytest.raises(ValueError, match="no registered algorithm takes a BCConfig"):
        registry.of_config(bc.BCConfig())


def test_registry_errors_name_the_choices():
    env = TimeLimit(CountdownEnv(), 10)
    with pytest.raises(ValueError, match="unknown algorithm 'nope'; known.*bc"):
        registry.make_trainer("nope", None, env, None)
    with pytest.raises(ValueError, match="takes a BCTrainConfig; got BCConfig"):
        registry.make_trainer("bc", bc.BCConfig(), env, None)
    with pytest.raises(ValueError, match="'bc' is already registered"):
        registry.register(dataclasses.replace(bc.ALGORITHM))


def test_derived_sizes_are_not_config_fields():
    # The chunk size of ACT and the U-Net's horizon come from the run's chunk
    # config; the learner configs hold no second copy to disagree with it.
    from ilax.algorithms import act, diffusion

    assert "chunk_size" not in {f.name for f in dataclasses.fields(act.ACTConfig)}
    assert "horizon" not in {
        f.name for f in dataclasses.fields(diffusion.DiffusionConfig)
    }
    env = TimeLimit(CountdownEnv(), 10)
    config = act.ACTTrainConfig()  # chunks of k = 20 actions by default
    learner = act.ALGORITHM.make_learner(config, env)
    rows = Batch(jnp.zeros((4, 3)), jnp.zeros((4, 3)), jnp.zeros((4, 20)))
    learner.fit_normalizer(rows)
    with pytest.raises(
        ValueError,
        match=r"action size \(field 'action'\) is 8, but the learner's action_size "
        "is 20",
    ):
        learner.fit_normalizer(rows._replace(action=jnp.zeros((4, 8))))


def test_a_learner_config_finds_its_package_factory():
    from ilax.algorithms import base, diffusion, vae

    assert registry.learner_factory(bc.BCConfig()) is bc.make
    assert registry.learner_factory(vae.VAEConfig()) is vae.make
    assert registry.learner_factory(diffusion.DiffusionConfig()) is diffusion.make
    with pytest.raises(ValueError, match="not in an algorithm package"):
        registry.learner_factory(base.LearnerConfig())
