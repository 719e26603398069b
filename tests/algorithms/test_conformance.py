"""Every registered imitation learner against the learner contract.

Each test runs once per algorithm in the registry whose learner is a
`Learner` (the policy learners, PPO, have their own suite:
`test_policy_learner_conformance.py`), with the algorithm's default
config on the countdown task, so a new algorithm is covered by registering
it. Only the network is shrunk to test size (`SMALL_NETWORKS`: fields of
these names, wherever a learner config has them), so that the default run
compiles in seconds; everything else is what a new user gets. The learner is
the registry's `make_learner`, the flat learner its trainer trains, fed
random flat batches of its widths; the policy tests go through the
registry's trainer, so a chunked learner (ACT by default) acts through its
chunked policy and its per-environment state. A stateless policy's state is
`()`, which has no environments to mix.
"""

import dataclasses
import functools
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import policies
from ilax.algorithms import registry
from ilax.envs.wrappers import TimeLimit
from ilax.training import checkpoints, interactive, offline
from ilax.types import Batch, Learner, Observation
from tests.fake_env import CountdownEnv

NAMES = [n for n in registry.names() if registry.get(n).learner_type is Learner]
ROWS = 16
UPDATES = 2


class Case(NamedTuple):
    """One algorithm, sized for the countdown task."""

    algorithm: registry.Algorithm
    config: Any
    env: Any
    learner: Learner
    obs_horizon: int  # To: observations per flattened input row
    horizon: int  # Tp: actions per flattened label row
    normalizer: Any  # fitted once on a fixed batch
    init_and_update: Any  # (key, stacked batches) -> (state, metrics), pure
    init: Any  # the learner's init, jitted and counted by assert_max_traces
    update: Any  # its update, likewise


# Network sizes of the learner configs, by field name.
SMALL_NETWORKS = {
    "hidden_sizes": (16, 16),
    "model_size": 32,
    "feedforward_size": 64,
    "encoder_layers": 1,
    "decoder_layers": 1,
    "down_sizes": (8, 16),
    "time_embedding": 16,
    "num_steps": 10,  # diffusion steps: sampling unrolls none, but scans them
}


def tiny(config):
    """The algorithm's defaults: a small network, a few updates and steps."""
    names = {field.name for field in dataclasses.fields(config.learner)}
    small = {name: v for name, v in SMALL_NETWORKS.items() if name in names}
    config = dataclasses.replace(
        config, learner=dataclasses.replace(config.learner, **small)
    )
    if isinstance(config, offline.OfflineTrainConfig):
        return dataclasses.replace(
            config,
            num_demos=4,
            batch_size=8,
            updates_per_round=UPDATES,
            rounds=1,
            eval_envs=3,
            eval_steps=12,
        )
    assert isinstance(config, interactive.InteractiveConfig), type(config)
    return dataclasses.replace(
        config,
        iterations=1,
        num_envs=2,
        steps_per_iteration=12,
        updates_per_iteration=UPDATES,
        batch_size=8,
        eval_envs=3,
        eval_steps=12,
    )


def horizons(config) -> tuple[int, int]:
    chunk = None
    if isinstance(config, offline.OfflineTrainConfig):
        chunk = offline.active_chunk(config)
    return (1, 1) if chunk is None else (chunk.obs_horizon, chunk.prediction_horizon)


def expert() -> policies.Policy:
    # Reads the privileged state like the analytic experts.
    return policies.stateless(lambda obs, key: jnp.tanh(obs.privileged[:1] - 4.0))


def random_batch(case: Case, seed: int, rows: int = ROWS) -> Batch:
    env, to, tp = case.env, case.obs_horizon, case.horizon
    keys = jax.random.split(jax.random.key(1000 + seed), 4)
    return Batch(
        obs=jax.random.normal(keys[0], (rows, to * env.observation_size)),
        privileged=jax.random.normal(keys[1], (rows, to * env.privileged_size)),
        action=jax.random.uniform(keys[2], (rows, tp * env.action_size), minval=-1),
        action_mask=None if tp == 1 else jax.random.uniform(keys[3], (rows, tp)) < 0.8,
    )


def stacked(case: Case, seed: int) -> Batch:
    batches = [random_batch(case, seed * UPDATES + i) for i in range(UPDATES)]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *batches)


@functools.cache
def case(name: str) -> Case:
    algorithm = registry.get(name)
    config = tiny(algorithm.default_config())
    env = TimeLimit(CountdownEnv(), 10)
    learner = algorithm.make_learner(config, env)
    to, tp = horizons(config)
    partial = Case(algorithm, config, env, learner, to, tp, None, None, None, None)
    normalizer = learner.fit_normalizer(random_batch(partial, seed=-1, rows=64))

    def init_and_update(key, batches):
        key_init, key_updates = jax.random.split(key)
        state = learner.init(key_init, normalizer)

        def one(state, inputs):
            index, batch = inputs
            return learner.update(state, batch, jax.random.fold_in(key_updates, index))

        indices = jnp.arange(UPDATES, dtype=jnp.uint32)
        return jax.lax.scan(one, state, (indices, batches))

    return partial._replace(
        normalizer=normalizer,
        init_and_update=init_and_update,
        init=jax.jit(max_one_trace(learner.init, name)),
        update=jax.jit(max_one_trace(learner.update, name)),
    )


def run(c: Case, key: jax.Array, batches: Batch):
    """`init_and_update` step by step through the jitted init and update."""
    key_init, key_updates = jax.random.split(key)
    state = c.init(key_init, c.normalizer)
    metrics = []
    for index in range(UPDATES):
        batch = jax.tree.map(lambda x, i=index: x[i], batches)
        key = jax.random.fold_in(key_updates, jnp.uint32(index))
        state, step_metrics = c.update(state, batch, key)
        metrics.append(step_metrics)
    return state, jax.tree.map(lambda *xs: jnp.stack(xs), *metrics)


def max_one_trace(fn, name: str):
    """`fn` under `chex.assert_max_traces(n=1)`, counted apart per algorithm.

    chex counts traces by the function's source and name, which every
    algorithm's `fn` shares; the name tells them apart.
    """

    def counted(*args):
        return fn(*args)

    counted.__name__ = f"{fn.__name__}_{name}"
    return chex.assert_max_traces(n=1)(counted)


def jitted_update(name: str):
    return case(name).update


def init(name: str, seed: int = 0):
    c = case(name)
    return c.init(jax.random.key(seed), c.normalizer)


@pytest.mark.parametrize("name", NAMES)
def test_init_and_update_are_pure_and_do_not_retrace(name):
    c = case(name)
    first = run(c, jax.random.key(1), stacked(c, 0))
    again = run(c, jax.random.key(1), stacked(c, 0))  # same key, new objects
    chex.assert_trees_all_equal(first, again)
    other = run(c, jax.random.key(2), stacked(c, 1))  # no second trace
    differ = jax.tree.map(
        lambda a, b: bool(jnp.any(a != b)), first[0].params, other[0].params
    )
    assert any(jax.tree.leaves(differ))
    state, metrics = first
    assert c.algorithm.loss_metric in metrics
    assert int(state.step) == UPDATES and state.step.dtype == jnp.int32
    assert all(np.all(np.isfinite(v)) for v in jax.tree.leaves(metrics))
    assert np.all(np.asarray(metrics["train/nonfinite"]) == 0.0)


# ACT's transformer compiles for 20 s here; its vmap equivalence is slow-tier.
@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n == "act" else n for n in NAMES],
)
def test_vmap_over_four_seeds_equals_a_loop(name):
    c = case(name)
    keys = jax.random.split(jax.random.key(3), 4)
    batches = jax.tree.map(
        lambda *xs: jnp.stack(xs), *[stacked(c, s) for s in range(4)]
    )
    together = jax.jit(jax.vmap(c.init_and_update))(keys, batches)
    keys = jax.random.split(jax.random.key(3), 4)  # the same keys, unconsumed
    rows = random_batch(c, seed=-2, rows=6)
    obs = Observation(rows.obs, rows.privileged)
    for seed in range(4):
        alone = run(c, keys[seed], jax.tree.map(lambda x, s=seed: x[s], batches))
        state, metrics = jax.tree.map(lambda x, s=seed: x[s], together)
        chex.assert_trees_all_close(metrics, alone[1], rtol=1e-4, atol=1e-6)
        # What the learned policies do agrees tightly. The parameters get an
        # absolute tolerance of a few Adam steps: Adam turns float
        # reassociation noise in gradients that are zero in exact arithmetic
        # (an attention key bias: softmax ignores a shift of all logits) into
        # steps of up to the learning rate. Seeds mixed up by vmap would
        # differ by the scale of the initialization instead.
        chex.assert_trees_all_close(
            act(c, state, obs), act(c, alone[0], obs), rtol=1e-4, atol=1e-5
        )
        chex.assert_trees_all_close(state, alone[0], rtol=1e-4, atol=1e-3)


def act(c: Case, train_state, observation: Observation):
    """The flat learner's actions on `observation`, with a fixed key."""
    policy = c.learner.make_policy(train_state)
    batch_shape = observation.obs.shape[:-1]
    action, _, _ = policy.step(
        policy.init(jax.random.key(5), batch_shape), observation, jax.random.key(6)
    )
    return action


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("field", ["input", "action"])
def test_a_non_finite_step_keeps_the_parameters_and_reports_it(name, field):
    c = case(name)
    update = jitted_update(name)
    state, _ = update(init(name), random_batch(c, 1), jax.random.key(4))
    batch = random_batch(c, 2)
    attribute = c.config.learner.input if field == "input" else "action"
    poisoned = getattr(batch, attribute).at[3, 0].set(jnp.nan)
    new, metrics = update(
        state, batch._replace(**{attribute: poisoned}), jax.random.key(5)
    )
    assert float(metrics["train/nonfinite"]) == 1.0
    # Everything stays (diffusion's parameter average too) but the step count.
    chex.assert_trees_all_equal(new.replace(step=state.step), state)
    assert int(new.step) == int(state.step) + 1


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_of_the_wrong_shape_is_an_error_naming_the_field(name):
    c = case(name)
    batch = random_batch(c, 3)
    input_field = c.config.learner.input
    for field in (input_field, "action"):
        values = getattr(batch, field)
        wider = batch._replace(**{field: jnp.zeros((ROWS, values.shape[1] + 1))})
        with pytest.raises(ValueError, match=rf"update: .*field '{field}'"):
            # Refused while tracing: a jit without the trace counter, nothing compiles.
            jax.jit(c.learner.update)(init(name), wider, jax.random.key(6))
        with pytest.raises(ValueError, match=rf"fit_normalizer: .*field '{field}'"):
            c.learner.fit_normalizer(wider)
    with pytest.raises(ValueError, match="init: expected a Normalizer"):
        c.learner.init(jax.random.key(7), batch)


@pytest.mark.parametrize("name", NAMES)
def test_non_finite_training_data_is_refused_naming_the_field(name):
    c = case(name)
    batch = random_batch(c, 4)
    action = batch.action.at[5, 0].set(jnp.inf)
    with pytest.raises(
        ValueError, match=r"field 'action' holds 1 non-finite.*\(5, 0\)"
    ):
        c.learner.fit_normalizer(batch._replace(action=action))


@pytest.mark.parametrize("name", NAMES)
def test_a_checkpoint_round_trip_restores_the_state_exactly(name, tmp_path):
    c = case(name)
    update = jitted_update(name)
    state, _ = update(init(name), random_batch(c, 5), jax.random.key(8))
    with checkpoints.Checkpointer(tmp_path) as checkpointer:
        checkpointer.save(1, state, {"algo": name})
        restored, meta = checkpointer.restore(jax.eval_shape(lambda: state))
    assert meta["step"] == 1
    assert type(restored) is type(state)
    chex.assert_trees_all_equal(restored, state)
    batch = random_batch(c, 6)
    chex.assert_trees_all_equal(
        update(restored, batch, jax.random.key(9)),
        update(state, batch, jax.random.key(9)),
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_policy_acts_on_a_batch_of_environments_with_their_own_state(name):
    c = case(name)
    trainer = c.algorithm.make_trainer(c.config, c.env, expert())
    # A freshly initialized run: the trainer's rounds are its learner's updates
    # (tested above) in the trainer's own loop (tests/training).
    state = jax.jit(trainer.init)(jax.random.key(10))
    policy = trainer.policy(state)
    batch_shape = (5,)
    policy_state = policy.init(jax.random.key(11), batch_shape)
    for leaf in jax.tree.leaves(policy_state):
        assert leaf.shape[: len(batch_shape)] == batch_shape
    step = jax.jit(max_one_trace(policy.step, name))
    sizes = (c.env.observation_size, c.env.privileged_size)
    # The same keys drive a second batch whose other environments see other
    # observations: environment 0's actions and state must not change.
    other_state = policy_state
    for t in range(3):
        obs, privileged, other_obs, other_privileged = (
            jax.random.normal(jax.random.key(20 + t + 10 * i), batch_shape + (n,))
            for i, n in enumerate(sizes + sizes)
        )
        key = jax.random.key(30 + t)
        action, new_state, extras = step(
            policy_state, Observation(obs, privileged), key
        )
        assert action.shape == batch_shape + (c.env.action_size,)
        assert np.all(np.isfinite(action))
        chex.assert_trees_all_equal_shapes_and_dtypes(new_state, policy_state)
        policy_state = new_state
        others = Observation(
            other_obs.at[0].set(obs[0]), other_privileged.at[0].set(privileged[0])
        )
        other_action, other_state, _ = step(other_state, others, jax.random.clone(key))
        np.testing.assert_array_equal(other_action[0], action[0])
        chex.assert_trees_all_equal(
            jax.tree.map(lambda x: x[0], other_state),
            jax.tree.map(lambda x: x[0], policy_state),
        )
    evaluation = jax.jit(trainer.evaluate)(state, jax.random.key(12))
    # 3 environments x 12 steps, episodes of at most 10 steps.
    assert float(evaluation["eval/num_episodes"]) >= 3
    assert np.isfinite(float(evaluation["eval/return"]))
