"""The learners' shared input checks: messages name owner, field and values."""

import dataclasses

import jax
import jax.numpy as jnp
import pytest

from ilax.algorithms import checks
from ilax.types import Batch

SIZES = {"observation_size": 2, "action_size": 1}


def _batch(rows=4, obs=2, privileged=3, action=1):
    return Batch(
        jnp.zeros((rows, obs)), jnp.zeros((rows, privileged)), jnp.zeros((rows, action))
    )


OBS_WIDTH = (
    r"X init: the dataset's observation size \(field 'obs'\) is 5, but the learner's "
    r"observation_size is 2 \(field 'obs' must have shape \[rows >= 1, 2\]; got "
    r"\(4, 5\)\)"
)


@pytest.mark.parametrize(
    "batch, input_field, message",
    [
        (_batch(obs=5), "obs", OBS_WIDTH),
        (
            _batch(privileged=2, action=3),
            "privileged",
            r"X init: the dataset's action size \(field 'action'\) is 3",
        ),
        (
            _batch(rows=0),
            "obs",
            r"X init: field 'obs' is empty \(0 rows\); expected at least one row "
            "of size 2",
        ),
        (
            Batch(jnp.zeros((4, 2)), None, jnp.zeros((3, 1))),
            "obs",
            r"X init: fields disagree in rows: 'obs' has 4, 'action' has 3",
        ),
        (
            Batch(jnp.zeros((2,)), None, jnp.zeros((2, 1))),
            "obs",
            r"X init: field 'obs' must be 2-D \[rows, 2\]; got shape \(2,\)",
        ),
    ],
)
def test_check_batch_names_owner_field_expected_and_actual(batch, input_field, message):
    with pytest.raises(ValueError, match=message):
        checks.check_batch(
            batch, owner="X", input_field=input_field, where="init", **SIZES
        )


def test_check_batch_passes_good_data_and_runs_under_jit():
    checks.check_batch(
        _batch(obs=3, privileged=2),
        owner="X",
        input_field="privileged",
        where="init",
        **SIZES,
    )

    def bad(batch):
        checks.check_batch(batch, owner="X", input_field="obs", where="update", **SIZES)
        return batch.obs

    with pytest.raises(ValueError, match="X update: the dataset's observation size"):
        jax.jit(bad)(_batch(obs=3))


def test_check_finite_reads_only_the_input_field_and_actions():
    batch = _batch()
    nan_privileged = batch._replace(privileged=batch.privileged.at[0, 0].set(jnp.nan))
    checks.check_finite(nan_privileged, owner="X", input_field="obs")
    with pytest.raises(
        ValueError,
        match=r"X fit_normalizer: field 'privileged' holds 1 non-finite.*\(0, 0\)",
    ):
        checks.check_finite(nan_privileged, owner="X", input_field="privileged")


def test_check_sizes_and_network_fields_name_the_bad_value():
    with pytest.raises(
        ValueError, match="m.make: action_size must be a positive int; got 0"
    ):
        checks.check_sizes("m.make", observation_size=2, action_size=0)

    @dataclasses.dataclass
    class NetConfig:
        hidden_sizes: tuple = (8,)
        activation: str = "relu"

    checks.check_network_fields(NetConfig())
    with pytest.raises(
        ValueError, match=r"NetConfig.hidden_sizes must be positive ints; got \(8, 0\)"
    ):
        checks.check_network_fields(NetConfig(hidden_sizes=(8, 0)))
    with pytest.raises(ValueError, match="NetConfig.activation must be one of"):
        checks.check_network_fields(NetConfig(activation="swish"))
