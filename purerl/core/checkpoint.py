"""Checkpoints of whole train states, written atomically.

`save(path, state)` serialises every leaf of the state pytree (params, optimiser state,
env state, PRNG keys, counters) with flax's msgpack serialisation into a temporary file in
the same folder, fsyncs it and renames it over `path` (atomic on POSIX), so a crash never
leaves a half-written checkpoint. `load(path, like)` restores into the structure of `like`
(e.g. `agent.init(key)`), checking every shape and dtype. Resuming from a loaded state gives
bit-identical results to not stopping.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

_FORMAT = "purerl-checkpoint-v1"


def _is_key(x) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _to_host(state):
    leaves, _ = jax.tree.flatten(state)
    out = []
    for x in leaves:
        if _is_key(x):
            impl = str(jax.random.key_impl(x))
            out.append({"key_impl": impl, "data": np.asarray(jax.random.key_data(x))})
        else:
            out.append({"data": np.asarray(x)})
    return out


def save(path: str | os.PathLike, state: Any, metadata: dict | None = None) -> str:
    """Write `state` (any pytree) to `path` atomically; returns the path.

    `metadata` (JSON-serialisable, e.g. the config) is stored beside the arrays.
    """
    payload = {
        "format": _FORMAT,
        "leaves": {str(i): leaf for i, leaf in enumerate(_to_host(state))},
        "metadata": json.dumps(metadata or {}, default=str),
    }
    data = serialization.msgpack_serialize(payload)
    return atomic_write(path, lambda f: f.write(data), ".ckpt")


def atomic_write(path: str | os.PathLike, write: Callable[[Any], Any], suffix: str = "") -> str:
    """Write a file atomically: `write(f)` fills a temporary binary file in `path`'s folder
    (created if missing), which is fsynced and renamed over `path` (atomic on POSIX); on any
    error the temporary file is removed. Returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike, like: Any) -> Any:
    """Restore a state saved by `save` into the pytree structure of `like`.

    Raises:
      ValueError: the file is not a purerl checkpoint, or its leaves do not match `like`
        (count, shape or dtype).
    """
    with open(path, "rb") as f:
        payload = serialization.msgpack_restore(f.read())
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a purerl checkpoint")
    saved = [payload["leaves"][str(i)] for i in range(len(payload["leaves"]))]
    leaves, treedef = jax.tree.flatten(like)
    if len(saved) != len(leaves):
        raise ValueError(
            f"checkpoint {path} has {len(saved)} arrays, the target state has {len(leaves)}"
        )
    out = []
    for i, (s, x) in enumerate(zip(saved, leaves, strict=True)):
        data = np.asarray(s["data"])
        if _is_key(x):
            ref = jax.random.key_data(x)
            if data.shape != ref.shape:
                raise ValueError(f"checkpoint leaf {i}: key shape {data.shape} != {ref.shape}")
            out.append(jax.random.wrap_key_data(jnp.asarray(data), impl=jax.random.key_impl(x)))
        else:
            x = np.asarray(x)
            if data.shape != x.shape or data.dtype != x.dtype:
                raise ValueError(
                    f"checkpoint leaf {i}: saved {data.dtype}{list(data.shape)} does not match "
                    f"the target's {x.dtype}{list(x.shape)}"
                )
            out.append(jnp.asarray(data))
    return jax.tree.unflatten(treedef, out)


def load_metadata(path: str | os.PathLike) -> dict:
    """The metadata dict stored with a checkpoint."""
    with open(path, "rb") as f:
        payload = serialization.msgpack_restore(f.read())
    return json.loads(payload.get("metadata", "{}"))
