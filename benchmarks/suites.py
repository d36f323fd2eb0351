"""Env-suite throughput: purerl PPO env steps/s on a suite env beside the suite's own
random stepping at the same env count (their ratio is the framework's overhead: the
policy, the learning and the adapter). Driven by `scripts/suite_throughput.py`.

Raw stepping: `num_envs` envs vmapped, uniformly random actions, `lax.scan` over steps,
the suite's own step (with its own auto-reset where it has one). PPO: `purerl.train` with
`num_envs` envs, timed on a second call (compiled), env steps = updates * batch.
"""

from __future__ import annotations

import time

import jax

import purerl
from purerl.algos import ppo


def _raw_xminigrid(name, num_envs, steps):
    import xminigrid
    from xminigrid.wrappers import GymAutoResetWrapper

    env, p = xminigrid.make(name)
    env = GymAutoResetWrapper(env)
    n = env.num_actions(p)

    def run(key):
        ts = jax.vmap(env.reset, (None, 0))(p, jax.random.split(key, num_envs))

        def body(ts, k):
            a = jax.random.randint(k, (num_envs,), 0, n)
            return jax.vmap(env.step, (None, 0, 0))(p, ts, a), None

        ts, _ = jax.lax.scan(body, ts, jax.random.split(key, steps))
        return ts  # the whole final state: nothing of the loop is dead code

    return run


def _raw_navix(name, num_envs, steps):
    import navix

    env = navix.make(name)
    n = int(env.action_space.maximum) + 1

    def run(key):
        ts = jax.vmap(env.reset)(jax.random.split(key, num_envs))

        def body(ts, k):
            a = jax.random.randint(k, (num_envs,), 0, n)
            return jax.vmap(env.step)(ts, a), None  # navix's step resets by itself

        ts, _ = jax.lax.scan(body, ts, jax.random.split(key, steps))
        return ts  # the whole final state: nothing of the loop is dead code

    return run


RAW = {"xminigrid": _raw_xminigrid, "navix": _raw_navix}


def _timed(fn, *args):
    jax.block_until_ready(fn(*args))  # compile
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t


def throughput(env_id: str, num_envs: int = 64, num_steps: int = 128, updates: int = 4):
    """`{"env", "num_envs", "raw_steps_per_s", "ppo_steps_per_s", "ratio"}`."""
    prefix, name = env_id.split("/", 1)
    raw = jax.jit(RAW[prefix](name, num_envs, num_steps * updates))
    raw_s = _timed(raw, jax.random.key(0))
    env, params = purerl.make_env(env_id)
    cfg = ppo.Config(
        total_timesteps=num_envs * num_steps * updates,
        num_envs=num_envs,
        num_steps=num_steps,
        num_minibatches=4,
        num_epochs=4,
    )
    agent = ppo.make(env, params, cfg)
    train = jax.jit(lambda k: purerl.train(agent, k))  # the whole state and metrics
    ppo_s = _timed(train, jax.random.key(0))
    steps = num_envs * num_steps * updates
    out = {
        "env": env_id,
        "num_envs": num_envs,
        "raw_steps_per_s": steps / raw_s,
        "ppo_steps_per_s": steps / ppo_s,
    }
    out["ratio"] = out["raw_steps_per_s"] / out["ppo_steps_per_s"]
    return out


__all__ = ["RAW", "throughput"]
