"""Action masks (the convention: `purerl.types.ACTION_MASK`): a dict observation's
`"action_mask"` leaf, `bool[..., num_actions]`, true for the legal actions of that
observation. Categorical policies mask their logits, Q-learners their argmaxes and their
random actions; an observation without a mask leaves every action legal."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from purerl.types import ACTION_MASK


def action_mask(obs) -> jax.Array | None:
    """The observation's legal-action mask `bool[..., A]`, or None when it has none."""
    if isinstance(obs, Mapping) and ACTION_MASK in obs:
        return jnp.asarray(obs[ACTION_MASK], bool)
    return None


def mask_logits(logits: jax.Array, mask: jax.Array | None) -> jax.Array:
    """Illegal actions' logits set to the dtype's most negative finite number: their
    probability is exactly 0 after a softmax, the legal ones renormalise, and entropies and
    gradients stay finite (`0 * finfo.min = 0`). `mask=None`: unchanged."""
    if mask is None:
        return logits
    return jnp.where(mask, logits, jnp.finfo(logits.dtype).min)


def masked_argmax(values: jax.Array, mask: jax.Array | None) -> jax.Array:
    """`argmax_a values[..., a]` over the legal actions only, as int32 `[...]`."""
    if mask is not None:
        values = jnp.where(mask, values, -jnp.inf)
    return jnp.argmax(values, axis=-1).astype(jnp.int32)


def uniform_legal_action(key, mask: jax.Array | None, num_actions: int, shape=()) -> jax.Array:
    """A uniformly random legal action per leading index, int32 `[...]` (`mask [..., A]`;
    `mask=None`: uniform over all `num_actions`, of batch `shape`)."""
    if mask is None:
        return jax.random.randint(key, shape, 0, num_actions).astype(jnp.int32)
    logits = jnp.where(mask, 0.0, -jnp.inf)
    return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)


__all__ = ["action_mask", "mask_logits", "masked_argmax", "uniform_legal_action"]
