"""A small decoder-only (causal) transformer language model with an explicit KV cache.

Pre-LayerNorm GPT blocks (Radford et al. 2019): learned token and position embeddings,
`num_layers` blocks of causal multi-head self-attention and a GELU MLP, a final LayerNorm
and an untied linear head to `vocab_size` logits. Weights are initialised N(0, 0.02) (the
residual projections scaled by 1/sqrt(2 num_layers)), biases 0; no LAPACK-based inits.

One code path serves training and decoding. `extend(tokens, cache, offset)` runs tokens
`[B, T]` that occupy positions `offset .. offset + T - 1`, writes their keys and values into
`cache` (a list over layers of `(k, v)`, each `[B, S, num_heads, head_dim]`) and lets each
query attend to cache positions `<= its own`. The full forward `__call__(tokens)` is
`extend` on an empty cache of length T at offset 0; incremental decoding prefills the prompt
with one `extend` and then extends one token at a time (`offset` may be traced, so the
loop is a `lax.scan` inside `jit`).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

_NEG = -1e30


def init_cache(
    batch: int, length: int, *, num_layers: int, num_heads: int, d_model: int, dtype=jnp.float32
):
    """An empty KV cache: a list over layers of `(k, v)`, each `[batch, length, H, D/H]`."""
    shape = (batch, length, num_heads, d_model // num_heads)
    return [(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(num_layers)]


class Block(nn.Module):
    """Pre-LN transformer block: `x + attn(ln(x))`, then `x + mlp(ln(x))`."""

    d_model: int
    num_heads: int
    mlp_ratio: int
    num_layers: int

    def setup(self):
        std = 0.02
        proj = nn.initializers.normal(std / math.sqrt(2 * self.num_layers))
        self.ln1 = nn.LayerNorm()
        self.qkv = nn.Dense(3 * self.d_model, kernel_init=nn.initializers.normal(std))
        self.attn_out = nn.Dense(self.d_model, kernel_init=proj)
        self.ln2 = nn.LayerNorm()
        self.fc = nn.Dense(self.mlp_ratio * self.d_model, kernel_init=nn.initializers.normal(std))
        self.fc_out = nn.Dense(self.d_model, kernel_init=proj)

    def __call__(self, x, k_cache, v_cache, offset):
        """x `[B, T, D]` at positions offset..offset+T-1; caches `[B, S, H, D/H]`."""
        B, T, D = x.shape
        H = self.num_heads
        q, k, v = jnp.split(self.qkv(self.ln1(x)), 3, axis=-1)
        q, k, v = (a.reshape(B, T, H, D // H) for a in (q, k, v))
        k_cache = jax.lax.dynamic_update_slice(k_cache, k.astype(k_cache.dtype), (0, offset, 0, 0))
        v_cache = jax.lax.dynamic_update_slice(v_cache, v.astype(v_cache.dtype), (0, offset, 0, 0))
        S = k_cache.shape[1]
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k_cache) / math.sqrt(D // H)
        q_pos = offset + jnp.arange(T)
        allowed = jnp.arange(S)[None, :] <= q_pos[:, None]  # [T, S] causal over the cache
        logits = jnp.where(allowed[None, None], logits, _NEG)
        att = jax.nn.softmax(logits, axis=-1)
        y = jnp.einsum("bhqk,bkhd->bqhd", att, v_cache).reshape(B, T, D)
        x = x + self.attn_out(y)
        x = x + self.fc_out(nn.gelu(self.fc(self.ln2(x))))
        return x, k_cache, v_cache


class TransformerLM(nn.Module):
    """Causal transformer LM: `apply(params, tokens [B, T]) -> logits [B, T, vocab_size]`.

    Methods (pass as `method=`): `features(tokens) -> [B, T, d_model]` (final-LayerNorm
    hidden states, for value / reward heads), `logits(h) -> [..., vocab_size]`, and
    `extend(tokens, cache, offset) -> (logits, cache)` for cached decoding.
    """

    vocab_size: int
    max_len: int
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    mlp_ratio: int = 4

    def setup(self):
        if self.d_model % self.num_heads:
            raise ValueError(
                f"TransformerLM: d_model {self.d_model} is not divisible by "
                f"num_heads {self.num_heads}"
            )
        init = nn.initializers.normal(0.02)
        self.tok_embed = nn.Embed(self.vocab_size, self.d_model, embedding_init=init)
        self.pos_embed = self.param("pos_embed", init, (self.max_len, self.d_model))
        self.blocks = [
            Block(self.d_model, self.num_heads, self.mlp_ratio, self.num_layers)
            for _ in range(self.num_layers)
        ]
        self.ln_f = nn.LayerNorm()
        self.head = nn.Dense(self.vocab_size, kernel_init=init)

    def _run(self, tokens, cache, offset):
        T = tokens.shape[1]
        pos = jax.lax.dynamic_slice_in_dim(self.pos_embed, offset, T, axis=0)
        x = self.tok_embed(tokens) + pos[None]
        new_cache = []
        for block, (k, v) in zip(self.blocks, cache, strict=True):
            x, k, v = block(x, k, v, offset)
            new_cache.append((k, v))
        return self.ln_f(x), new_cache

    def empty_cache(self, batch: int, length: int):
        return init_cache(
            batch,
            length,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            d_model=self.d_model,
        )

    def features(self, tokens):
        """Hidden states `[B, T, d_model]` of tokens `[B, T]` (no cache)."""
        if tokens.shape[1] > self.max_len:
            raise ValueError(f"TransformerLM: {tokens.shape[1]} tokens > max_len {self.max_len}")
        h, _ = self._run(tokens, self.empty_cache(tokens.shape[0], tokens.shape[1]), 0)
        return h

    def logits(self, h):
        return self.head(h)

    def extend(self, tokens, cache, offset):
        """Run `tokens [B, T]` at positions `offset..`; returns `(logits [B, T, V], cache)`."""
        h, cache = self._run(tokens, cache, offset)
        return self.head(h), cache

    def __call__(self, tokens):
        return self.head(self.features(tokens))


__all__ = ["Block", "TransformerLM", "init_cache"]
