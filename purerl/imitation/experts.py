"""Experts for imitation learning, trained by purerl itself and cached as checkpoints.

* `"CartPole-v1"`: PPO-Clip (`ppo.Config()` defaults, 150k env steps), greedy.
* `"Pendulum-v1"`: SAC (`sac.Config(total_timesteps=10_000)`), the tanh of the Gaussian
  mean.

A single PPO run is seed-sensitive, so `candidates` seeds split from a fixed key are trained
in one vmap and the one with the best mean return is kept. `expert(env_id, cache_dir)`
trains the expert once (fixed keys, so deterministically),
saves the whole train state with `purerl.save` (atomic) under `cache_dir` and loads it on
later calls. Processes that race on an empty cache (pytest-xdist workers) serialise on a
lock file created with `O_EXCL`; a lock older than `LOCK_TIMEOUT` seconds is ignored and
the expert trained again (writers replace the file atomically, so a reader never sees a
partial checkpoint).

`expert_return` and `random_return` are mean undiscounted returns of `EVAL_EPISODES`
fresh episodes of the expert and of a uniform-random policy; the normalised return of a
score is `(score - random) / (expert - random)`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl import envs
from purerl.algos import ppo, sac
from purerl.core.checkpoint import load, load_metadata, save
from purerl.core.train import train
from purerl.imitation.demos import collect_demos, demo_returns

EVAL_EPISODES = 64
LOCK_TIMEOUT = 900.0  # seconds: a lock older than this is stale


class ExpertSpec(NamedTuple):
    algo: Any  # module with Config and make
    config: Any
    seed: int
    candidates: int  # seeds trained in one vmap; the best (by mean return) is kept


EXPERTS: dict[str, ExpertSpec] = {
    "CartPole-v1": ExpertSpec(ppo, ppo.Config(total_timesteps=150_000), 0, 4),
    "Pendulum-v1": ExpertSpec(sac, sac.Config(total_timesteps=10_000, buffer_size=10_000), 0, 2),
}


class Expert(NamedTuple):
    """What `expert` returns (unpacks as a 5-tuple)."""

    act_fn: Callable  # act_fn(obs [*obs_shape], key) -> action; deterministic
    env: Any
    env_params: Any
    expert_return: float
    random_return: float


def default_cache_dir() -> str:
    return os.path.join(os.path.expanduser("~"), ".cache", "purerl", "experts")


def random_act_fn(env, env_params) -> Callable:
    """A uniform-random policy `act_fn(obs, key) -> action` for `env` (continuous actions
    uniform in [-1, 1], the space of `purerl.make_env`'s `RescaleAction`)."""
    if envs.is_discrete(env, env_params):
        n = envs.num_actions(env, env_params)
        return lambda obs, key: jax.random.randint(key, (), 0, n).astype(jnp.int32)
    shape = envs.action_shape(env, env_params)
    return lambda obs, key: jax.random.uniform(key, shape, jnp.float32, -1.0, 1.0)


def mean_return(act_fn, env, env_params, key, num_episodes: int = EVAL_EPISODES) -> float:
    """Mean undiscounted return of `num_episodes` fresh episodes of `act_fn`."""
    demos = jax.jit(lambda k: collect_demos(act_fn, env, env_params, k, num_episodes))(key)
    return float(jnp.mean(demo_returns(demos)))


def normalised_return(score, expert_return, random_return):
    """`(score - random_return) / (expert_return - random_return)`: 0 random, 1 expert."""
    return (score - random_return) / (expert_return - random_return)


def _path(env_id: str, spec: ExpertSpec, cache_dir: str) -> str:
    tag = repr((spec.algo.__name__, dataclasses.astuple(spec.config), spec.seed)).encode()
    digest = hashlib.sha1(tag).hexdigest()[:10]
    name = spec.algo.__name__.rsplit(".", 1)[-1]
    return os.path.join(cache_dir, f"{env_id}-{name}-{digest}.ckpt")


def _train(agent, spec: ExpertSpec, env, env_params, path: str) -> None:
    keys = jax.random.split(jax.random.key(spec.seed), spec.candidates)
    states, metrics = jax.jit(jax.vmap(lambda k: train(agent, k)))(keys)
    k_exp, k_rand = jax.random.split(jax.random.key(spec.seed + 1))
    scores = []
    for i in range(spec.candidates):
        state_i = jax.tree.map(lambda x, i=i: x[i], states)
        act = lambda o, k, s=state_i: agent.act(s, o, k)
        scores.append(mean_return(act, env, env_params, k_exp))
    best = max(range(spec.candidates), key=lambda i: scores[i])
    state = jax.tree.map(lambda x: x[best], states)
    meta = {
        "expert_return": scores[best],
        "random_return": mean_return(random_act_fn(env, env_params), env, env_params, k_rand),
        "candidate_returns": scores,
        "algo": spec.algo.__name__,
        "config": repr(spec.config),
        "seed": spec.seed,
        "finite": bool(jnp.all(metrics["finite"] == 1)),
    }
    save(path, state, meta)


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
      env_id: one of `EXPERTS`.
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
