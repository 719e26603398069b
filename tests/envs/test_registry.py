"""The task registry and checked config overrides."""

import pytest

import ilax
from ilax import config as config_lib


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown task 'pendullum'; known tasks: .*pendulum"
    ):
        ilax.envs.make("pendullum")


def test_unknown_config_field_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match=r"unknown field\(s\) 'timestpe'.*valid fields: .*timestep"
    ):
        ilax.envs.make("pendulum", timestpe=0.01)


def test_overrides_reach_the_environment():
    env = ilax.envs.make("pendulum", episode_length=17, n_substeps=2)
    assert env.max_steps == 17
    assert env.config.n_substeps == 2
    assert env.dt == pytest.approx(0.02)
    assert ilax.envs.default_config("pendulum").episode_length == 200


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"impl": "cuda"},
            r"PendulumConfig.impl must be one of 'auto', 'jax', 'warp', 'c'; "
            r"got 'cuda'",
        ),
        ({"timestep": 0.0}, r"PendulumConfig.timestep must be > 0; got 0.0"),
        ({"episode_length": 0}, r"PendulumConfig.episode_length must be > 0; got 0"),
    ],
)
def test_invalid_config_values_name_the_field(overrides, message):
    with pytest.raises(ValueError, match=message):
        ilax.envs.make("pendulum", **overrides)


def test_replace_is_a_copy():
    config = ilax.envs.default_config("pendulum")
    changed = config_lib.replace(config, timestep=0.02)
    assert config.timestep == 0.01 and changed.timestep == 0.02
