"""Pre-LayerNorm transformer pieces as nnx modules: attention, encoder, decoder.

Every module maps token arrays `[..., L, D]` with any leading batch shape
(the learners vmap or batch as they like) and keeps the residual stream
un-normalized: each block adds `f(LayerNorm(x))` to `x` (pre-LN, Xiong et
al. 2020), and each stack ends with one LayerNorm. Pre-LN trains without the
learning-rate warm-up a post-LN stack (the original transformer, DETR/ACT)
needs at these small sizes.

No dropout: `Network.apply` is a pure function of the parameters and the
inputs and carries no random stream, so the 0.1 dropout of ACT's and DETR's
transformers is not reproduced. Position information is not added here: the
caller adds learned embeddings to its tokens once, before the stack.
"""

import math

import jax
import jax.numpy as jnp
from flax import nnx


def check_transformer_sizes(owner: str, **sizes: int) -> None:
    """Raises ValueError naming the first size that is not a positive int.

    Also checks that `model_size` is divisible by `num_heads` when both are
    given (each head gets `model_size // num_heads` features).
    """
    for name, size in sizes.items():
        if not (isinstance(size, int) and not isinstance(size, bool) and size > 0):
            raise ValueError(f"{owner}: {name} must be a positive int; got {size!r}")
    if "model_size" in sizes and "num_heads" in sizes:
        if sizes["model_size"] % sizes["num_heads"]:
            raise ValueError(
                f"{owner}: model_size must be divisible by num_heads "
                f"({sizes['num_heads']}); got {sizes['model_size']}"
            )


class Attention(nnx.Module):
    """Multi-head scaled dot-product attention of queries over a memory."""

    def __init__(self, model_size: int, num_heads: int, *, rngs: nnx.Rngs):
        """Builds the query, key, value and output projections (D x D each).

        Args:
          model_size: D, the token width; divisible by `num_heads`.
          num_heads: H; each head attends with D / H features.
          rngs: random streams for the initial weights.
        """
        check_transformer_sizes("Attention", model_size=model_size, num_heads=num_heads)
        self.num_heads = num_heads
        self.query_proj = nnx.Linear(model_size, model_size, rngs=rngs)
        self.key_proj = nnx.Linear(model_size, model_size, rngs=rngs)
        self.value_proj = nnx.Linear(model_size, model_size, rngs=rngs)
        self.out_proj = nnx.Linear(model_size, model_size, rngs=rngs)

    def __call__(
        self, x: jax.Array, memory: jax.Array, key_mask: jax.Array | None = None
    ) -> jax.Array:
        """`x` `[..., Lq, D]` attends over `memory` `[..., Lk, D]`: `[..., Lq, D]`.

        `key_mask` `[..., Lk]` bool, False for memory tokens no query may see
        (padding); None lets every query see every token. Each row needs at
        least one True.
        """
        heads = self.num_heads

        def split(tokens: jax.Array) -> jax.Array:
            return tokens.reshape(tokens.shape[:-1] + (heads, -1))

        q = split(self.query_proj(x))
        k = split(self.key_proj(memory))
        v = split(self.value_proj(memory))
        logits = jnp.einsum("...qhd,...khd->...hqk", q, k) / math.sqrt(q.shape[-1])
        if key_mask is not None:
            visible = key_mask[..., None, None, :]  # over heads and queries
            logits = jnp.where(visible, logits, jnp.finfo(logits.dtype).min)
        weights = jax.nn.softmax(logits, axis=-1)
        mixed = jnp.einsum("...hqk,...khd->...qhd", weights, v)
        return self.out_proj(mixed.reshape(x.shape))


class AttentionBlock(nnx.Module):
    """`x + Attention(LayerNorm(x), memory)`; self-attention without a memory."""

    def __init__(self, model_size: int, num_heads: int, *, rngs: nnx.Rngs):
        """See `Attention`."""
        self.norm = nnx.LayerNorm(model_size, rngs=rngs)
        self.attention = Attention(model_size, num_heads, rngs=rngs)

    def __call__(
        self,
        x: jax.Array,
        memory: jax.Array | None = None,
        key_mask: jax.Array | None = None,
    ) -> jax.Array:
        """`x` `[..., Lq, D]`; `memory` `[..., Lk, D]` (None: `x` itself, normed).

        `key_mask`: see `Attention`.
        """
        normed = self.norm(x)
        # The memory of cross-attention is the encoder's output, already
        # normalized by the encoder's final LayerNorm.
        memory = normed if memory is None else memory
        return x + self.attention(normed, memory, key_mask)


class FeedForwardBlock(nnx.Module):
    """`x + W2 relu(W1 LayerNorm(x))`, position-wise."""

    def __init__(self, model_size: int, feedforward_size: int, *, rngs: nnx.Rngs):
        """Builds the two layers (D -> feedforward_size -> D)."""
        self.norm = nnx.LayerNorm(model_size, rngs=rngs)
        self.hidden = nnx.Linear(model_size, feedforward_size, rngs=rngs)
        self.output = nnx.Linear(feedforward_size, model_size, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return x + self.output(jax.nn.relu(self.hidden(self.norm(x))))


class EncoderLayer(nnx.Module):
    """Self-attention block, then feed-forward block."""

    def __init__(
        self, model_size: int, num_heads: int, feedforward_size: int, *, rngs: nnx.Rngs
    ):
        """See `TransformerEncoder`."""
        self.self_attention = AttentionBlock(model_size, num_heads, rngs=rngs)
        self.feedforward = FeedForwardBlock(model_size, feedforward_size, rngs=rngs)

    def __call__(self, x: jax.Array, key_mask: jax.Array | None = None) -> jax.Array:
        return self.feedforward(self.self_attention(x, key_mask=key_mask))


class DecoderLayer(nnx.Module):
    """Self-attention over the queries, cross-attention to the memory, feed-forward."""

    def __init__(
        self, model_size: int, num_heads: int, feedforward_size: int, *, rngs: nnx.Rngs
    ):
        """See `TransformerDecoder`."""
        self.self_attention = AttentionBlock(model_size, num_heads, rngs=rngs)
        self.cross_attention = AttentionBlock(model_size, num_heads, rngs=rngs)
        self.feedforward = FeedForwardBlock(model_size, feedforward_size, rngs=rngs)

    def __call__(self, x: jax.Array, memory: jax.Array) -> jax.Array:
        x = self.cross_attention(self.self_attention(x), memory)
        return self.feedforward(x)


class TransformerEncoder(nnx.Module):
    """`num_layers` encoder layers and a final LayerNorm: `[..., L, D]` to same."""

    def __init__(
        self,
        model_size: int,
        num_heads: int,
        feedforward_size: int,
        num_layers: int,
        *,
        rngs: nnx.Rngs,
    ):
        """Builds the stack.

        Args:
          model_size: D, the token width; divisible by `num_heads`.
          num_heads: attention heads per layer.
          feedforward_size: hidden width of each feed-forward block.
          num_layers: encoder layers (>= 1).
          rngs: random streams for the initial weights.
        """
        self.layers, self.final_norm = _layer_stack(
            "TransformerEncoder",
            EncoderLayer,
            model_size,
            num_heads,
            feedforward_size,
            num_layers,
            rngs,
        )

    def __call__(self, x: jax.Array, key_mask: jax.Array | None = None) -> jax.Array:
        """`x` `[..., L, D]`; `key_mask` `[..., L]` bool hides padding tokens.

        Padding tokens still get outputs (they attend to the visible ones);
        no other token's output depends on them.
        """
        for layer in self.layers:
            x = layer(x, key_mask)
        return self.final_norm(x)


class TransformerDecoder(nnx.Module):
    """`num_layers` decoder layers and a final LayerNorm.

    Maps queries `[..., Lq, D]` and a memory `[..., Lk, D]` (an encoder's
    output) to `[..., Lq, D]`; no causal mask (every query sees every other,
    as DETR's and ACT's decoders do).
    """

    def __init__(
        self,
        model_size: int,
        num_heads: int,
        feedforward_size: int,
        num_layers: int,
        *,
        rngs: nnx.Rngs,
    ):
        """See `TransformerEncoder`."""
        self.layers, self.final_norm = _layer_stack(
            "TransformerDecoder",
            DecoderLayer,
            model_size,
            num_heads,
            feedforward_size,
            num_layers,
            rngs,
        )

    def __call__(self, x: jax.Array, memory: jax.Array) -> jax.Array:
        for layer in self.layers:
            x = layer(x, memory)
        return self.final_norm(x)


def _layer_stack(
    name: str,
    layer_class,
    model_size: int,
    num_heads: int,
    feedforward_size: int,
    num_layers: int,
    rngs: nnx.Rngs,
) -> tuple[nnx.List, nnx.LayerNorm]:
    """`num_layers` layers of `layer_class` and the final LayerNorm, sizes checked."""
    check_transformer_sizes(
        name,
        model_size=model_size,
        num_heads=num_heads,
        feedforward_size=feedforward_size,
        num_layers=num_layers,
    )
    layers = nnx.List(
        [
            layer_class(model_size, num_heads, feedforward_size, rngs=rngs)
            for _ in range(num_layers)
        ]
    )
    return layers, nnx.LayerNorm(model_size, rngs=rngs)
