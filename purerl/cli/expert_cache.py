"""Imitation experts trained once and cached as checkpoints, shared between processes.

`expert(env_id, cache_dir)` trains the expert of `purerl.imitation.experts.EXPERTS[env_id]`
once (`experts.train_expert`: fixed keys, so deterministically), saves the whole train state
with `purerl.save` (atomic) under `cache_dir` and loads it on later calls. Processes that
race on an empty cache (pytest-xdist workers) serialise on a lock file created with
`O_EXCL`; a lock older than `LOCK_TIMEOUT` seconds is ignored and the expert trained again
(writers replace the file atomically, so a reader never sees a partial checkpoint).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax

from purerl import envs
from purerl.core.checkpoint import load, load_metadata, save
from purerl.imitation.experts import EXPERTS, ExpertSpec, train_expert

LOCK_TIMEOUT = 900.0  # seconds: a lock older than this is stale


class Expert(NamedTuple):
    """What `expert` returns (unpacks as a 5-tuple)."""

    act_fn: Callable  # act_fn(obs [*obs_shape], key) -> action; deterministic
    env: Any
    env_params: Any
    expert_return: float
    random_return: float


def default_cache_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".cache", "purerl", "experts")


def _path(env_id: str, spec: ExpertSpec, cache_dir: str) -> str:
    fields = sorted(dataclasses.asdict(spec.config).items())  # independent of field order
    tag = repr((spec.algo.__name__, fields, spec.seed)).encode()
    digest = hashlib.sha1(tag).hexdigest()[:10]
    name = spec.algo.__name__.rsplit(".", 1)[-1]
    return os.path.join(cache_dir, f"{env_id}-{name}-{digest}.ckpt")


def _train(agent, spec: ExpertSpec, env, env_params, path: str) -> None:
    state, info = train_expert(agent, spec, env, env_params)
    save(path, state, info)


def _acquire(lock: str) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def expert(env_id: str, cache_dir: str | os.PathLike | None = None) -> Expert:
    """The expert for `env_id` ("CartPole-v1" or "Pendulum-v1"), trained on first use.

    Args:
      env_id: one of `purerl.imitation.experts.EXPERTS`.
      cache_dir: folder of the cached checkpoints; default `~/.cache/purerl/experts`.

    Returns:
      `Expert(act_fn, env, env_params, expert_return, random_return)`: `act_fn(obs, key)`
      is the deterministic expert policy for one unbatched observation of `env`
      (`purerl.make_env(env_id)`, raw observations).
    """
    if env_id not in EXPERTS:
        raise ValueError(f"expert: no expert for {env_id!r}; choose from {sorted(EXPERTS)}")
    spec = EXPERTS[env_id]
    cache_dir = os.fspath(cache_dir) if cache_dir is not None else default_cache_dir()
    os.makedirs(cache_dir, exist_ok=True)
    env, env_params = envs.make_env(env_id)
    agent = spec.algo.make(env, env_params, spec.config)
    path = _path(env_id, spec, cache_dir)
    lock = path + ".lock"
    while not os.path.exists(path):
        if _acquire(lock):
            try:
                if not os.path.exists(path):
                    _train(agent, spec, env, env_params, path)
            finally:
                os.unlink(lock)
            break
        try:
            stale = time.time() - os.path.getmtime(lock) > LOCK_TIMEOUT
        except FileNotFoundError:
            continue
        if stale:
            _train(agent, spec, env, env_params, path)
            break
        time.sleep(1.0)
    state = load(path, agent.init(jax.random.key(spec.seed)))
    meta = load_metadata(path)
    act_fn = lambda obs, key: agent.act(state, obs, key)
    return Expert(
        act_fn, env, env_params, float(meta["expert_return"]), float(meta["random_return"])
    )
