"""The one rollout every on- and off-policy algorithm uses.

A `lax.scan` over time of a `vmap`ped environment step, producing time-major
`Transition`s `[T, B, ...]` that carry `terminated`, `truncated` and the true next
observation (`info["final_observation"]` where an episode ended, never the reset one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from purerl.types import Metrics, PRNGKey, Transition

# policy(obs [B, ...], key) -> (action [B, ...], extras: dict of [B, ...])
Policy = Callable[[Any, PRNGKey], tuple[Any, dict[str, jax.Array]]]
# env_keys(key, num_envs) -> [num_envs] keys, one per env of a step (default jax.random.split)
EnvKeys = Callable[[PRNGKey, int], jax.Array]

_INFO_KEYS = (
    "episode_done",
    "episode_return",
    "episode_length",
    "episode_any",
    "running_return",
)


def reset_envs(key: PRNGKey, env, env_params, num_envs: int):
    """Reset `num_envs` environments: returns `(obs [B, ...], env_state [B, ...])`."""
    keys = jax.random.split(key, num_envs)
    return jax.vmap(env.reset, in_axes=(0, None))(keys, env_params)


def step_envs(key: PRNGKey, env, env_params, env_state, action, env_keys: EnvKeys | None = None):
    """Step a batch of environments (auto-reset), one key per env: `env_keys(key, B)`
    (default `jax.random.split(key, B)`)."""
    num_envs = jax.tree.leaves(env_state)[0].shape[0]
    keys = (env_keys or jax.random.split)(key, num_envs)
    return jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, env_state, action, env_params)


def env_step(
    key: PRNGKey, env, env_params, policy: Policy, env_state, obs, env_keys: EnvKeys | None = None
):
    """One batched step: act with `policy`, step the envs (`step_envs`, with `env_keys`),
    return the new carry and a `Transition` `[B, ...]`."""
    k_act, k_env = jax.random.split(key)
    action, extras = policy(obs, k_act)
    next_obs, env_state, reward, term, trunc, info = step_envs(
        k_env, env, env_params, env_state, action, env_keys
    )
    tr = Transition(
        obs=obs,
        action=action,
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.asarray(term, bool),
        truncated=jnp.asarray(trunc, bool),
        next_obs=info["final_observation"],
        extras=extras,
        info={k: info[k] for k in _INFO_KEYS if k in info},
    )
    return env_state, next_obs, tr


def rollout(
    key: PRNGKey,
    env,
    env_params,
    policy: Policy,
    env_state,
    obs,
    num_steps: int,
    env_keys: EnvKeys | None = None,
):
    """Run `num_steps` batched env steps with `policy`; the key is consumed.

    Args:
      key: PRNG key.
      env, env_params: a (wrapped) gymnax env and its params.
      policy: `(obs [B, ...], key) -> (action [B, ...], extras)`, a batched policy.
      env_state, obs: the current batched env state and observation `[B, ...]`.
      num_steps: T, a Python int.
      env_keys: optional `env_keys(key, B) -> [B] keys`, how each step's env key is split
        into one key per env (default `jax.random.split`); data-parallel PPO
        (`purerl.algos.ppo_parallel`) takes its device's share of all envs' keys.

    Returns:
      `(env_state, obs, transitions)` with transitions time-major `[T, B, ...]`.
    """

    def step(carry, k):
        env_state, obs = carry
        env_state, obs, tr = env_step(k, env, env_params, policy, env_state, obs, env_keys)
        return (env_state, obs), tr

    keys = jax.random.split(key, num_steps)
    (env_state, obs), traj = jax.lax.scan(step, (env_state, obs), keys)
    return env_state, obs, traj


def episode_metrics(info: dict[str, jax.Array]) -> Metrics:
    """`episode_return` / `episode_length`: mean over episodes that ended in this batch of
    steps (`info` leaves `[T, B]`); where none ended, the mean of each env's last completed
    episode (carried forward in the env state); before any episode has ended, the mean
    return of the episodes in progress.
    """
    if "episode_done" not in info:
        return {}
    done = info["episode_done"].astype(jnp.float32)
    n = done.sum()
    ended_ret = (done * info["episode_return"]).sum() / jnp.maximum(n, 1.0)
    ended_len = (done * info["episode_length"]).sum() / jnp.maximum(n, 1.0)
    last_any = info["episode_any"][-1].astype(jnp.float32)
    m = last_any.sum()
    carried_ret = (last_any * info["episode_return"][-1]).sum() / jnp.maximum(m, 1.0)
    carried_len = (last_any * info["episode_length"][-1]).sum() / jnp.maximum(m, 1.0)
    running = info["running_return"][-1].mean() if "running_return" in info else 0.0
    ret = jnp.where(n > 0, ended_ret, jnp.where(m > 0, carried_ret, running))
    length = jnp.where(n > 0, ended_len, jnp.where(m > 0, carried_len, 0.0))
    return {
        "episode_return": ret,
        "episode_length": length.astype(jnp.float32),
        "episodes": n,
    }
