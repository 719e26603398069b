"""ACT's networks (Zhao et al. 2023): a CVAE encoder and a chunk decoder.

Two `Network`s that share no parameters, as in ACT's `DETRVAE` where the
CVAE encoder is a transformer of its own:

- `act_encoder`, used in training only: tokens [CLS, obs, a_1 .. a_k] plus
  learned position embeddings go through a transformer encoder; the CLS
  output, projected, is the mean and log-variance of q(z | obs, chunk).
- `act_decoder`: the memory tokens [obs, z] plus learned position
  embeddings go through a transformer encoder; k learned query embeddings
  go through a transformer decoder that cross-attends to that memory, and a
  linear head maps query j to the action j steps ahead.

Differences from ACT's code, kept small on purpose: pre-LayerNorm blocks
and no dropout (see `ilax.networks.transformer`); position embeddings and
query embeddings are added once to the input tokens instead of to the
queries and keys of every layer (DETR's style); one flat observation token
instead of image features and a joint-state token.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from ilax.networks.core import Network, from_nnx
from ilax.networks.transformer import (
    TransformerDecoder,
    TransformerEncoder,
    check_transformer_sizes,
)

# Small random embeddings (BERT/ViT's 0.02) so that the tokens' content, not
# their position, dominates the first attention logits.
_EMBEDDING_INIT = nnx.initializers.normal(0.02)


def _embeddings(rngs: nnx.Rngs, count: int, size: int) -> nnx.Param:
    return nnx.Param(_EMBEDDING_INIT(rngs.params(), (count, size), jnp.float32))


def _add_positions(tokens: jax.Array, positions: nnx.Param) -> jax.Array:
    return tokens + jnp.broadcast_to(positions[...], tokens.shape)


class ACTEncoder(nnx.Module):
    """q(z | obs, chunk): `(obs [..., O], chunk [..., k, A]) -> (mean, log_var)`."""

    def __init__(
        self,
        observation_size: int,
        action_dim: int,
        chunk_size: int,
        latent_size: int,
        *,
        model_size: int,
        num_heads: int,
        feedforward_size: int,
        num_layers: int,
        rngs: nnx.Rngs,
    ):
        """See `act_encoder`."""
        self.latent_size = latent_size
        self.obs_proj = nnx.Linear(observation_size, model_size, rngs=rngs)
        self.action_proj = nnx.Linear(action_dim, model_size, rngs=rngs)
        self.cls_token = _embeddings(rngs, 1, model_size)
        self.positions = _embeddings(rngs, chunk_size + 2, model_size)
        self.body = TransformerEncoder(
            model_size, num_heads, feedforward_size, num_layers, rngs=rngs
        )
        self.latent_proj = nnx.Linear(model_size, 2 * latent_size, rngs=rngs)

    def __call__(
        self, obs: jax.Array, chunk: jax.Array, chunk_mask: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        lead = obs.shape[:-1]
        cls = jnp.broadcast_to(self.cls_token[...], lead + self.cls_token.shape)
        tokens = jnp.concatenate(
            [cls, self.obs_proj(obs)[..., None, :], self.action_proj(chunk)], axis=-2
        )
        key_mask = None
        if chunk_mask is not None:  # CLS and obs are always seen
            always = jnp.ones(chunk_mask.shape[:-1] + (2,), bool)
            key_mask = jnp.concatenate([always, chunk_mask.astype(bool)], axis=-1)
        tokens = _add_positions(tokens, self.positions)
        summary = self.body(tokens, key_mask)[..., 0, :]
        stats = self.latent_proj(summary)
        return stats[..., : self.latent_size], stats[..., self.latent_size :]


class ACTDecoder(nnx.Module):
    """p(chunk | obs, z): `(obs [..., O], z [..., latent]) -> chunk [..., k, A]`."""

    def __init__(
        self,
        observation_size: int,
        action_dim: int,
        chunk_size: int,
        latent_size: int,
        *,
        model_size: int,
        num_heads: int,
        feedforward_size: int,
        encoder_layers: int,
        decoder_layers: int,
        rngs: nnx.Rngs,
    ):
        """See `act_decoder`."""
        self.obs_proj = nnx.Linear(observation_size, model_size, rngs=rngs)
        self.latent_proj = nnx.Linear(latent_size, model_size, rngs=rngs)
        self.memory_positions = _embeddings(rngs, 2, model_size)
        self.queries = _embeddings(rngs, chunk_size, model_size)
        self.memory_encoder = TransformerEncoder(
            model_size, num_heads, feedforward_size, encoder_layers, rngs=rngs
        )
        self.decoder = TransformerDecoder(
            model_size, num_heads, feedforward_size, decoder_layers, rngs=rngs
        )
        self.action_head = nnx.Linear(model_size, action_dim, rngs=rngs)

    def __call__(self, obs: jax.Array, z: jax.Array) -> jax.Array:
        tokens = jnp.stack([self.obs_proj(obs), self.latent_proj(z)], axis=-2)
        memory = self.memory_encoder(_add_positions(tokens, self.memory_positions))
        lead = obs.shape[:-1]
        queries = jnp.broadcast_to(self.queries[...], lead + self.queries.shape)
        return self.action_head(self.decoder(queries, memory))


def act_encoder(
    observation_size: int,
    action_dim: int,
    chunk_size: int,
    latent_size: int,
    *,
    model_size: int = 128,
    num_heads: int = 4,
    feedforward_size: int = 512,
    num_layers: int = 2,
) -> Network:
    """ACT's CVAE encoder: `apply(params, obs, chunk[, chunk_mask]) -> (mean, log_var)`.

    `obs` is `[..., observation_size]`, `chunk` `[..., chunk_size,
    action_dim]` (the action j steps ahead at `chunk[..., j, :]`); `mean` and
    `log_var` are `[..., latent_size]`, the diagonal Gaussian q(z | obs,
    chunk). Learned position embeddings tell the action tokens apart, so the
    output depends on their order. The optional `chunk_mask` `[...,
    chunk_size]` bool hides padded actions (False) from attention, as ACT's
    encoder does with its padding mask: they then do not change the output.

    Raises:
      ValueError: a size that is not a positive int, or `model_size` not
        divisible by `num_heads`.
    """
    return _checked_module(
        "act_encoder",
        ACTEncoder,
        observation_size=observation_size,
        action_dim=action_dim,
        chunk_size=chunk_size,
        latent_size=latent_size,
        model_size=model_size,
        num_heads=num_heads,
        feedforward_size=feedforward_size,
        num_layers=num_layers,
    )


def act_decoder(
    observation_size: int,
    action_dim: int,
    chunk_size: int,
    latent_size: int,
    *,
    model_size: int = 128,
    num_heads: int = 4,
    feedforward_size: int = 512,
    encoder_layers: int = 2,
    decoder_layers: int = 2,
) -> Network:
    """ACT's chunk decoder: `apply(params, obs, z) -> chunk`.

    `obs` is `[..., observation_size]`, `z` `[..., latent_size]` (zeros at
    test time, as in ACT); the chunk is `[..., chunk_size, action_dim]`.
    `encoder_layers` is the depth of the transformer encoder over the memory
    tokens [obs, z], `decoder_layers` that of the transformer decoder over the
    `chunk_size` learned queries.

    Raises:
      ValueError: a size that is not a positive int, or `model_size` not
        divisible by `num_heads`.
    """
    return _checked_module(
        "act_decoder",
        ACTDecoder,
        observation_size=observation_size,
        action_dim=action_dim,
        chunk_size=chunk_size,
        latent_size=latent_size,
        model_size=model_size,
        num_heads=num_heads,
        feedforward_size=feedforward_size,
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
    )


def _checked_module(name: str, module_class, **sizes: int) -> Network:
    """`module_class(**sizes)` as a `Network`, its sizes checked first."""
    check_transformer_sizes(name, **sizes)
    return from_nnx(lambda rngs: module_class(**sizes, rngs=rngs))
