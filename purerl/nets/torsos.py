"""Torsos and their building blocks: the MLP, activations by name, and an orthogonal
initialiser without LAPACK.

`flax.linen.initializers.orthogonal` calls LAPACK's QR. Under `jax.vmap` (many seeds in one
compile) that becomes a batched QR custom call, which XLA:CPU parallelises over its own
thread pool from *inside* a pool thread; two such calls running concurrently on a 2-core
machine starve the pool and deadlock (seen here with jaxlib 0.10.2: `lapack_sgeqrf_ffi`
waiting in `ParallelBatchMap` on both pool threads). `orthogonal` orthogonalises a
Gaussian matrix by classical Gram-Schmidt with re-orthogonalisation (CGS2) in plain jnp
ops: the same Haar-distributed result (R's diagonal is positive, as after the usual sign
fix), no custom calls, safe under any vmap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

ACTIVATIONS: dict[str, Callable] = {
    "tanh": jnp.tanh,
    "relu": nn.relu,
    "swish": nn.swish,
    "silu": nn.silu,
    "gelu": nn.gelu,
    "elu": nn.elu,
    "identity": lambda x: x,
}

# input_fn(obs) -> array: maps an observation (any pytree) to what a network reads, e.g.
# `purerl.envs.network_input` for goal-conditioned observation dicts; None: the obs itself.
InputFn = Callable[[Any], Any] | None


def get_activation(name: str) -> Callable:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# ------------------------------------------------------------------ initialisers
def _gram_schmidt(a: jax.Array) -> jax.Array:
    """Orthonormalise the columns of `a [n, k]` (k <= n) by CGS2."""
    n, k = a.shape

    def body(q, j):
        v = a[:, j]
        v = v - q @ (q.T @ v)
        v = v - q @ (q.T @ v)
        v = v / jnp.linalg.norm(v)
        return q.at[:, j].set(v), None

    q, _ = jax.lax.scan(body, jnp.zeros_like(a), jnp.arange(k))
    return q


def orthogonal(scale: float = 1.0, column_axis: int = -1):
    """Orthogonal initialiser (Saxe et al. 2014) with the `flax` initialiser signature."""

    def init(key, shape, dtype=jnp.float32):
        if len(shape) < 2:
            raise ValueError("orthogonal initialiser needs at least 2 dimensions")
        n_cols = shape[column_axis]
        n_rows = int(np.prod(shape)) // n_cols
        big, small = max(n_rows, n_cols), min(n_rows, n_cols)
        a = jax.random.normal(key, (big, small), jnp.float32)
        q = _gram_schmidt(a)
        if n_rows < n_cols:
            q = q.T
        q = q.reshape(
            tuple(s for i, s in enumerate(shape) if i != column_axis % len(shape)) + (n_cols,)
        )
        q = jnp.moveaxis(q, -1, column_axis)
        return (scale * q).astype(dtype)

    return init


# ------------------------------------------------------------------------ torsos
def network_array(x, obs_ndim: int = 1, input_fn: InputFn = None) -> jax.Array:
    """`input_fn(x)` as float32 with its `obs_ndim` trailing dims flattened into one:
    `[..., *obs_shape] -> [..., prod(obs_shape)]`."""
    if input_fn is not None:
        x = input_fn(x)
    if isinstance(x, Mapping):
        raise ValueError(
            f"a network got a {type(x).__name__} observation; structured observations need "
            "an input_fn that maps them to an array (goal dicts: purerl.envs.network_input, "
            "or wrap the env in purerl.envs.FlattenGoal)"
        )
    x = jnp.asarray(x, jnp.float32)
    if obs_ndim != 1:
        x = x.reshape(x.shape[: x.ndim - obs_ndim] + (-1,))
    return x


class MLP(nn.Module):
    """Fully connected torso: flattens trailing obs dims, then Dense + activation per layer.

    Input `[..., *obs_shape]` with `obs_ndim` trailing observation dims (a structured
    observation enters as `input_fn(obs)`); output `[..., hidden_sizes[-1]]`. Orthogonal
    init with gain sqrt(2), zero biases.
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int = 1
    input_fn: InputFn = None

    @nn.compact
    def __call__(self, x):
        x = network_array(x, self.obs_ndim, self.input_fn)
        act = get_activation(self.activation)
        for h in self.hidden_sizes:
            x = act(nn.Dense(h, kernel_init=orthogonal(np.sqrt(2)))(x))
        return x


__all__ = ["ACTIVATIONS", "MLP", "get_activation", "network_array", "orthogonal"]
