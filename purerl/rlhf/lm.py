"""Language models as pure functions: `apply`, `features`, `generate` (KV cache in jit).

`make(Config(...))` builds an `LM` over `purerl.nets.TransformerLM`. The fine-tuning
algorithms only use the `LM` interface, so any model works: `from_apply(apply)` wraps any
`apply(params, tokens [B, T]) -> logits [B, T, V]` (its features are its logits and it
generates without a cache).

Generation continues prompts `[B, P]` (all the same length) by `num_tokens` tokens, sampled
from `softmax((logits + emit_mask) / temperature)` (PAD and BOS are never emitted;
`temperature=0` is greedy: the argmax; a negative one, or prompt ids outside the
vocabulary, a clear ValueError where concrete); after
a sequence's EOS it emits PAD. Step t uses subkey `t` of `jax.random.split(key, num_tokens)`,
so cached and uncached generation draw the same tokens from the same logits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl.core import validation as V
from purerl.nets.transformer import TransformerLM, init_cache
from purerl.rlhf.tasks import EOS, PAD, emit_mask


@dataclasses.dataclass(frozen=True)
class Config(V.ConfigBase):
    """Transformer sizes (Python ints: they fix shapes)."""

    vocab_size: int = 16
    max_len: int = 24  # longest sequence (prompt + response)
    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    mlp_ratio: int = 4

    def __post_init__(self):
        super().__post_init__()
        for name in ("vocab_size", "max_len", "d_model", "num_layers", "num_heads", "mlp_ratio"):
            V.check_int("lm.Config", name, getattr(self, name))
        if self.d_model % self.num_heads:
            raise ValueError(
                f"lm.Config: d_model {self.d_model} is not divisible by num_heads {self.num_heads}"
            )


class LM(NamedTuple):
    """A language model as pure functions (params are a plain pytree).

    Attributes:
      init: `key -> params`.
      apply: `(params, tokens [B, T]) -> logits [B, T, V]` (raw; see `log_probs`).
      features: `(params, tokens [B, T]) -> [B, T, D]` hidden states for scalar heads.
      generate: `(params, prompts [B, P], key, num_tokens, temperature) -> [B, P + num_tokens]`.
      feature_dim: D.
      vocab_size: V.
      max_len: longest sequence `apply` accepts (None: unbounded).
      apply_with_features: `(params, tokens) -> (logits, features)` in one pass.
    """

    init: Callable[[Any], Any]
    apply: Callable
    features: Callable
    generate: Callable
    feature_dim: int
    vocab_size: int
    max_len: int | None = None
    apply_with_features: Callable | None = None


def log_probs(logits: jax.Array) -> jax.Array:
    """Normalised log-probabilities over the tokens a model may emit (PAD, BOS at -1e9)."""
    return jax.nn.log_softmax(logits + emit_mask(logits.shape[-1]), axis=-1)


def _sample(key, logits, temperature):
    """A token from `softmax(masked logits / temperature)`; `temperature = 0`: the argmax
    (greedy decoding). A traced temperature selects between the two per call."""
    masked = logits + emit_mask(logits.shape[-1])
    if isinstance(temperature, int | float):
        if temperature == 0:
            return jnp.argmax(masked, axis=-1)
        return jax.random.categorical(key, masked / temperature)
    t = jnp.asarray(temperature, masked.dtype)
    sampled = jax.random.categorical(key, masked / jnp.where(t > 0, t, 1.0))
    return jnp.where(t > 0, sampled, jnp.argmax(masked, axis=-1))


def _check_generate(prompts, num_tokens, max_len, temperature=1.0, vocab_size=None):
    """Clear errors before tracing: prompt shape and (where concrete) token ids in
    `[0, vocab_size)`, `num_tokens`, the length budget, a (concrete) temperature >= 0.
    Traced prompts are not checked: an id outside the vocabulary then reads a NaN
    embedding (JAX's out-of-bounds gather fills with NaN), so its logits are NaN."""
    if prompts.ndim != 2:
        raise ValueError(f"generate: prompts must be [B, P] int tokens, got {prompts.shape}")
    if not isinstance(temperature, jax.core.Tracer):
        t = np.asarray(temperature)
        if t.ndim != 0 or not np.issubdtype(t.dtype, np.number) or np.iscomplexobj(t):
            raise ValueError(f"generate: temperature must be a real number, got {temperature!r}")
        if not (float(t) >= 0 and np.isfinite(float(t))):  # NaN fails too
            raise ValueError(
                f"generate: temperature must be finite and >= 0 (0: greedy), got {temperature!r}"
            )
    if not isinstance(prompts, jax.core.Tracer) and prompts.size:
        ids = np.asarray(prompts)
        if not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"generate: prompts must be int token ids, got dtype {ids.dtype}")
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or (vocab_size is not None and hi >= vocab_size):
            raise ValueError(
                f"generate: prompts hold token ids in [{lo}, {hi}], outside the vocabulary "
                f"[0, {vocab_size if vocab_size is not None else 'vocab_size'})"
            )
    V.check_int("generate", "num_tokens", num_tokens)
    if max_len is not None and prompts.shape[1] + num_tokens > max_len:
        raise ValueError(
            f"generate: prompt length {prompts.shape[1]} + num_tokens {num_tokens} exceeds the "
            f"model's max_len {max_len}"
        )


def generate_uncached(
    apply: Callable, params, prompts, key, num_tokens: int, temperature=1.0, max_len=None
):
    """Sample `num_tokens` tokens after `prompts [B, P]` re-running `apply` on the whole
    sequence at each step (works for any `apply`). Returns `[B, P + num_tokens]` int32."""
    _check_generate(prompts, num_tokens, max_len, temperature)
    B, P = prompts.shape
    buf = jnp.concatenate([prompts, jnp.full((B, num_tokens), PAD, prompts.dtype)], axis=1)

    def step(carry, xs):
        buf, done = carry
        t, k = xs
        logits = jax.lax.dynamic_index_in_dim(apply(params, buf), P + t - 1, 1, keepdims=False)
        tok = jnp.where(done, PAD, _sample(k, logits, temperature)).astype(buf.dtype)
        buf = jax.lax.dynamic_update_slice(buf, tok[:, None], (0, P + t))
        return (buf, done | (tok == EOS)), None

    xs = (jnp.arange(num_tokens), jax.random.split(key, num_tokens))
    (buf, _), _ = jax.lax.scan(step, (buf, jnp.zeros((B,), bool)), xs)
    return buf


def make(config: Config = Config()) -> LM:
    """The transformer `LM` of `config`, with KV-cached `generate`."""
    if not isinstance(config, Config):
        raise ValueError(f"lm.make expects an lm.Config, got {type(config).__name__}")
    net = TransformerLM(
        vocab_size=config.vocab_size,
        max_len=config.max_len,
        d_model=config.d_model,
        num_layers=config.num_layers,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
    )

    def init(key):
        return net.init(key, jnp.zeros((1, config.max_len), jnp.int32))

    def apply(params, tokens):
        return net.apply(params, tokens)

    def features(params, tokens):
        return net.apply(params, tokens, method=TransformerLM.features)

    def apply_with_features(params, tokens):
        h = features(params, tokens)
        return net.apply(params, h, method=TransformerLM.logits), h

    def generate(params, prompts, key, num_tokens: int, temperature=1.0):
        """KV-cached sampling: one `extend` over the prompt, then one token per scan step."""
        _check_generate(prompts, num_tokens, config.max_len, temperature, config.vocab_size)
        B, P = prompts.shape
        cache = init_cache(
            B,
            P + num_tokens,
            num_layers=config.num_layers,
            num_heads=config.num_heads,
            d_model=config.d_model,
        )
        logits, cache = net.apply(params, prompts, cache, 0, method=TransformerLM.extend)
        keys = jax.random.split(key, num_tokens)
        first = _sample(keys[0], logits[:, -1], temperature).astype(prompts.dtype)

        def step(carry, xs):
            cache, prev, done = carry
            pos, k = xs
            logits, cache = net.apply(
                params, prev[:, None], cache, pos, method=TransformerLM.extend
            )
            tok = jnp.where(done, PAD, _sample(k, logits[:, 0], temperature)).astype(prev.dtype)
            return (cache, tok, done | (tok == EOS)), tok

        carry = (cache, first, first == EOS)
        xs = (P + jnp.arange(num_tokens - 1), keys[1:])
        _, rest = jax.lax.scan(step, carry, xs)
        return jnp.concatenate([prompts, first[:, None], rest.T], axis=1)

    jitted_generate = jax.jit(generate, static_argnums=3)

    def checked_generate(params, prompts, key, num_tokens: int, temperature=1.0):
        """`generate`, its arguments checked before tracing (prompt ids where concrete)."""
        _check_generate(prompts, num_tokens, config.max_len, temperature, config.vocab_size)
        return jitted_generate(params, prompts, key, num_tokens, temperature)

    # jitted (inlined when called inside another jit): fast when called eagerly too
    return LM(
        jax.jit(init),
        jax.jit(apply),
        jax.jit(features),
        checked_generate,
        config.d_model,
        config.vocab_size,
        config.max_len,
        jax.jit(apply_with_features),
    )


def from_apply(
    apply: Callable, vocab_size: int, init: Callable | None = None, max_len: int | None = None
) -> LM:
    """An `LM` from any `apply(params, tokens) -> logits`: features are the logits and
    `generate` is `generate_uncached`."""

    def generate(params, prompts, key, num_tokens, temperature=1.0):
        return generate_uncached(apply, params, prompts, key, num_tokens, temperature, max_len)

    def apply_with_features(params, tokens):
        logits = apply(params, tokens)
        return logits, logits

    return LM(
        init if init is not None else _no_init,
        apply,
        apply,
        generate,
        vocab_size,
        vocab_size,
        max_len,
        apply_with_features,
    )


def _no_init(key):
    raise ValueError("this LM was built by lm.from_apply without an init function")


def with_features(lm: LM) -> Callable:
    """`(params, tokens) -> (logits, features)`, one pass where the model provides it."""
    if lm.apply_with_features is not None:
        return lm.apply_with_features
    return lambda params, tokens: (lm.apply(params, tokens), lm.features(params, tokens))


__all__ = [
    "LM",
    "Config",
    "from_apply",
    "generate_uncached",
    "log_probs",
    "make",
    "with_features",
]
