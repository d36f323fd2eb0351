"""Thin, one-level wrappers over gymnax environments.

Every wrapper keeps gymnax 1.x's step signature,
`step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)`,
with auto-reset and `info["final_observation"]` holding the true last observation (each
wrapper transforms it exactly as it transforms `obs`). Wrapper state is a pytree, so
statistics (episode returns, running means) live in the env state: pure and vmappable.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import spaces


class Wrapper:
    """Base wrapper: forwards everything it does not override to the wrapped env."""

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        return getattr(self._env, name)

    @property
    def unwrapped(self):
        env = self._env
        while isinstance(env, Wrapper):
            env = env._env
        return env

    def reset(self, key, params=None):
        return self._env.reset(key, params)

    def step(self, key, state, action, params=None):
        return self._env.step(key, state, action, params)


# --------------------------------------------------------------------------- actions
class RescaleAction(Wrapper):
    """The agent acts in [-1, 1]^d; actions are clipped there and mapped to [low, high]."""

    def action_space(self, params=None):
        inner = self._env.action_space(params)
        return spaces.Box(-1.0, 1.0, inner.shape, jnp.float32)

    def step(self, key, state, action, params=None):
        space = self._env.action_space(params)
        low = jnp.asarray(space.low, jnp.float32)
        high = jnp.asarray(space.high, jnp.float32)
        a = jnp.clip(jnp.asarray(action, jnp.float32), -1.0, 1.0)
        a = low + (a + 1.0) * 0.5 * (high - low)
        return self._env.step(key, state, a, params)


# ---------------------------------------------------------------------- episode stats
@struct.dataclass
class EpisodeStatsState:
    env_state: Any
    episode_return: jax.Array  # running return of the current episode
    episode_length: jax.Array
    last_return: jax.Array  # return of the last completed episode
    last_length: jax.Array
    has_ended: jax.Array  # bool: at least one episode completed


class EpisodeStatistics(Wrapper):
    """Tracks undiscounted episode returns and lengths of the *raw* rewards.

    Adds to `info`: `episode_done` (an episode ended at this step), `episode_return`,
    `episode_length` (those of the episode that ended here, else of the last completed one),
    and `episode_any` (some episode has completed in this env).
    """

    def reset(self, key, params=None):
        obs, env_state = self._env.reset(key, params)
        z = jnp.zeros((), jnp.float32)
        zi = jnp.zeros((), jnp.int32)
        return obs, EpisodeStatsState(env_state, z, zi, z, zi, jnp.zeros((), bool))

    def step(self, key, state, action, params=None):
        obs, env_state, reward, term, trunc, info = self._env.step(
            key, state.env_state, action, params
        )
        done = jnp.logical_or(term, trunc)
        ret = state.episode_return + reward.astype(jnp.float32)
        length = state.episode_length + 1
        last_ret = jnp.where(done, ret, state.last_return)
        last_len = jnp.where(done, length, state.last_length)
        new = EpisodeStatsState(
            env_state,
            jnp.where(done, 0.0, ret),
            jnp.where(done, 0, length),
            last_ret,
            last_len,
            jnp.logical_or(state.has_ended, done),
        )
        info = {
            **info,
            "episode_done": done,
            "episode_return": last_ret,
            "episode_length": last_len,
            "episode_any": new.has_ended,
            "running_return": ret,
        }
        return obs, new, reward, term, trunc, info


# ------------------------------------------------------------------ normalisation
@struct.dataclass
class NormalizeObsState:
    env_state: Any
    mean: Any
    var: Any
    count: jax.Array
    frozen: jax.Array  # bool: stop updating the statistics (evaluation)


def _welford(mean, var, count, x):
    """Merge one sample x into running (mean, var, count) (Chan et al. parallel update)."""
    count1 = count + 1.0
    delta = x - mean
    new_mean = mean + delta / count1
    m2 = var * count + delta * (x - new_mean)
    return new_mean, m2 / count1, count1


class NormalizeObservation(Wrapper):
    """Observations normalised by a running mean and std, kept in the env state.

    obs_norm = clip((obs - mean) / sqrt(var + eps), -clip, clip). The statistics update on
    every step (and reset) unless `state.frozen`. `purerl.evaluate` copies the trained
    statistics into fresh evaluation envs and freezes them (`inherit_statistics`).
    """

    def __init__(self, env, clip: float = 10.0, eps: float = 1e-8):
        super().__init__(env)
        self.clip = clip
        self.eps = eps

    def _norm(self, state, obs):
        return jnp.clip((obs - state.mean) / jnp.sqrt(state.var + self.eps), -self.clip, self.clip)

    def _update(self, state, obs):
        mean, var, count = _welford(state.mean, state.var, state.count, obs)
        keep = state.frozen
        return state.replace(
            mean=jnp.where(keep, state.mean, mean),
            var=jnp.where(keep, state.var, var),
            count=jnp.where(keep, state.count, count),
        )

    def reset(self, key, params=None):
        obs, env_state = self._env.reset(key, params)
        obs = jnp.asarray(obs, jnp.float32)
        state = NormalizeObsState(
            env_state,
            jnp.zeros_like(obs),
            jnp.ones_like(obs),
            jnp.zeros((), jnp.float32),
            jnp.zeros((), bool),
        )
        state = self._update(state, obs)
        return self._norm(state, obs), state

    def step(self, key, state, action, params=None):
        obs, env_state, reward, term, trunc, info = self._env.step(
            key, state.env_state, action, params
        )
        obs = jnp.asarray(obs, jnp.float32)
        state = self._update(state.replace(env_state=env_state), obs)
        final = jnp.asarray(info["final_observation"], jnp.float32)
        info = {**info, "final_observation": self._norm(state, final)}
        return self._norm(state, obs), state, reward, term, trunc, info


@struct.dataclass
class NormalizeRewardState:
    env_state: Any
    discounted_return: jax.Array
    mean: jax.Array
    var: jax.Array
    count: jax.Array


class NormalizeReward(Wrapper):
    """Rewards scaled by the running std of the discounted return (as in SB3's VecNormalize).

    Only the learning signal is scaled; `EpisodeStatistics` (inside this wrapper) still
    reports raw returns.
    """

    def __init__(self, env, gamma: float = 0.99, clip: float = 10.0, eps: float = 1e-8):
        super().__init__(env)
        self.gamma = gamma
        self.clip = clip
        self.eps = eps

    def reset(self, key, params=None):
        obs, env_state = self._env.reset(key, params)
        z = jnp.zeros((), jnp.float32)
        return obs, NormalizeRewardState(env_state, z, z, jnp.ones((), jnp.float32), z)

    def step(self, key, state, action, params=None):
        obs, env_state, reward, term, trunc, info = self._env.step(
            key, state.env_state, action, params
        )
        ret = state.discounted_return * self.gamma + reward
        mean, var, count = _welford(state.mean, state.var, state.count, ret)
        done = jnp.logical_or(term, trunc)
        new = NormalizeRewardState(env_state, jnp.where(done, 0.0, ret), mean, var, count)
        scaled = jnp.clip(reward / jnp.sqrt(var + self.eps), -self.clip, self.clip)
        return obs, new, scaled, term, trunc, info


def inherit_statistics(fresh_state, trained_state, freeze: bool = True):
    """Copy normalisation statistics from trained env states into fresh ones.

    `freeze=True` (what `purerl.evaluate` uses): `trained_state` may carry a leading batch
    axis `[B, ...]` (the training envs); the statistics are averaged over it and frozen, so
    evaluation envs see observations normalised as in training. (Averaging matters: on
    Pendulum PPO, averaged statistics evaluated at -258, one env's own at -802.)
    `freeze=False` with equal batch shapes copies them env by env and keeps them learning
    (REINFORCE resets its envs every update and keeps its statistics this way).
    """
    if isinstance(fresh_state, NormalizeObsState):
        t = trained_state
        if t.count.shape == fresh_state.count.shape and not freeze:
            same = lambda x: x
        else:
            same = (lambda x: jnp.mean(x, axis=0)) if t.count.ndim > 0 else (lambda x: x)
        inner = inherit_statistics(fresh_state.env_state, t.env_state, freeze)
        frozen = jnp.ones_like(fresh_state.frozen) if freeze else fresh_state.frozen
        return fresh_state.replace(
            env_state=inner,
            mean=jnp.broadcast_to(same(t.mean), fresh_state.mean.shape),
            var=jnp.broadcast_to(same(t.var), fresh_state.var.shape),
            count=jnp.broadcast_to(same(t.count), fresh_state.count.shape),
            frozen=frozen,
        )
    if hasattr(fresh_state, "env_state") and hasattr(trained_state, "env_state"):
        return fresh_state.replace(
            env_state=inherit_statistics(fresh_state.env_state, trained_state.env_state, freeze)
        )
    return fresh_state
