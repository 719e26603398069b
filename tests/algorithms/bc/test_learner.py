"""The BC learner: config checks, its normalizer, its losses by hand, its policy.

What every learner must do (purity, no retracing, vmap, non-finite steps,
shape errors, checkpoints) is tested for all of them in
tests/algorithms/test_conformance.py.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ilax.algorithms import bc
from ilax.types import Batch, Observation

OBS, PRIVILEGED, ACTION = 3, 2, 2


def _data(rows=64, seed=0):
    key_obs, key_privileged = jax.random.split(jax.random.key(seed))
    obs = 2.0 + 3.0 * jax.random.normal(key_obs, (rows, OBS))
    privileged = jax.random.normal(key_privileged, (rows, PRIVILEGED))
    action = jnp.stack([jnp.tanh(obs[:, 0]), 10.0 + obs[:, 1] - obs[:, 2]], -1)
    return Batch(obs=obs, privileged=privileged, action=action)


@functools.cache
def _learner(**overrides):
    config = bc.BCConfig(hidden_sizes=(16, 16), **overrides)
    size = PRIVILEGED if config.input == "privileged" else OBS
    return bc.make(config, observation_size=size, action_size=ACTION)


def _init(learner=None, seed=0, data=None):
    learner = learner or _learner()
    data = _data() if data is None else data
    return learner.init(jax.random.key(seed), learner.fit_normalizer(data))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"loss": "l1"}, r"BCConfig.loss must be one of 'mse', 'gaussian', 'gmm'"),
        ({"input": "state"}, r"BCConfig.input must be one of 'obs', 'privileged'"),
        ({"activation": "swish"}, r"BCConfig.activation must be one of"),
        ({"learning_rate": 0.0}, r"BCConfig.learning_rate must be > 0; got 0.0"),
        ({"max_grad_norm": -1.0}, r"BCConfig.max_grad_norm must be >= 0"),
        ({"hidden_sizes": (8, 0)}, r"BCConfig.hidden_sizes must be positive"),
        ({"stochastic_policy": True}, r"stochastic_policy=True needs.*loss='mse'"),
    ],
)
def test_bad_config_fields_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        bc.make(bc.BCConfig(**overrides), observation_size=3, action_size=2)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="action_size must be a positive int; got 0"):
        bc.make(bc.BCConfig(), observation_size=3, action_size=0)


@pytest.mark.parametrize("field", ["obs", "action"])
def test_non_finite_data_is_refused_by_fit_normalizer_naming_the_field(field):
    data = _data()
    values = getattr(data, field).at[5, 1].set(jnp.nan).at[7, 0].set(jnp.inf)
    bad = data._replace(**{field: values})
    with pytest.raises(
        ValueError,
        match=rf"BC fit_normalizer: field '{field}' holds 2 non-finite.*\(5, 1\)",
    ):
        _learner().fit_normalizer(bad)
    # Traced data cannot be inspected; shapes are still checked.
    jax.jit(_learner().fit_normalizer)(bad)


def test_finite_data_too_large_for_its_statistics_is_refused():
    data = _data()
    huge = data._replace(action=data.action.at[:, 0].set(1e20 * data.action[:, 0]))
    with pytest.raises(
        ValueError, match=r"BC fit_normalizer: field 'action' is finite but too large"
    ):
        _learner().fit_normalizer(huge)


def test_normalizer_holds_the_data_statistics_with_a_floor():
    data = _data()
    data = data._replace(obs=data.obs.at[:, 2].set(4.0))  # a constant column
    state = _init(data=data)
    n = state.normalizer
    np.testing.assert_allclose(n.obs_mean, np.mean(data.obs, 0), rtol=1e-5)
    expected_std = np.std(np.asarray(data.obs), 0)
    expected_std[2] = 1e-2  # BCConfig.min_std
    np.testing.assert_allclose(n.obs_std, expected_std, rtol=1e-5)
    np.testing.assert_allclose(n.action_mean, np.mean(data.action, 0), rtol=1e-5)
    np.testing.assert_allclose(n.action_std, np.std(data.action, 0), rtol=1e-5)
    plain = _init(_learner(normalize=False)).normalizer
    np.testing.assert_array_equal(plain.obs_mean, np.zeros(OBS))
    np.testing.assert_array_equal(plain.action_std, np.ones(ACTION))


def test_privileged_input_takes_its_statistics_from_the_privileged_field():
    data = _data()
    state = _init(_learner(input="privileged"), data=data)
    np.testing.assert_allclose(
        state.normalizer.obs_mean, np.mean(data.privileged, 0), rtol=1e-5
    )


def test_mse_loss_and_action_mse_by_hand():
    learner, data = _learner(), _data()
    state = _init(learner)
    _, metrics = jax.jit(learner.update)(state, data, jax.random.key(3))
    assert set(metrics) == {
        "bc/loss",
        "bc/grad_norm",
        "bc/action_mse",
        "train/nonfinite",
    }
    policy = learner.make_policy(state)
    predicted, _, extras = policy.step(
        (), Observation(data.obs, data.privileged), jax.random.key(4)
    )
    assert extras == {}
    raw_error = (np.asarray(predicted) - np.asarray(data.action)) ** 2
    np.testing.assert_allclose(metrics["bc/action_mse"], raw_error.mean(), rtol=1e-5)
    # The loss is the same error in normalized action units.
    normalized = raw_error / np.asarray(state.normalizer.action_std)[None] ** 2
    np.testing.assert_allclose(metrics["bc/loss"], normalized.mean(), rtol=1e-5)
    assert metrics["train/nonfinite"] == 0.0


@pytest.mark.parametrize("loss", ["mse", "gaussian", "gmm"])
def test_an_update_changes_the_params_and_counts_the_step(loss):
    learner = _learner(loss=loss)
    state = _init(learner)
    new, metrics = jax.jit(learner.update)(state, _data(seed=1), jax.random.key(5))
    assert int(new.step) == 1 and new.step.dtype == jnp.int32
    assert all(bool(jnp.isfinite(v)) for v in metrics.values())
    assert metrics["train/nonfinite"] == 0.0 and metrics["bc/grad_norm"] > 0
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), new.params, state.params)
    assert all(jax.tree.leaves(changed))


def test_gradient_clipping_bounds_what_the_optimizer_sees():
    learner = _learner(max_grad_norm=1e-3)
    state = _init(learner)
    new, metrics = learner.update(state, _data(seed=1), jax.random.key(8))
    assert metrics["bc/grad_norm"] > 0.1  # the unclipped norm is reported
    # Adam's first moment after one step is (1 - b1) times the clipped gradient.
    first_moment = optax.tree_utils.tree_get(new.opt_state, "mu")
    np.testing.assert_allclose(optax.tree.norm(first_moment) / 0.1, 1e-3, rtol=1e-4)


@pytest.mark.parametrize("batch_shape", [(5,), (2, 3)])
def test_policy_reads_only_its_input_field(batch_shape):
    def observation(obs_fill, privileged_fill):
        return Observation(
            obs=jnp.full(batch_shape + (OBS,), obs_fill),
            privileged=jnp.full(batch_shape + (PRIVILEGED,), privileged_fill),
        )

    for input_field in ("obs", "privileged"):
        learner = _learner(input=input_field)
        policy = learner.make_policy(_init(learner))
        assert policy.init(jax.random.key(0), batch_shape) == ()
        base, _, _ = policy.step((), observation(1.0, 1.0), jax.random.key(1))
        assert base.shape == batch_shape + (ACTION,)
        other = (
            observation(1.0, -7.0) if input_field == "obs" else observation(-7.0, 1.0)
        )
        read = (
            observation(-7.0, 1.0) if input_field == "obs" else observation(1.0, -7.0)
        )
        np.testing.assert_array_equal(
            policy.step((), other, jax.random.key(2))[0], base
        )
        assert not np.allclose(policy.step((), read, jax.random.key(3))[0], base)


def test_stochastic_policies_sample_and_deterministic_ones_do_not():
    obs = Observation(jnp.ones((4000, OBS)), jnp.ones((4000, PRIVILEGED)))
    for loss in ("gaussian", "gmm"):
        deterministic = _learner(loss=loss)
        state = _init(deterministic)
        policy = deterministic.make_policy(state)
        np.testing.assert_array_equal(
            policy.step((), obs, jax.random.key(1))[0],
            policy.step((), obs, jax.random.key(2))[0],
        )
    learner = _learner(loss="gaussian", stochastic_policy=True)
    state = _init(learner)
    mode = _learner(loss="gaussian").make_policy(state)
    mode = mode.step((), obs, jax.random.key(3))[0][0]
    draws = learner.make_policy(state).step((), obs, jax.random.key(4))[0]
    assert np.std(np.asarray(draws), 0).min() > 0.01
    # 4,000 draws: the sample mean lies within a few standard errors of the mode.
    spread = np.std(np.asarray(draws), 0) / np.sqrt(4000)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mode), 5 * spread)
