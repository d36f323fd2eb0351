"""Run folders: what a run writes so that it can be understood, reproduced and resumed.

    <out>/config.json      algorithm, env, seeds, the Config, the run's settings
    <out>/versions.json    purerl commit, jax, jaxlib, gymnax, flax, optax, python, device
    <out>/checkpoints/update-<n>.ckpt (+ .npz)   periodic checkpoints (the last k kept):
                           the seeds' train states and the metrics so far
    <out>/summary.json     written last: its presence marks a finished run

A finished run is never overwritten: `claim` refuses a folder that holds one (or an
unfinished run, which `--resume` continues).
"""

from __future__ import annotations

import dataclasses
import glob
import importlib
import io
import json
import os
import platform
import subprocess
import time
import typing

import jax
import numpy as np

from purerl.core.checkpoint import atomic_write, load, save


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked (finished, unfinished, missing)."""


def claim(out: str | None, name: str, env_id: str) -> str:
    """The folder of a new run: `out`, or `runs/<name>-<env>-<time>`; refuses a folder
    that already holds a run."""
    if out is None:
        out = os.path.join("runs", f"{name}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
        base, i = out, 1
        while os.path.exists(out):
            i += 1
            out = f"{base}-{i}"
    if os.path.exists(os.path.join(out, "summary.json")):
        raise RunFolderError(
            f"--out {out} holds a finished run; a finished run is never overwritten: "
            "pass another --out"
        )
    if os.path.exists(os.path.join(out, "config.json")):
        raise RunFolderError(
            f"--out {out} holds an unfinished run; continue it with --resume {out} "
            "or pass another --out"
        )
    os.makedirs(out, exist_ok=True)
    return out


def versions() -> dict:
    """The software and hardware a run used."""
    from importlib.metadata import PackageNotFoundError, version

    def v(pkg):
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    here = os.path.dirname(os.path.abspath(__file__))
    commit = None
    try:
        commit = subprocess.run(
            ["git", "-C", here, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        commit = (commit + ("-dirty" if dirty else "")) or None
    except (OSError, subprocess.SubprocessError):
        pass
    dev = jax.devices()[0]
    return {
        "purerl_commit": commit,
        **{p: v(p) for p in ("jax", "jaxlib", "gymnax", "flax", "optax", "numpy")},
        "python": platform.python_version(),
        "platform": dev.platform,
        "device": getattr(dev, "device_kind", str(dev)),
        "device_count": jax.device_count(),
        "process_count": jax.process_count(),
    }


def write_json(path: str, data: dict) -> str:
    text = json.dumps(data, indent=2, default=str).encode()
    return atomic_write(path, lambda f: f.write(text))


def read_config(run_dir: str) -> dict:
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise RunFolderError(f"--resume {run_dir}: no config.json there (not a run folder)")
    if os.path.exists(os.path.join(run_dir, "summary.json")):
        raise RunFolderError(f"--resume {run_dir}: that run has finished; nothing to resume")
    with open(path) as f:
        return json.load(f)


def rebuild_config(algo, fields: dict):
    """`algo.Config` from its JSON dict (lists back to tuples where the field is a tuple)."""
    hints = typing.get_type_hints(algo.Config)
    kwargs = {}
    for f in dataclasses.fields(algo.Config):
        if f.name not in fields:
            continue
        v = fields[f.name]
        if isinstance(v, list) and "tuple" in str(hints.get(f.name, "")).lower():
            v = tuple(v)
        kwargs[f.name] = v
    return algo.Config(**kwargs)


def algo_module(name: str):
    return importlib.import_module(name)


# ------------------------------------------------------------------ checkpoints
def _ckpt(run_dir: str, done: int) -> str:
    return os.path.join(run_dir, "checkpoints", f"update-{done:09d}.ckpt")


def save_checkpoint(run_dir, done: int, states, metrics: dict, meta: dict, keep: int) -> str:
    """The seeds' states and the metrics of the first `done` updates, atomically (the
    metrics file first: a checkpoint file is only there with its metrics); keeps the
    last `keep` checkpoints."""
    path = _ckpt(run_dir, done)
    buf = io.BytesIO()
    np.savez(buf, **{k.replace("/", "|"): v for k, v in metrics.items()})
    atomic_write(path[: -len(".ckpt")] + ".npz", lambda f: f.write(buf.getvalue()))
    save(path, states, metadata={**meta, "updates_done": done})
    for old in checkpoints(run_dir)[:-keep] if keep > 0 else []:
        for p in (old, old[: -len(".ckpt")] + ".npz"):
            if os.path.exists(p):
                os.unlink(p)
    return path


def checkpoints(run_dir: str) -> list[str]:
    """The run's checkpoint files, oldest first."""
    return sorted(glob.glob(os.path.join(run_dir, "checkpoints", "update-*.ckpt")))


def load_checkpoint(run_dir: str, like) -> tuple[int, object, dict]:
    """`(updates_done, states, metrics)` of the run's last checkpoint; `(0, None, {})`
    when it has none yet."""
    found = checkpoints(run_dir)
    if not found:
        return 0, None, {}
    path = found[-1]
    done = int(os.path.basename(path)[len("update-") : -len(".ckpt")])
    states = load(path, like)
    with np.load(path[: -len(".ckpt")] + ".npz") as z:
        metrics = {k.replace("|", "/"): z[k] for k in z.files}
    return done, states, metrics
