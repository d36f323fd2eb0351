"""Orthogonal initialisation without LAPACK.

`flax.linen.initializers.orthogonal` calls LAPACK's QR. Under `jax.vmap` (many seeds in one
compile) that becomes a batched QR custom call, which XLA:CPU parallelises over its own
thread pool from *inside* a pool thread; two such calls running concurrently on a 2-core
machine starve the pool and deadlock (seen here with jaxlib 0.10.2: `lapack_sgeqrf_ffi`
waiting in `ParallelBatchMap` on both pool threads). This initialiser orthogonalises a
Gaussian matrix by classical Gram-Schmidt with re-orthogonalisation (CGS2) in plain jnp
ops: the same Haar-distributed result (R's diagonal is positive, as after the usual sign
fix), no custom calls, safe under any vmap.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


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
