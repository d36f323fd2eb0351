"""Checkpoints of whole train states, written atomically.

`save(path, state)` serialises every leaf of the state pytree (params, optimiser state,
env state, PRNG keys, counters) with flax's msgpack serialisation into a temporary file in
the same folder, fsyncs it, renames it over `path` (atomic on POSIX) and fsyncs the folder,
so a crash never leaves a half-written checkpoint; a temporary file orphaned by a killed
writer is removed by the next write to that path. `load(path, like)` restores into the
structure of `like` (e.g. `agent.init(key)`), checking every shape and dtype, and the
state's type (and, given `agent=`, its algorithm and config) against what was saved.
Resuming from a loaded state gives bit-identical results to not stopping.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import os
import secrets
import socket
import stat
from collections.abc import Callable, Sequence
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


def _type_name(x) -> str:
    return f"{type(x).__module__}.{type(x).__qualname__}"


def _json(x):
    return json.loads(json.dumps(x, default=str))


def agent_metadata(agent) -> dict:
    """What `save(..., agent=agent)` records and `load(..., agent=agent)` compares: the
    algorithm (the module of the agent's Config) and the config's fields."""
    config = getattr(agent, "config", None)
    if config is None or not dataclasses.is_dataclass(config):
        return {}
    return {"algorithm": type(config).__module__, "config": _json(dataclasses.asdict(config))}


def save(
    path: str | os.PathLike, state: Any, metadata: dict | None = None, *, agent: Any = None
) -> str:
    """Write `state` (any pytree) to `path` atomically; returns the path.

    `metadata` (JSON-serialisable, e.g. the config) is stored beside the arrays, with the
    state's type; `agent` (the `Agent` the state belongs to) adds its algorithm and config
    (`agent_metadata`), which `load(..., agent=...)` compares.
    """
    meta = {**(metadata or {}), **agent_metadata(agent)}
    payload = {
        "format": _FORMAT,
        "leaves": {str(i): leaf for i, leaf in enumerate(_to_host(state))},
        "metadata": json.dumps(meta, default=str),
        "state_type": _type_name(state),
    }
    data = serialization.msgpack_serialize(payload)
    return atomic_write(path, lambda f: f.write(data), ".ckpt")


def _temp_prefix(path: str) -> str:
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temps(path: str | os.PathLike) -> list[str]:
    """Remove the temporary files of `atomic_write`s to `path` whose writer (a process on
    this host, named in the file name) no longer runs: left behind by a killed writer.
    Returns the removed paths."""
    path = os.path.abspath(os.fspath(path))
    host = socket.gethostname()
    removed = []
    for tmp in glob.glob(glob.escape(_temp_prefix(path)) + "*"):
        parts = tmp[len(_temp_prefix(path)) :].split("-")
        try:
            pid = int(parts[-2])
        except (IndexError, ValueError):
            continue
        if "-".join(parts[:-2]) == host and not _alive(pid):
            try:
                os.unlink(tmp)
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without folder fds (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], Any], suffix: str = "") -> str:
    """Write a file atomically: `write(f)` fills a temporary binary file in `path`'s folder
    (created if missing), which is fsynced and renamed over `path` (atomic on POSIX), then
    the folder is fsynced (the rename is durable). On any error the temporary file is
    removed; one left by a killed writer (its name holds the host and process id) is
    removed by the next write to `path`. An existing file's mode is kept; a new file gets
    the default mode (0o666 less the umask). Returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temps(path)
    tmp = _temp_prefix(os.path.abspath(path))
    tmp += f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def _read(path) -> dict:
    """The payload of the checkpoint at `path`; a clear `ValueError` naming the path for an
    empty, truncated or corrupt file, or one that is not a purerl checkpoint."""
    with open(path, "rb") as f:
        raw = f.read()
    if not raw:
        raise ValueError(f"checkpoint {os.fspath(path)} is empty (0 bytes)")
    try:
        payload = serialization.msgpack_restore(raw)
    except Exception as e:
        raise ValueError(
            f"checkpoint {os.fspath(path)} is truncated or corrupt ({len(raw)} bytes could "
            f"not be decoded: {type(e).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a purerl checkpoint")
    leaves = payload.get("leaves")
    if not isinstance(leaves, dict) or any(
        not isinstance(leaves.get(str(i)), dict) or "data" not in leaves[str(i)]
        for i in range(len(leaves))
    ):
        raise ValueError(f"checkpoint {os.fspath(path)} is corrupt (its arrays are unreadable)")
    try:
        payload["metadata"] = json.loads(payload.get("metadata", "{}"))
    except (TypeError, ValueError):
        raise ValueError(f"checkpoint {os.fspath(path)} has corrupt metadata") from None
    return payload


def _check_identity(path, payload, like, agent, ignore: Sequence[str]) -> None:
    saved_type = payload.get("state_type")
    if saved_type is not None and saved_type != _type_name(like):
        raise ValueError(
            f"checkpoint {os.fspath(path)} holds a {saved_type}, but the target state is a "
            f"{_type_name(like)} (a state of another algorithm?)"
        )
    if agent is None:
        return
    saved, target = payload["metadata"], agent_metadata(agent)
    if "algorithm" in saved and "algorithm" in target and saved["algorithm"] != target["algorithm"]:
        raise ValueError(
            f"checkpoint {os.fspath(path)} was saved by {saved['algorithm']}, the target agent "
            f"is {target['algorithm']}"
        )
    a, b = saved.get("config"), target.get("config")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return
    diffs = [
        f"{k}: saved {a.get(k, '<absent>')!r}, target {b.get(k, '<absent>')!r}"
        for k in sorted(set(a) | set(b))
        if k not in ignore and a.get(k, "<absent>") != b.get(k, "<absent>")
    ]
    if diffs:
        raise ValueError(
            f"checkpoint {os.fspath(path)} was saved with another config; config fields "
            f"differ: {'; '.join(diffs)} (pass ignore=(...) to load across them)"
        )


def load(
    path: str | os.PathLike,
    like: Any,
    *,
    agent: Any = None,
    ignore: Sequence[str] = ("total_timesteps",),
) -> Any:
    """Restore a state saved by `save` into the pytree structure of `like`.

    Args:
      path: a file written by `save`.
      like: a state of the target structure (e.g. `agent.init(key)`); its type must be
        the saved state's.
      agent: the target `Agent`: when the checkpoint recorded one (`save(..., agent=)`,
        or a `config` in its metadata, as the CLI writes), its algorithm and config must
        match, except the fields in `ignore` (by default the budget `total_timesteps`,
        so a finished run can be continued with a larger one).

    Raises:
      ValueError: the file is empty, truncated, corrupt or not a purerl checkpoint; it
        holds another type of state, another algorithm's or another config's (naming the
        fields that differ); or its leaves do not match `like` (count, shape or dtype).
    """
    payload = _read(path)
    _check_identity(path, payload, like, agent, tuple(ignore))
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
    return _read(path)["metadata"]
