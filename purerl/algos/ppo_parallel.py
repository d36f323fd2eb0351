"""Data-parallel PPO: one PPO run whose envs are split across the devices of a mesh.

`make(env, env_params, config, mesh)` is a drop-in `Agent` for `purerl.train` and
`purerl.evaluate` with PPO's config and train state (`ppo.Config`, `ppo.State`). Inside
`jax.shard_map` each device steps its `num_envs / D` envs (with `purerl.core.rollout`),
computes their GAE, and takes the same optimiser steps as every other device: minibatch
gradients (of `ppo.loss_fn`) are averaged with `jax.lax.pmean`, and advantages are
normalised with statistics over the whole minibatch, so the parameters stay replicated.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from purerl.algos import ppo
from purerl.core import counter
from purerl.core.devices import batch_mesh
from purerl.core.rollout import episode_metrics, rollout
from purerl.types import Agent


def make(env, env_params, config: ppo.Config, mesh: Mesh | None = None) -> Agent:
    """PPO (`purerl.algos.ppo`) with its `num_envs` envs split across the devices of `mesh`
    (default: `batch_mesh()`, every device).

    Each minibatch holds an equal share of every device's batch (a stratified split);
    with `num_minibatches = 1` an update is the single-device update exactly (up to float
    summation order): the env keys and the action samples are those of the single-device
    run (the rollout's policy forward sees all envs' observations, gathered, so that the
    action noise matches; env steps, GAE and all of learning are split).

    The train state is PPO's (`ppo.State`), env state and observations sharded over the
    mesh. Raises ValueError when the device count does not divide `num_envs`.
    """
    if not isinstance(config, ppo.Config):
        raise ValueError(f"ppo_parallel.make expects a ppo.Config, got {type(config).__name__}")
    mesh = batch_mesh() if mesh is None else mesh
    axes = tuple(mesh.axis_names)
    D = mesh.size
    B, T = config.num_envs, config.num_steps
    if B % D:
        raise ValueError(f"ppo_parallel.make: num_envs = {B} is not divisible by {D} devices")
    b = B // D
    if (b * T) % config.num_minibatches:
        raise ValueError(
            f"ppo_parallel.make: each device's batch {b} x {T} is not divisible by "
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

    def collect(key, params, env_state, obs):
        """`onpolicy.collect` over the local envs with the single-device run's randomness:
        the policy samples every env's action and keeps this device's, and each step's
        env keys are this device's share of the single-device run's."""

        def policy(obs, k):
            dist, value = net.apply(params, gathered(obs))
            action_all = dist.sample(seed=k)
            action = local_slice(action_all)
            log_prob, value = local_slice(dist.log_prob(action_all)), local_slice(value)
            return action, {"log_prob": log_prob, "value": value}

        env_keys = lambda k, n: local_slice(jax.random.split(k, B))
        env_state, obs, traj = rollout(key, env, env_params, policy, env_state, obs, T, env_keys)
        v_tp1 = net.apply(params, traj.next_obs, method="value")
        return env_state, obs, traj, v_tp1

    def normalize(x):  # over the whole (all devices') minibatch
        mean = pmean(jnp.mean(x))
        var = pmean(jnp.mean(jnp.square(x - mean)))
        return (x - mean) / (jnp.sqrt(var) + 1e-8)

    def local_update(state):
        key, k_roll, k_learn = jax.random.split(state.key, 3)
        env_state, obs, traj, v_tp1 = collect(k_roll, state.params, state.env_state, state.obs)
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
        metrics["env_steps"] = counter.to_float(state.step + 1, T * B)
        metrics.update(episode_metrics(jax.tree.map(lambda x: gathered(x, 1), traj.info)))
        new_state = ppo.next_state(state, params, opt_state, kl_coef, env_state, obs, key)
        return new_state, metrics

    # every field replicated but the envs' state and observations, split over the mesh
    replicated = {f.name: P() for f in dataclasses.fields(ppo.State)}
    state_spec = ppo.State(**{**replicated, "env_state": P(axes), "obs": P(axes)})
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
