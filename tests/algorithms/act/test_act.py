"""The ACT learner: errors, the loss by hand, CVAE ablation, two learning runs.

The contract every learner meets (purity, shapes, non-finite steps, vmap,
checkpoints) is tests/algorithms/test_conformance.py's.
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax import config as config_lib
from ilax.algorithms import act
from ilax.networks import act_decoder, act_encoder
from ilax.types import Batch, Observation

CHUNK, ACTION_DIM, OBS, ROWS, BATCH = 4, 2, 2, 512, 64
WIDTH = CHUNK * ACTION_DIM
# kl_weight 0.01: at ACT's 10 the latent collapses on the style toy below
# (see the slow test and ACTConfig.kl_weight).
SMALL = act.ACTConfig(
    latent_size=4,
    model_size=32,
    num_heads=2,
    feedforward_size=64,
    encoder_layers=1,
    decoder_layers=1,
    kl_weight=0.01,
    learning_rate=1e-3,
)
ENCODER = act_encoder(
    OBS,
    ACTION_DIM,
    CHUNK,
    4,
    model_size=32,
    num_heads=2,
    feedforward_size=64,
    num_layers=1,
)
DECODER = act_decoder(
    OBS,
    ACTION_DIM,
    CHUNK,
    4,
    model_size=32,
    num_heads=2,
    feedforward_size=64,
    encoder_layers=1,
    decoder_layers=1,
)


@jax.jit
def _forward(params, obs, target, eps, latent_scale):
    """SMALL's networks by hand: the posterior and the chunk decoded at
    z = latent_scale * (mean + exp(log_var / 2) eps) (0: the policy's z)."""
    mean, log_var = ENCODER.apply(params["encoder"], obs, target)
    z = latent_scale * (mean + jnp.exp(0.5 * log_var) * eps)
    return mean, log_var, DECODER.apply(params["decoder"], obs, z)


STEPS = jnp.arange(CHUNK, dtype=jnp.float32)
CHUNK_A = jnp.stack([0.2 * STEPS, -0.1 * STEPS], axis=-1).reshape(-1)
CHUNK_B = jnp.stack([1.0 - 0.3 * STEPS, 0.5 + 0.0 * STEPS], axis=-1).reshape(-1)


def _two_chunks(key):
    """obs one-hot in {(1, 0), (0, 1)}; the chunk is CHUNK_B or CHUNK_A."""
    bit = jax.random.bernoulli(key, 0.5, (ROWS, 1)).astype(jnp.float32)
    obs = jnp.concatenate([bit, 1.0 - bit], axis=-1)
    action = jnp.where(
        jnp.broadcast_to(bit, (ROWS, WIDTH)) > 0.5,
        jnp.broadcast_to(CHUNK_B, (ROWS, WIDTH)),
        jnp.broadcast_to(CHUNK_A, (ROWS, WIDTH)),
    )
    return Batch(obs=obs, privileged=obs, action=action)


def _styled(key):
    """Constant obs; chunk = ramp + s with a per-demo style s = +-1.

    The obs says nothing about s, so without a latent the best L1 chunk is
    any point between the two (per element at least sqrt(p / (1 - p))
    normalized units, p the rarer sign's share); a CVAE can read s from the
    chunk and pass it through z.
    """
    sign = jnp.where(jax.random.bernoulli(key, 0.5, (ROWS, 1)), 1.0, -1.0)
    # Constant, so that the rows cannot be told apart (and memorized) by obs.
    obs = jnp.zeros((ROWS, OBS))
    ramp = jnp.stack([0.1 * STEPS, 0.2 * STEPS], axis=-1).reshape(-1)
    action = jnp.broadcast_to(ramp, (ROWS, WIDTH)) + jnp.broadcast_to(
        sign, (ROWS, WIDTH)
    )
    return Batch(obs=obs, privileged=obs, action=action), sign[:, 0]


class _Run:
    """A learner whose update is jitted and traced at most once.

    Every call through `update`, in every test that uses the run, counts
    against the one trace, so each test also checks that nothing it passes
    (new states, numpy or jax batches, edited params) makes jit retrace.
    """

    def __init__(self, config):
        self.learner = make(config)
        self.update = jax.jit(chex.assert_max_traces(self.learner.update, n=1))
        # The policy's chunks for a given state, compiled once.
        self.act = jax.jit(
            lambda state, obs, key: self.learner.make_policy(state).step(
                (), Observation(obs, obs), key
            )[0]
        )

    def init(self, data, seed=0):
        return self.learner.init(
            jax.random.key(seed), self.learner.fit_normalizer(data)
        )

    def train(self, data, seed, steps):
        state = self.init(data, seed)
        # Host-side keys and rows: the loop's per-step cost is dispatch.
        keys = list(jax.random.split(jax.random.key(seed + 1000), steps))
        rows = np.random.default_rng(seed).integers(0, ROWS, (steps, BATCH))
        data = jax.tree.map(np.asarray, data)
        history = []
        for i in range(steps):
            batch = jax.tree.map(lambda x, r=rows[i]: x[r], data)
            state, metrics = self.update(state, batch, keys[i])
            history.append(metrics)
        return state, jax.tree.map(lambda *x: np.stack(x), *history)


def make(config, observation_size=OBS):
    """ACT with chunks of CHUNK actions of ACTION_DIM."""
    return act.make(
        config, observation_size=observation_size, action_size=ACTION_DIM, horizon=CHUNK
    )


@pytest.fixture(scope="module")
def cvae():
    return _Run(SMALL)


@pytest.fixture(scope="module")
def plain():
    return _Run(config_lib.replace(SMALL, use_cvae=False))


def _batch(seed=0):
    return jax.tree.map(lambda x: x[:BATCH], _two_chunks(jax.random.key(seed)))


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"latent_size": 0}, "ACTConfig.latent_size must be a positive int; got 0"),
        ({"encoder_layers": 2.5}, "ACTConfig.encoder_layers must be of type int"),
        ({"model_size": 30, "num_heads": 4}, "ACTConfig.model_size must be divisible"),
        ({"loss": "huber"}, "ACTConfig.loss must be one of 'l1', 'mse'"),
        ({"kl_weight": -1.0}, "ACTConfig.kl_weight must be >= 0"),
        ({"learning_rate": 0.0}, "ACTConfig.learning_rate must be > 0"),
    ],
)
def test_bad_configs_name_the_field(overrides, match):
    with pytest.raises(ValueError, match=match):
        make(config_lib.replace(SMALL, **overrides))


def test_bad_sizes_name_the_field():
    with pytest.raises(ValueError, match="observation_size must be a positive int"):
        make(SMALL, observation_size=0)
    with pytest.raises(ValueError, match="act.make: horizon must be a positive int"):
        act.make(SMALL, observation_size=2, action_size=2, horizon=0)


def test_chunk_loss_by_hand():
    # B = 2, k = 2, A = 1, L = 1.
    prediction = jnp.array([[[1.0], [2.0]], [[0.0], [0.0]]])
    target = jnp.array([[[0.0], [4.0]], [[1.0], [-1.0]]])
    mean = jnp.array([[1.0], [0.0]])
    log_var = jnp.array([[0.0], [jnp.log(2.0)]])
    loss, (reconstruction, kl) = act.chunk_loss(
        prediction, target, mean, log_var, kl_weight=10.0
    )
    # L1: row 0 (1 + 2) / 2 = 1.5, row 1 (1 + 1) / 2 = 1, mean 1.25.
    # KL: row 0 0.5 (1 + 1 - 1 - 0) = 0.5, row 1 0.5 (0 + 2 - 1 - ln 2).
    kl_expected = (0.5 + 0.5 * (1.0 - np.log(2.0))) / 2
    np.testing.assert_allclose(reconstruction, 1.25, rtol=1e-6)
    np.testing.assert_allclose(kl, kl_expected, rtol=1e-6)
    np.testing.assert_allclose(loss, 1.25 + 10.0 * kl_expected, rtol=1e-6)
    loss, (reconstruction, kl) = act.chunk_loss(
        prediction, target, None, None, kl_weight=10.0, loss="mse"
    )
    # Squared: row 0 (1 + 4) / 2, row 1 (1 + 1) / 2; no CVAE, no KL.
    np.testing.assert_allclose(reconstruction, (2.5 + 1.0) / 2, rtol=1e-6)
    assert float(kl) == 0.0 and float(loss) == float(reconstruction)


def test_chunk_loss_leaves_padded_steps_out():
    # B = 2, k = 2, A = 1; row 1's second step lies past its episode's end.
    prediction = jnp.array([[[1.0], [2.0]], [[0.0], [0.0]]])
    target = jnp.array([[[0.0], [4.0]], [[1.0], [-1.0]]])
    mask = jnp.array([[True, True], [True, False]])
    _, (reconstruction, _) = act.chunk_loss(
        prediction, target, None, None, kl_weight=1.0, mask=mask
    )
    # L1 over all B k A = 4 elements with the padded one zeroed: (1 + 2 + 1) / 4.
    np.testing.assert_allclose(reconstruction, 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "use_cvae",
    # Without the CVAE only the loss masks (a subset of the CVAE case): slow.
    [pytest.param(False, marks=pytest.mark.slow), True],
    ids=["no_cvae", "cvae"],
)
def test_masked_padding_does_not_move_the_update(use_cvae):
    # With the CVAE the encoder must not see the padded actions either: its
    # attention hides them, so z and the KL term cannot depend on them.
    batch = _batch()
    masking = make(config_lib.replace(SMALL, use_cvae=use_cvae, mask_padding=True))
    padding = make(config_lib.replace(SMALL, use_cvae=use_cvae))
    state = masking.init(jax.random.key(0), masking.fit_normalizer(batch))
    mask = jnp.arange(CHUNK)[None, :] < jnp.arange(BATCH)[:, None] % (CHUNK + 1)
    masked = batch._replace(action_mask=mask)
    # Rewriting the labels where the mask is False changes neither loss nor step.
    step_mask = jnp.repeat(mask, ACTION_DIM, axis=1)
    scrambled = masked._replace(action=jnp.where(step_mask, batch.action, 99.0))
    update = jax.jit(masking.update)
    first, metrics_first = update(state, masked, jax.random.key(1))
    second, metrics_second = update(state, scrambled, jax.random.key(1))
    np.testing.assert_allclose(
        metrics_first["act/loss"], metrics_second["act/loss"], rtol=1e-6
    )
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
        first.params,
        second.params,
    )
    # The default trains on the padding: the same scrambled labels count.
    _, unmasked = jax.jit(padding.update)(state, scrambled, jax.random.key(1))
    assert float(unmasked["act/loss"]) > 2 * float(metrics_first["act/loss"])
    bad = masked._replace(action_mask=mask[:, :2])
    with pytest.raises(ValueError, match=r"'action_mask' must be bool \(64, 4\)"):
        update(state, bad, jax.random.key(1))


def test_update_loss_is_the_formula_on_the_networks_outputs(cvae):
    batch = _batch()
    state = cvae.init(batch)
    _, metrics = cvae.update(state, batch, jax.random.key(7))
    assert set(metrics) == {
        "act/loss",
        "act/reconstruction",
        "act/kl",
        "act/grad_norm",
        "train/nonfinite",
    }
    # The same networks, normalizer and reparameterized draw, by hand.
    n = state.normalizer
    obs = n.normalize_inputs(batch.obs)
    target = n.normalize_actions(batch.action).reshape(BATCH, CHUNK, ACTION_DIM)
    eps = jax.random.normal(jax.random.key(7), (BATCH, 4))
    mean, log_var, prediction = _forward(state.params, obs, target, eps, 1.0)
    prediction = np.asarray(prediction)
    target = np.asarray(target)
    l1 = np.abs(prediction - target).sum(axis=(1, 2)).mean() / (CHUNK * ACTION_DIM)
    mean, log_var = np.asarray(mean), np.asarray(log_var)
    kl = (0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var).sum(axis=1)).mean()
    np.testing.assert_allclose(metrics["act/reconstruction"], l1, rtol=1e-4)
    np.testing.assert_allclose(metrics["act/kl"], kl, rtol=1e-4)
    np.testing.assert_allclose(metrics["act/loss"], l1 + 0.01 * kl, rtol=1e-4)


def test_kl_is_zero_when_the_encoder_outputs_the_prior(cvae):
    batch = _batch()
    state = cvae.init(batch)
    params = dict(state.params)
    params["encoder"] = {
        **params["encoder"],
        "latent_proj": jax.tree.map(jnp.zeros_like, params["encoder"]["latent_proj"]),
    }
    _, metrics = cvae.update(state.replace(params=params), batch, jax.random.key(8))
    assert float(metrics["act/kl"]) == 0.0
    assert float(metrics["act/loss"]) == float(metrics["act/reconstruction"])


def test_without_cvae_there_is_no_encoder_and_no_latent(plain):
    batch = _batch()
    state = plain.init(batch)
    assert set(state.params) == {"decoder"}
    first, metrics_first = plain.update(state, batch, jax.random.key(1))
    second, metrics_second = plain.update(state, batch, jax.random.key(2))
    # The key only draws z, so without a latent it changes nothing.
    jax.tree.map(np.testing.assert_array_equal, first.params, second.params)
    assert float(metrics_first["act/kl"]) == 0.0
    assert float(metrics_first["act/loss"]) == float(metrics_second["act/loss"])


def test_policy_returns_deterministic_flat_chunks(cvae):
    state = cvae.init(_batch())
    obs = jnp.zeros((2, OBS))
    first = cvae.act(state, obs, jax.random.key(1))
    second = cvae.act(state, obs, jax.random.key(2))
    assert first.shape == (2, WIDTH)
    np.testing.assert_array_equal(first, second)  # z = 0, whatever the key
    # The flat chunk is the decoder's [k, A] output, row-major, in raw units.
    n = state.normalizer
    _, _, chunks = _forward(
        state.params,
        n.normalize_inputs(jnp.zeros((BATCH, OBS))),
        jnp.zeros((BATCH, CHUNK, ACTION_DIM)),
        jnp.zeros((BATCH, 4)),
        0.0,
    )
    np.testing.assert_allclose(
        first[0], n.denormalize_actions(chunks[0].reshape(WIDTH)), atol=1e-5
    )


def test_learns_the_chunk_that_the_observation_selects(cvae):
    state, metrics = cvae.train(_two_chunks(jax.random.key(10)), seed=0, steps=300)
    assert float(metrics["train/nonfinite"].sum()) == 0.0
    # Measured (seeds 0-2, 300 steps): reconstruction 0.22-0.36 over the
    # first 50 steps, 0.017-0.022 over the last 50.
    reconstruction = metrics["act/reconstruction"]
    assert reconstruction[:50].mean() > 0.1
    assert reconstruction[-50:].mean() < 0.05
    obs = jnp.array([[0.0, 1.0], [1.0, 0.0]])
    chunks = cvae.act(state, obs, jax.random.key(11))
    # Measured (seeds 0-2): within 0.014-0.075 of the right chunk (max over
    # elements); the two chunks differ by up to 1.
    np.testing.assert_allclose(chunks[0], CHUNK_A, atol=0.1)
    np.testing.assert_allclose(chunks[1], CHUNK_B, atol=0.1)


def test_the_latent_absorbs_a_per_demo_style(cvae, plain):
    data, sign = _styled(jax.random.key(20))
    state, metrics = cvae.train(data, seed=0, steps=200)
    # Cannot go below the floor at any step; 100 steps show it gets there.
    _, metrics_plain = plain.train(data, seed=0, steps=100)
    rarer = min(float(jnp.mean(sign > 0)), float(jnp.mean(sign < 0)))
    floor = np.sqrt(rarer / (1.0 - rarer))  # best L1 without knowing s
    # Measured (seeds 0-2, last 50 steps): floor 0.965; without CVAE
    # 0.962-1.005 (200 steps); with it 0.019-0.025, KL 2.2-2.5 nats. (kl_weight 0.1:
    # 0.037, 1.0 nats; 1.0: 0.39, 0.32 nats; 10: see the slow test.)
    assert metrics_plain["act/reconstruction"][-50:].mean() > 0.95 * floor
    assert metrics["act/reconstruction"][-50:].mean() < 0.1 * floor
    # The posterior mean tells the two styles apart (first BATCH rows).
    n = state.normalizer
    target = n.normalize_actions(data.action[:BATCH])
    mean, _, _ = _forward(
        state.params,
        n.normalize_inputs(data.obs[:BATCH]),
        target.reshape(BATCH, CHUNK, ACTION_DIM),
        jnp.zeros((BATCH, 4)),
        0.0,
    )
    sign = sign[:BATCH]
    direction = mean[sign > 0].mean(axis=0) - mean[sign < 0].mean(axis=0)
    projection = mean @ direction
    middle = 0.5 * (projection[sign > 0].mean() + projection[sign < 0].mean())
    assert float(jnp.mean((projection > middle) == (sign > 0))) > 0.99


@pytest.mark.slow
def test_act_kl_weight_collapses_the_style_latent():
    run = _Run(config_lib.replace(SMALL, kl_weight=10.0))
    data, _ = _styled(jax.random.key(20))
    _, metrics = run.train(data, seed=0, steps=500)
    # Measured (seeds 0-1, last 50 of 500 steps): KL < 2e-5 nats,
    # reconstruction 0.964-0.966, the no-CVAE floor (0.965): a nat in z
    # costs 10 while knowing the style saves at most ~1.
    assert metrics["act/kl"][-50:].mean() < 0.01
    assert metrics["act/reconstruction"][-50:].mean() > 0.9
