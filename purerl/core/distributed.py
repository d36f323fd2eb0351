"""Scale out: many runs over many devices, one run over many devices, many hosts.

* `train_many(agent_fn, keys, hparams, mesh)`: a batch of seeds (crossed or zipped with a
  batch of hyper-parameter values) trained in one compiled program, `jit(vmap(train))`,
  with the batch axis sharded over a `jax.sharding.Mesh` (`NamedSharding`). The batch is
  padded to a multiple of the device count and the padding dropped. Without a mesh, all
  devices are used when there are several (on CPU: see `use_all_cores`).
* `ppo_data_parallel(env, env_params, config, mesh)`: one PPO run whose envs are split
  across the devices of a mesh; `jax.shard_map` runs the update on each device's envs and
  averages the gradients with `jax.lax.pmean`. A drop-in `Agent` for `purerl.train`.
* `use_all_cores()`: one XLA host device per CPU core (call before JAX first runs).
* `initialize(coordinator_address, num_processes, process_id)`: `jax.distributed` for
  multi-host runs (arguments, or JAX's own environment variables).

On CPU one JAX process keeps about one core busy stepping small envs; forcing one host
device per core and sharding the seed axis over them puts every core to work.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from purerl.core.rollout import _INFO_KEYS, episode_metrics
from purerl.core.train import _jit_cache, _train_impl
from purerl.types import Agent, Transition

# ------------------------------------------------------------------------ devices


def use_all_cores(num_devices: int | None = None) -> int:
    """Make XLA's CPU backend expose `num_devices` host devices (default: one per core
    this process may run on), so that `train_many` shards seeds across every core.

    Call it right after the imports, before any computation:

        import purerl
        from purerl.core.distributed import use_all_cores
        use_all_cores()

    Importing gymnax (hence purerl) already starts JAX's backend (gymnax builds a constant
    array at import); this restarts it with the new device count, so arrays created before
    the call belong to the old backend and must not be mixed with new ones. From the shell
    the same is `XLA_FLAGS=--xla_force_host_platform_device_count=N`. Returns the number of
    CPU devices.
    """
    from jax._src import xla_bridge

    if num_devices is None:
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        num_devices = len(cores) if cores else (os.cpu_count() or 1)
    n = int(num_devices)
    if xla_bridge.backends_are_initialized():
        if jax.local_device_count("cpu") == n:
            return n
        if jax.process_count() > 1:
            raise RuntimeError("use_all_cores: call it before jax.distributed.initialize")
        jax.extend.backend.clear_backends()
        jax.clear_caches()
    jax.config.update("jax_num_cpu_devices", n)
    return jax.local_device_count("cpu")


def batch_mesh(devices=None, axis: str = "batch") -> Mesh:
    """A 1-D mesh over `devices` (default: all devices, every process)."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), (axis,))


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> bool:
    """`jax.distributed.initialize` for a multi-host run, when one is asked for.

    Asked for by the arguments, or JAX's environment variables (`JAX_COORDINATOR_ADDRESS`,
    `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`; cluster schedulers such as SLURM are detected by
    JAX itself when the address is given). Returns whether it initialised.
    """
    env = os.environ
    coordinator_address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = int(env["JAX_NUM_PROCESSES"])
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = int(env["JAX_PROCESS_ID"])
    if coordinator_address is None:
        if num_processes not in (None, 1):
            raise ValueError("initialize: num_processes > 1 needs a coordinator address")
        return False
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        # Importing gymnax creates an array (frozen_lake's `_DIRECTIONS`), which starts the
        # single-process backend; nothing else has run yet, so start it again distributed.
        jax.extend.backend.clear_backends()
        jax.clear_caches()
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
    )
    return True


def gather(tree):
    """Fetch a (possibly multi-host) sharded pytree to every process as numpy arrays."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    def one(x):
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(x), tiled=True)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
        return multihost_utils.process_allgather(x, tiled=True)

    return jax.tree.map(one, tree)


# ---------------------------------------------------------------------- train_many


def _global(x: np.ndarray, sharding) -> jax.Array:
    """A global array with `sharding` from the same host value on every process."""
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def train_many(
    agent_fn: Callable[[Any], Agent] | Agent,
    keys: jax.Array,
    hparams: Any = None,
    mesh: Mesh | None = None,
    combine: str = "cross",
    *,
    num_updates: int | None = None,
    stop_on_nonfinite: bool = False,
):
    """Train a batch of runs in one compiled program, sharded over the devices of `mesh`.

    Args:
      agent_fn: `agent_fn(h) -> Agent` for one slice `h` of `hparams` (its leaves traced
        scalars/arrays, e.g. `lambda h: ppo.make(env, p, replace(cfg, learning_rate=h))`);
        or an `Agent` when `hparams` is None. Sizes that fix array shapes (and the
        number of updates) must not depend on `h`.
      keys: `[S]` PRNG keys, one per seed (`jax.random.split(key, S)`).
      hparams: None, or a pytree whose leaves share a leading axis `[H]`.
      mesh: devices to shard the batch over (every mesh axis). None: all devices when
        there are several (on CPU, see `use_all_cores`; on one host at most one per
        run), else no sharding.
      combine: "cross": every seed with every setting, results `[H, S, ...]`;
        "zip": seed `i` with setting `i` (`H == S`), results `[S, ...]`.
      num_updates, stop_on_nonfinite: as in `purerl.train`.

    Returns:
      `(states, metrics)` stacked over the batch (leading `[S]`, `[H, S]` or `[S]`). With
      several processes the arrays are global; `gather` fetches them to every host.
    """
    if combine not in ("cross", "zip"):
        raise ValueError(f"train_many: combine must be 'cross' or 'zip', got {combine!r}")
    if hparams is None and not isinstance(agent_fn, Agent):
        raise ValueError("train_many: without hparams, pass an Agent (not a factory)")
    if hparams is not None and isinstance(agent_fn, Agent):
        raise ValueError("train_many: with hparams, pass a factory `agent_fn(h) -> Agent`")
    typed = jnp.issubdtype(keys.dtype, jax.dtypes.prng_key)
    raw = np.asarray(jax.random.key_data(keys) if typed else keys)
    S = raw.shape[0]
    if hparams is None:
        H, seed_idx, hp_idx = 1, np.arange(S), None
    else:
        hp_leaves = jax.tree.leaves(hparams)
        if not hp_leaves:
            raise ValueError("train_many: hparams has no leaves")
        H = int(np.shape(hp_leaves[0])[0])
        if any(np.shape(x)[:1] != (H,) for x in hp_leaves):
            raise ValueError("train_many: every hparams leaf needs the same leading axis [H]")
        if combine == "zip":
            if H != S:
                raise ValueError(
                    f"train_many: combine='zip' needs as many settings ({H}) as keys ({S})"
                )
            seed_idx, hp_idx = np.arange(S), np.arange(S)
        else:
            seed_idx, hp_idx = np.tile(np.arange(S), H), np.repeat(np.arange(H), S)
    B = len(seed_idx)
    if mesh is None and jax.device_count() > 1:
        # one host: no more devices than runs (a single run is not split); several hosts:
        # every device, so that each process takes part
        many = jax.process_count() > 1
        devices = jax.devices() if many else jax.devices()[: max(B, 1)]
        mesh = batch_mesh(devices) if len(devices) > 1 else None
    D = 1 if mesh is None else mesh.size
    pad = (-B) % D
    # Padding repeats the last run; its results are dropped inside the program.
    seed_idx = np.concatenate([seed_idx, np.full(pad, seed_idx[-1])])
    inputs = {"key": raw[seed_idx]}
    if hp_idx is not None:
        hp_idx = np.concatenate([hp_idx, np.full(pad, hp_idx[-1])])
        inputs["hp"] = jax.tree.map(lambda x: np.asarray(x)[hp_idx], hparams)
    sharding = None
    if mesh is not None:
        sharding = NamedSharding(mesh, P(tuple(mesh.axis_names)))
        inputs = jax.tree.map(lambda x: _global(x, sharding), inputs)

    owner = agent_fn.update if isinstance(agent_fn, Agent) else agent_fn
    statics = ("train_many", mesh, combine, num_updates, stop_on_nonfinite, typed, B, S, H)
    cache = _jit_cache(owner)
    fn = cache.get(statics)
    if fn is None:

        def one(inp):
            key = jax.random.wrap_key_data(inp["key"]) if typed else inp["key"]
            agent = agent_fn if hparams is None else agent_fn(inp["hp"])
            n = agent.num_updates if num_updates is None else num_updates
            return _train_impl(agent, key, None, n, stop_on_nonfinite, None, 1)

        def many(inp):
            out = jax.vmap(one)(inp)
            if sharding is not None:
                out = jax.lax.with_sharding_constraint(out, sharding)
            if pad:  # (XLA may gather the result to every device)
                out = jax.tree.map(lambda x: x[:B], out)
            if hparams is not None and combine == "cross":
                out = jax.tree.map(lambda x: x.reshape((H, S) + x.shape[1:]), out)
            return out

        fn = jax.jit(many)
        cache[statics] = fn
    return fn(inputs)


# --------------------------------------------------------------- data-parallel PPO


def ppo_data_parallel(env, env_params, config, mesh: Mesh | None = None) -> Agent:
    """PPO (`purerl.algos.ppo`) with its `num_envs` envs split across the devices of `mesh`.

    Inside `jax.shard_map` each device steps its `num_envs / D` envs, computes their GAE,
    and takes the same optimiser steps as every other device: minibatch gradients (of
    `ppo.loss_fn`) are averaged with `jax.lax.pmean`, and advantages are normalised with
    statistics over the whole minibatch, so the parameters stay replicated. Each
    minibatch holds an equal share of every device's batch (a stratified split);
    with `num_minibatches = 1` an update is the single-device update exactly (up to float
    summation order): the env keys and the action samples are those of the single-device
    run (the rollout's policy forward sees all envs' observations, gathered, so that the
    action noise matches; env steps, GAE and all of learning are split).

    The train state is PPO's (`ppo.State`), env state and observations sharded over the
    mesh; the returned `Agent` works with `purerl.train` and `purerl.evaluate`.
    Raises ValueError when the device count does not divide `num_envs`.
    """
    from purerl.algos import ppo

    mesh = batch_mesh() if mesh is None else mesh
    axes = tuple(mesh.axis_names)
    D = mesh.size
    B, T = config.num_envs, config.num_steps
    if B % D:
        raise ValueError(f"ppo_data_parallel: num_envs = {B} is not divisible by {D} devices")
    b = B // D
    if (b * T) % config.num_minibatches:
        raise ValueError(
            f"ppo_data_parallel: each device's batch {b} x {T} is not divisible by "
            f"num_minibatches = {config.num_minibatches}"
        )
    base = ppo.make(env, env_params, config)
    net, tx = ppo.build(env, env_params, config)
    local_cfg = dataclasses.replace(config, normalize_advantages=False)
    pmean = lambda x: jax.lax.pmean(x, axes)

    def gathered(x, axis=0):  # all devices' slices of a [.., B, ..] array, in env order
        return jax.lax.all_gather(x, axes, axis=axis, tiled=True)

    def local_slice(x):  # this device's envs of a [B, ...] array
        return jax.lax.dynamic_slice_in_dim(x, jax.lax.axis_index(axes) * b, b)

    def rollout(key, params, env_state, obs):
        """`onpolicy.collect` over the local envs with the single-device run's randomness."""

        def step(carry, k):
            env_state, obs = carry
            k_act, k_env = jax.random.split(k)
            dist, value = net.apply(params, gathered(obs))
            action_all = dist.sample(seed=k_act)
            action = local_slice(action_all)
            log_prob, value = local_slice(dist.log_prob(action_all)), local_slice(value)
            keys = local_slice(jax.random.split(k_env, B))
            next_obs, env_state, reward, term, trunc, info = jax.vmap(
                env.step, in_axes=(0, 0, 0, None)
            )(keys, env_state, action, env_params)
            tr = Transition(
                obs=obs,
                action=action,
                reward=jnp.asarray(reward, jnp.float32),
                terminated=jnp.asarray(term, bool),
                truncated=jnp.asarray(trunc, bool),
                next_obs=info["final_observation"],
                extras={"log_prob": log_prob, "value": value},
                info={k: info[k] for k in _INFO_KEYS if k in info},
            )
            return (env_state, next_obs), tr

        (env_state, obs), traj = jax.lax.scan(step, (env_state, obs), jax.random.split(key, T))
        v_tp1 = net.apply(params, traj.next_obs, method="value")
        return env_state, obs, traj, v_tp1

    def normalize(x):  # over the whole (all devices') minibatch
        mean = pmean(jnp.mean(x))
        var = pmean(jnp.mean(jnp.square(x - mean)))
        return (x - mean) / (jnp.sqrt(var) + 1e-8)

    def local_update(state):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        env_state, obs, traj, v_tp1 = rollout(k_roll, state.params, state.env_state, state.obs)
        params, opt_state, kl_coef, metrics = ppo.learn(
            k_learn,
            net,
            tx,
            local_cfg,
            state.params,
            state.opt_state,
            state.kl_coef,
            traj,
            v_tp1,
            reduce=pmean,
            normalize_advantage=normalize if config.normalize_advantages else None,
        )
        metrics["env_steps"] = (state.step + 1) * (T * B)
        metrics.update(episode_metrics(jax.tree.map(lambda x: gathered(x, 1), traj.info)))
        new_state = ppo.State(
            params=params,
            opt_state=opt_state,
            env_state=env_state,
            obs=obs,
            key=key,
            step=state.step + 1,
            kl_coef=kl_coef,
        )
        return new_state, metrics

    state_spec = ppo.State(
        params=P(),
        opt_state=P(),
        env_state=P(axes),
        obs=P(axes),
        key=P(),
        step=P(),
        kl_coef=P(),
    )
    update = jax.shard_map(
        local_update,
        mesh=mesh,
        in_specs=(state_spec,),
        out_specs=(state_spec, P()),
        check_vma=False,
    )

    def init(key):
        state = base.init(key)
        env_sharded = NamedSharding(mesh, P(axes))
        return state.replace(
            env_state=jax.lax.with_sharding_constraint(state.env_state, env_sharded),
            obs=jax.lax.with_sharding_constraint(state.obs, env_sharded),
        )

    return Agent(init, update, base.act, config.num_updates, env, env_params, config)
