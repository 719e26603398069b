"""ACT's networks and the transformer pieces: shapes, order, attention by hand."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ilax.networks import Attention, act_decoder, act_encoder, from_nnx

# The sizes of the learner tests' small config, so that the two files share
# compiled operations when run together.
OBS, ACTION_DIM, CHUNK, LATENT = 2, 2, 4, 4
SIZES = {"model_size": 32, "num_heads": 2, "feedforward_size": 64}
ENCODER = act_encoder(OBS, ACTION_DIM, CHUNK, LATENT, num_layers=1, **SIZES)
DECODER = act_decoder(
    OBS, ACTION_DIM, CHUNK, LATENT, encoder_layers=1, decoder_layers=1, **SIZES
)
# Every value test below calls these on two rows: one compilation each.
encode = jax.jit(ENCODER.apply)
decode = jax.jit(DECODER.apply)


@pytest.fixture(scope="module")
def params():
    key_encoder, key_decoder = jax.random.split(jax.random.key(0))
    return ENCODER.init(key_encoder), DECODER.init(key_decoder)


@pytest.fixture(scope="module")
def inputs():
    key_obs, key_chunk = jax.random.split(jax.random.key(1))
    obs = jax.random.normal(key_obs, (2, OBS))
    chunk = jax.random.normal(key_chunk, (2, CHUNK, ACTION_DIM))
    return obs, chunk


@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_shapes_for_any_leading_batch(params, lead):
    encoder_params, decoder_params = params
    obs = jnp.zeros(lead + (OBS,))
    chunk = jnp.zeros(lead + (CHUNK, ACTION_DIM))
    mean, log_var = jax.eval_shape(ENCODER.apply, encoder_params, obs, chunk)
    assert mean.shape == log_var.shape == lead + (LATENT,)
    z = jnp.zeros(lead + (LATENT,))
    out = jax.eval_shape(DECODER.apply, decoder_params, obs, z)
    assert out.shape == lead + (CHUNK, ACTION_DIM)


def test_rows_of_a_batch_do_not_mix(params, inputs):
    encoder_params, decoder_params = params
    obs, chunk = inputs
    # Row 0 is the same in both batches, row 1 differs: row 0's outputs
    # must not change.
    other_obs = obs.at[1].set(-3.0 * obs[1])
    other_chunk = chunk.at[1].set(2.0 * chunk[1])
    mean, log_var = encode(encoder_params, obs, chunk)
    other_mean, other_log_var = encode(encoder_params, other_obs, other_chunk)
    np.testing.assert_allclose(mean[0], other_mean[0], atol=1e-6)
    np.testing.assert_allclose(log_var[0], other_log_var[0], atol=1e-6)
    assert float(jnp.max(jnp.abs(mean[1] - other_mean[1]))) > 1e-3
    out = decode(decoder_params, obs, mean)
    other_out = decode(decoder_params, other_obs, other_mean)
    np.testing.assert_allclose(out[0], other_out[0], atol=1e-6)


def _with(params, name, fill):
    return {**params, name: fill(params[name])}


def test_position_embeddings_make_the_chunk_order_matter(params, inputs):
    encoder_params, decoder_params = params
    obs, chunk = inputs
    swapped = chunk[:, jnp.array([1, 0, 2, 3])]

    def decoded(encoder_params, chunk):
        mean, _ = encode(encoder_params, obs, chunk)
        return mean, decode(decoder_params, obs, mean)

    mean, out = decoded(encoder_params, chunk)
    mean_swapped, out_swapped = decoded(encoder_params, swapped)
    # Swapping two action tokens moves the posterior and every query's action.
    assert float(jnp.max(jnp.abs(mean - mean_swapped))) > 1e-3
    assert np.all(np.max(np.abs(out - out_swapped), axis=-1) > 1e-4)
    # Without position embeddings self-attention cannot see the order: the
    # CLS summary, hence z and the decoded chunk, are the same.
    flat = _with(encoder_params, "positions", jnp.zeros_like)
    mean, out = decoded(flat, chunk)
    mean_swapped, out_swapped = decoded(flat, swapped)
    np.testing.assert_allclose(mean, mean_swapped, atol=1e-5)
    np.testing.assert_allclose(out, out_swapped, atol=1e-5)


def test_learned_queries_tell_the_chunk_steps_apart(params, inputs):
    _, decoder_params = params
    obs, _ = inputs
    z = jnp.zeros((2, LATENT))
    out = decode(decoder_params, obs, z)
    assert float(jnp.min(jnp.abs(out[:, 1:] - out[:, :-1]))) > 1e-4
    same = _with(
        decoder_params,
        "queries",
        lambda q: jnp.broadcast_to(q[:1], q.shape),
    )
    out = decode(same, obs, z)
    np.testing.assert_allclose(out, jnp.broadcast_to(out[:, :1], out.shape), atol=1e-5)


def test_attention_matches_a_hand_computation():
    width, heads = SIZES["model_size"], SIZES["num_heads"]
    network = from_nnx(lambda rngs: Attention(width, heads, rngs=rngs))
    params = network.init(jax.random.key(2))
    key_x, key_memory = jax.random.split(jax.random.key(3))
    x = np.asarray(jax.random.normal(key_x, (3, width)))
    memory = np.asarray(jax.random.normal(key_memory, (5, width)))
    out = network.apply(params, x, memory)

    def linear(name, inputs):
        return inputs @ np.asarray(params[name]["kernel"]) + np.asarray(
            params[name]["bias"]
        )

    q, k, v = (
        linear("query_proj", x),
        linear("key_proj", memory),
        linear("value_proj", memory),
    )
    outputs, size = [], width // heads
    for h in range(heads):  # head h reads features h * size to (h + 1) * size
        h = slice(h * size, (h + 1) * size)
        logits = q[:, h] @ k[:, h].T / np.sqrt(size)
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        outputs.append(weights @ v[:, h])
    expected = linear("out_proj", np.concatenate(outputs, axis=1))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_attention_key_mask_is_attention_over_the_visible_tokens():
    width, heads = SIZES["model_size"], SIZES["num_heads"]
    network = from_nnx(lambda rngs: Attention(width, heads, rngs=rngs))
    params = network.init(jax.random.key(4))
    key_x, key_memory = jax.random.split(jax.random.key(5))
    x = jax.random.normal(key_x, (2, 3, width))
    memory = jax.random.normal(key_memory, (2, 5, width))
    # Row 0 hides memory tokens 1 and 4, row 1 hides none.
    key_mask = jnp.array([[True, False, True, True, False], [True] * 5])
    out = network.apply(params, x, memory, key_mask)
    visible = memory[0, jnp.array([0, 2, 3])]
    np.testing.assert_allclose(
        out[0], network.apply(params, x[0], visible), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        out[1], network.apply(params, x[1], memory[1]), rtol=1e-5, atol=1e-5
    )


def test_encoder_chunk_mask_hides_padded_actions(params, inputs):
    encoder_params, _ = params
    obs, chunk = inputs
    mask = jnp.array([[True, True, False, False], [True, True, True, True]])
    mean, log_var = encode(encoder_params, obs, chunk, mask)
    # Rewriting the hidden actions (row 0, steps 2 and 3) changes nothing.
    rewritten = chunk.at[0, 2:].set(50.0)
    other_mean, other_log_var = encode(encoder_params, obs, rewritten, mask)
    np.testing.assert_allclose(mean, other_mean, atol=1e-5)
    np.testing.assert_allclose(log_var, other_log_var, atol=1e-5)
    # Without the mask the encoder reads them; a full mask is no mask.
    unmasked, _ = encode(encoder_params, obs, rewritten)
    assert float(jnp.max(jnp.abs(unmasked[0] - mean[0]))) > 1e-3
    full_mean, _ = encode(encoder_params, obs, chunk, jnp.ones_like(mask))
    np.testing.assert_allclose(
        full_mean, encode(encoder_params, obs, chunk)[0], atol=1e-6
    )
    # A visible action still matters.
    moved, _ = encode(encoder_params, obs, chunk.at[0, 1].add(1.0), mask)
    assert float(jnp.max(jnp.abs(moved[0] - mean[0]))) > 1e-3


def _count(network):
    shapes = jax.eval_shape(network.init, jax.random.key(0))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shapes))


def test_parameter_count_at_defaults_matches_the_architecture():
    obs, action_dim, chunk, latent, d, ff = 6, 2, 20, 32, 128, 512
    linear = lambda fan_in, fan_out: fan_in * fan_out + fan_out  # noqa: E731
    norm = 2 * d
    attention_block = norm + 4 * linear(d, d)
    feedforward_block = norm + linear(d, ff) + linear(ff, d)
    encoder_stack = 2 * (attention_block + feedforward_block) + norm
    decoder_stack = 2 * (2 * attention_block + feedforward_block) + norm
    encoder = (
        linear(obs, d)
        + linear(action_dim, d)
        + d  # CLS
        + (chunk + 2) * d  # positions
        + encoder_stack
        + linear(d, 2 * latent)
    )
    decoder = (
        linear(obs, d)
        + linear(latent, d)
        + 2 * d  # memory positions
        + chunk * d  # queries
        + encoder_stack
        + decoder_stack
        + linear(d, action_dim)
    )
    assert _count(act_encoder(obs, action_dim, chunk, latent)) == encoder == 409_280
    assert _count(act_decoder(obs, action_dim, chunk, latent)) == decoder == 934_402


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"model_size": 10, "num_heads": 4}, "model_size must be divisible by num_"),
        ({"latent_size": 0}, "latent_size must be a positive int; got 0"),
        ({"num_layers": 0}, "num_layers must be a positive int; got 0"),
    ],
)
def test_bad_sizes_name_the_argument(overrides, match):
    sizes = {"latent_size": LATENT, **SIZES, **overrides}
    with pytest.raises(ValueError, match=match):
        act_encoder(OBS, ACTION_DIM, CHUNK, **sizes)
