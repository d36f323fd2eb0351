"""Measurement helpers shared by both workers, so purerl and rejax are measured alike.
Imports JAX and NumPy only: the rejax worker runs it from rejax's virtual env."""

from __future__ import annotations

import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np


def warm_up() -> None:
    """Start the backend and the compiler before timing anything."""
    jax.block_until_ready(jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.0)(jnp.ones((4, 4))))


def measure(fn, *args):
    """AOT-compile `jit(fn)` on `args`, then run it once. Returns (out, compile_s, train_s)."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    out = compiled(*args)
    jax.block_until_ready(out)
    return out, compile_s, time.perf_counter() - t1


def threshold(steps, curve, thr):
    """First (env steps, index) where `curve` (mean over seeds) reaches `thr`, else None."""
    hit = np.nonzero(np.asarray(curve) >= thr)[0]
    if hit.size == 0:
        return None, None
    i = int(hit[0])
    return int(steps[i]), i


def downsample(steps, curve, n):
    idx = np.unique(np.linspace(0, len(curve) - 1, min(n, len(curve))).round().astype(int))
    return {"env_steps": [int(steps[i]) for i in idx], "return": [float(curve[i]) for i in idx]}


def machine() -> dict:
    return {"jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}


def peak_memory() -> dict:
    """Peak resident memory of this process (MB) and, where the backend reports it, the
    peak bytes in use on device 0 (GPU/TPU; CPU arrays are in the RSS)."""
    out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    if "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
    return out


def emit(result: dict) -> None:
    """Print the result as the one JSON line the driver reads."""
    result.setdefault("memory", peak_memory())
    print(json.dumps(result), flush=True)
