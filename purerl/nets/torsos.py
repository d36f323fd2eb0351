"""Torsos and their building blocks: the MLP, the CNN, `Torso` (picks one per observation
leaf), activations by name, and an orthogonal initialiser without LAPACK.

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

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from purerl.types import ACTION_MASK

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


TORSOS = ("auto", "mlp", "cnn")


@dataclasses.dataclass(frozen=True)
class TorsoSpec:
    """Which torso a network puts before its heads (hashable: a flax module field).

    `kind`: `"mlp"`, `"cnn"` (every observation leaf of rank 3, `(H, W, C)`, goes through
    conv layers first; other leaves through the MLP alone) or `"auto"` (the CNN for rank-3
    leaves, the MLP for the rest; the same as `"cnn"` in effect, `"cnn"` additionally
    insists on an image leaf at build time). `cnn_channels[i]`, `cnn_kernels[i]` (square)
    and `cnn_strides[i]` describe conv layer `i` ("VALID" padding, ReLU).
    """

    kind: str = "auto"
    cnn_channels: tuple[int, ...] = (16,)
    cnn_kernels: tuple[int, ...] = (3,)
    cnn_strides: tuple[int, ...] = (1,)

    def __post_init__(self):
        if self.kind not in TORSOS:
            raise ValueError(f"torso must be one of {list(TORSOS)}, got {self.kind!r}")
        n = len(self.cnn_channels)
        if not (len(self.cnn_kernels) == len(self.cnn_strides) == n):
            raise ValueError(
                "cnn_channels, cnn_kernels and cnn_strides need one entry per conv layer, got "
                f"{self.cnn_channels}, {self.cnn_kernels}, {self.cnn_strides}"
            )

    def uses_cnn(self, leaf_ndim: int) -> bool:
        return self.kind != "mlp" and leaf_ndim == 3


class CNN(nn.Module):
    """Conv torso for image observations `[..., H, W, C]` (any number of leading batch
    dims): per layer `relu(conv(x))` ("VALID" padding, square kernels, orthogonal init
    with gain sqrt(2), zero biases), then flattened to `[..., H' * W' * C']`."""

    channels: Sequence[int] = (16,)
    kernels: Sequence[int] = (3,)
    strides: Sequence[int] = (1,)

    @nn.compact
    def __call__(self, x):
        x = jnp.asarray(x, jnp.float32)
        batch = x.shape[:-3]
        x = x.reshape((-1,) + x.shape[-3:])
        for i, (c, k, s) in enumerate(zip(self.channels, self.kernels, self.strides, strict=True)):
            x = nn.relu(_Conv(c, k, s, name=f"Conv_{i}")(x))
        return x.reshape(batch + (-1,))


class _Conv(nn.Module):
    """A VALID 2-D convolution as one matmul over extracted patches (im2col): XLA:CPU runs
    this several times faster than its native convolution and its gradients. Parameters
    as `nn.Conv`'s: `kernel [k, k, C_in, C_out]` (orthogonal, gain sqrt(2)), `bias`."""

    features: int
    kernel: int
    stride: int

    @nn.compact
    def __call__(self, x):  # [N, H, W, C] -> [N, H', W', features]
        k, s = self.kernel, self.stride
        n, h, w, c = x.shape
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        kernel = self.param("kernel", orthogonal(np.sqrt(2)), (k, k, c, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        patches = [
            x[:, di : di + s * (ho - 1) + 1 : s, dj : dj + s * (wo - 1) + 1 : s, :]
            for di in range(k)
            for dj in range(k)
        ]
        cols = jnp.concatenate(patches, axis=-1)  # [N, H', W', k * k * C], (di, dj, c) order
        return cols @ kernel.reshape(k * k * c, self.features) + bias


def _leaf_ndims(obs_ndim, keys) -> dict:
    if isinstance(obs_ndim, int):
        return dict.fromkeys(keys, obs_ndim)
    return dict(obs_ndim)


class Torso(nn.Module):
    """The torso of every purerl network: `spec` (a `TorsoSpec`; None: the plain MLP) picks
    the CNN (then the MLP) for rank-3 observations and the MLP alone for the rest.

    `obs_ndim`: the trailing observation dims of an array observation, or for a dict
    observation `((key, ndim), ...)` per leaf (`purerl.envs.obs_ndim` computes it). A dict
    observation sends each leaf (sorted by key) through its own torso and concatenates the
    features; its `"action_mask"` leaf (`purerl.types.ACTION_MASK`) is not a network input
    (the policy / Q heads read it). Output `[..., features]`; with the plain MLP the
    parameters are laid out exactly as `MLP`'s (`Dense_0`, ...).
    """

    hidden_sizes: Sequence[int] = (64, 64)
    activation: str = "tanh"
    obs_ndim: int | tuple = 1
    input_fn: InputFn = None
    spec: TorsoSpec | None = None

    @nn.compact
    def __call__(self, x):
        if self.input_fn is not None:
            x = self.input_fn(x)
        if not isinstance(x, Mapping):
            return self._leaf(x, self.obs_ndim if isinstance(self.obs_ndim, int) else 1)
        keys = sorted(k for k in x if k != ACTION_MASK)
        if not keys:
            raise ValueError("a dict observation needs at least one leaf besides 'action_mask'")
        ndims = _leaf_ndims(self.obs_ndim, keys)
        if len(keys) == 1:
            return self._leaf(x[keys[0]], ndims[keys[0]])
        feats = [
            Torso(self.hidden_sizes, self.activation, ndims[k], None, self.spec, name=f"obs_{k}")(
                x[k]
            )
            for k in keys
        ]
        return jnp.concatenate(feats, axis=-1)

    def _leaf(self, x, ndim: int):
        spec = self.spec or TorsoSpec("mlp")
        if spec.uses_cnn(ndim):
            x = CNN(spec.cnn_channels, spec.cnn_kernels, spec.cnn_strides)(x)
            ndim = 1
        x = network_array(x, ndim)
        act = get_activation(self.activation)
        for h in self.hidden_sizes:
            x = act(nn.Dense(h, kernel_init=orthogonal(np.sqrt(2)))(x))
        return x


__all__ = [
    "ACTIVATIONS",
    "CNN",
    "MLP",
    "TORSOS",
    "Torso",
    "TorsoSpec",
    "get_activation",
    "network_array",
    "orthogonal",
]


def mlp_named_torso(module: nn.Module) -> Torso:
    """The `Torso` of a compact network with fields `hidden_sizes, activation, obs_ndim,
    input_fn, torso`, named `MLP_0` as the plain MLP it replaced: the same parameter paths,
    so the same initial weights and checkpoints as before the torso option."""
    return Torso(
        module.hidden_sizes,
        module.activation,
        module.obs_ndim,
        module.input_fn,
        module.torso,
        name="MLP_0",
    )
