"""env_throughput's bare baseline runs for MJX tasks and for pure-JAX ones."""

import jax
import numpy as np
import pytest

import ilax
from benchmarks import env_throughput
from tests.tiers import GENERIC_SLOW, task_params


@pytest.mark.parametrize("task", ["pendulum", "slot"])
def test_bare_program_steps_every_kind_of_task(task):
    env = ilax.envs.make(task)
    program = env_throughput.make_bare_program(env, num_envs=3, num_steps=4)
    start = env_throughput.make_bare_program(env, num_envs=3, num_steps=0)
    after, before = program(jax.random.key(0)), start(jax.random.key(0))
    assert after.shape[0] == 3 and np.all(np.isfinite(after))
    # Random controls for four steps move every environment from its start.
    assert np.all(np.any(np.asarray(after) != np.asarray(before), axis=1))


@pytest.mark.parametrize("task", task_params(ilax.envs.names(), GENERIC_SLOW))
def test_every_registered_task_has_a_bare_program(task):
    env = ilax.envs.make(task)
    shape = jax.eval_shape(
        env_throughput.make_bare_program(env, num_envs=2, num_steps=1),
        jax.random.key(0),
    ).shape
    assert shape[0] == 2, task
