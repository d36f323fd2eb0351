"""Partial observability: the velocity-masked POMDPs of classic control.

`MaskVelocity(env, keep)` shows the agent only the observation entries `keep` (the
positions) and drops the rest (the velocities), in `obs` and in `info["final_observation"]`
alike. The state is unchanged, so the task is the same but a memoryless policy cannot tell
which way the system is moving: it takes a recurrent policy (or frame stacking) to recover
the velocities from successive positions. This is the POMDP of rl-zoo's
`MaskVelocityWrapper` (used in the recurrent-PPO benchmarks of sb3-contrib), with the
masked entries removed rather than zeroed.

`make_env(env_id, observe="position")` applies it with the indices of `POSITIONS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
from gymnax.environments import spaces

from purerl.envs.wrappers import Wrapper

# env id -> indices of the position entries of its observation
POSITIONS: dict[str, tuple[int, ...]] = {
    "CartPole-v1": (0, 2),  # x, theta (drops x_dot, theta_dot)
    "Pendulum-v1": (0, 1),  # cos theta, sin theta (drops theta_dot)
    "Acrobot-v1": (0, 1, 2, 3),  # cos/sin of both joint angles (drops both angular velocities)
    "MountainCar-v0": (0,),  # position (drops velocity)
    "MountainCarContinuous-v0": (0,),
}


class MaskVelocity(Wrapper):
    """Observe only the entries `keep` of a flat observation (`obs[..., keep]`)."""

    def __init__(self, env, keep: Sequence[int]):
        super().__init__(env)
        keep = tuple(int(i) for i in keep)
        if not keep or len(set(keep)) != len(keep):
            raise ValueError(f"MaskVelocity: keep must be distinct indices, got {keep!r}")
        self.keep = keep

    def _mask(self, obs):
        return jnp.asarray(obs)[..., jnp.asarray(self.keep)]

    def observation_space(self, params=None):
        inner = self._env.observation_space(params)
        low = jnp.broadcast_to(jnp.asarray(inner.low), inner.shape)
        high = jnp.broadcast_to(jnp.asarray(inner.high), inner.shape)
        return spaces.Box(self._mask(low), self._mask(high), (len(self.keep),), inner.dtype)

    def reset(self, key, params=None):
        obs, state = self._env.reset(key, params)
        return self._mask(obs), state

    def step(self, key, state, action, params=None):
        obs, state, reward, term, trunc, info = self._env.step(key, state, action, params)
        info = {**info, "final_observation": self._mask(info["final_observation"])}
        return self._mask(obs), state, reward, term, trunc, info


def observe_wrapper(env, env_id, env_params, observe):
    """`env` as `make_env`'s `observe` asks: "full" (unchanged), "position" (the
    `POSITIONS` of `env_id`), or a sequence of observation indices to keep."""
    if isinstance(observe, str) and observe == "full":
        return env
    if isinstance(observe, str) and observe == "position":
        if not isinstance(env_id, str) or env_id not in POSITIONS:
            raise ValueError(
                f"make_env: observe='position' knows the position entries of "
                f"{sorted(POSITIONS)}; for {env_id!r} pass observe=<indices to keep>"
            )
        return MaskVelocity(env, POSITIONS[env_id])
    if isinstance(observe, str) or not isinstance(observe, Sequence):
        raise ValueError(
            f"make_env: observe must be 'full', 'position' or a sequence of observation "
            f"indices, got {observe!r}"
        )
    n = env.observation_space(env_params).shape
    if len(n) != 1 or not all(isinstance(i, int) and 0 <= i < n[0] for i in observe):
        raise ValueError(
            f"make_env: observe indices {tuple(observe)!r} must index a flat observation "
            f"of shape {tuple(n)}"
        )
    return MaskVelocity(env, observe)


__all__ = ["POSITIONS", "MaskVelocity", "observe_wrapper"]
