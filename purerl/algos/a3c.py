"""Asynchronous advantage actor-critic (A3C; Mnih et al. 2016), simulated deterministically.

In A3C, W actor-learner threads share one set of parameters theta (and the RMSProp
statistics). Each thread loops: copy theta' <- theta, act `t_max` steps in its own
environment with theta', compute the n-step actor-critic gradient at theta', and apply it
to the shared theta without taking a lock (Hogwild!, Recht et al. 2011). While one thread
acts, the others keep writing, so its gradient lands on parameters that have moved on:
a gradient computed at theta_k is applied to theta_{k+s}, with a staleness s of up to
W - 1 updates when the threads run at the same speed.

This module models exactly that, inside jit and bit-for-bit reproducible. Each worker w
has its own envs (`num_envs` of them) and its own parameter copy `worker_params[w]`, read
from the shared parameters when it starts a segment. The workers finish their segments
in a staggered round-robin order w = 0, 1, ..., W-1, 0, 1, ...; when worker w finishes,
its gradient (computed at its own copy, with `a2c.segment_gradients`) is applied to the
shared parameters by the shared optimiser, and w immediately re-reads them to start its
next segment. Hence in the first round worker w's gradient is w updates stale, and from
then on every gradient is exactly W - 1 updates stale: the steady state of W equally fast
threads. One `update` is one round (W applied gradients, W * num_envs * num_steps env
steps). Metrics `staleness` (mean number of shared updates between a worker's read and
its write), `staleness_max` and `param_lag` (global norm between the parameters a gradient
was computed at and the ones it was applied to) show the asynchrony.

What is not modelled: real threads interleave the individual parameter writes of two
updates (Hogwild!'s lock-free races) and run at varying speeds. Hogwild!'s analysis, and
A3C's, treat those effects as bounded-delay staleness, which is the quantity this
simulation reproduces; the write of one gradient is atomic here. With `num_workers=1`
nothing is stale and A3C is exactly A2C (same keys, same numbers).

A2C (`purerl.algos.a2c`) instead synchronises: all envs act with the same parameters and
their gradients are averaged into one update.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax
from flax import struct

from purerl.algos import a2c
from purerl.core import counter, onpolicy
from purerl.core import validation as V
from purerl.types import Agent


@dataclasses.dataclass(frozen=True)
class Config(a2c.Config):
    """A3C hyper-parameters: A2C's, with `num_envs` per worker, plus `num_workers`."""

    num_workers: int = 4  # W asynchronous actor-learners
    num_envs: int = 4  # envs per worker

    def __post_init__(self):
        super().__post_init__()
        V.check_int("a3c.Config", "num_workers", self.num_workers)

    @property
    def batch_size(self) -> int:
        """Env steps per update (one round: every worker finishes one segment)."""
        return self.num_workers * self.num_envs * self.num_steps


@struct.dataclass
class State:
    """A3C train state (a pytree)."""

    params: dict  # the shared parameters
    opt_state: optax.OptState  # the shared optimiser statistics (shared RMSProp)
    worker_params: dict  # [W, ...] each worker's copy, read when its segment started
    worker_version: jax.Array  # [W] shared-update count at each worker's read
    version: jax.Array  # shared updates applied so far
    env_state: object  # [W, num_envs]
    obs: jax.Array  # [W, num_envs, *obs_shape]
    key: jax.Array
    step: counter.Count  # rounds done (wide: exact past 2^31)


def _index(tree, w):
    return jax.tree.map(lambda x: x[w], tree)


def _set(tree, w, value):
    return jax.tree.map(lambda x, v: x.at[w].set(v), tree, value)


def make(env, env_params, config: Config = Config()) -> Agent:
    """Build A3C for `env` (from `purerl.make_env`). Raises ValueError on bad input."""
    if not isinstance(config, Config):
        raise ValueError(f"a3c.make expects an a3c.Config, got {type(config).__name__}")
    W, B = config.num_workers, config.num_envs
    net, _ = a2c.build(env, env_params, config)
    tx = a2c.make_optimizer(config, config.num_updates * W)  # one optimiser step per tick

    def init(key) -> State:
        params, env_state, obs, k_state = onpolicy.init_net_and_envs(
            key, net, env, env_params, W * B
        )
        split = lambda x: x.reshape((W, B) + x.shape[1:])
        return State(
            params=params,
            opt_state=tx.init(params),
            worker_params=jax.tree.map(lambda p: jnp.broadcast_to(p, (W,) + p.shape), params),
            worker_version=jnp.zeros(W, jnp.int32),
            version=jnp.zeros((), jnp.int32),
            env_state=jax.tree.map(split, env_state),
            obs=split(obs),
            key=k_state,
            step=counter.zero(),
        )

    def tick(state: State, w):
        """Worker w finishes its segment: gradient at its copy, applied to the shared params."""
        key, k_seg = jax.random.split(state.key)
        local = _index(state.worker_params, w)
        grads, env_state_w, obs_w, metrics = a2c.segment_gradients(
            k_seg,
            net,
            local,
            env,
            env_params,
            _index(state.env_state, w),
            state.obs[w],
            config,
        )
        upd, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, upd)
        staleness = state.version - state.worker_version[w]
        lag = optax.tree.norm(jax.tree.map(jnp.subtract, state.params, local))
        version = state.version + 1
        state = state.replace(
            params=params,
            opt_state=opt_state,
            worker_params=_set(state.worker_params, w, params),  # re-read for the next segment
            worker_version=state.worker_version.at[w].set(version),
            version=version,
            env_state=_set(state.env_state, w, env_state_w),
            obs=state.obs.at[w].set(obs_w),
            key=key,
        )
        metrics["staleness"] = staleness.astype(jnp.float32)
        metrics["param_lag"] = lag
        return state, metrics

    def update(state: State):
        state, m = jax.lax.scan(tick, state, jnp.arange(W))
        metrics = jax.tree.map(jnp.mean, m)
        metrics["staleness_max"] = jnp.max(m["staleness"])
        if "episodes" in m:
            ended = m["episodes"]
            for k in ("episode_return", "episode_length"):
                # mean over the episodes that ended this round (weighted by worker)
                metrics[k] = jnp.where(
                    ended.sum() > 0,
                    (m[k] * ended).sum() / jnp.maximum(ended.sum(), 1.0),
                    jnp.mean(m[k]),
                )
            metrics["episodes"] = ended.sum()
        metrics["env_steps"] = counter.to_float(state.step + 1, config.batch_size)
        return state.replace(step=state.step + 1), metrics

    def act(state: State, obs, key):
        return net.apply(state.params, obs, method="policy").mode()

    return Agent(init, update, act, config.num_updates, env, env_params, config)
