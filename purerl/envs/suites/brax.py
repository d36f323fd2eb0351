"""`brax/<name>`: a brax env (`brax.envs.get_environment(name, **kwargs)`, e.g.
`brax/inverted_pendulum`, `brax/halfcheetah`; `backend=` picks the pipeline).

Observations `[observation_size]` float32; actions `Box(-1, 1, [action_size])` (brax's own
range). `terminated` is brax's `done`; the time limit `episode_length` (brax's default 1000,
as `brax.envs.create`) truncates with brax's `EpisodeWrapper` definition,
`truncation = (steps >= episode_length) * (1 - done)`. `action_repeat` is not supported.
"""

from __future__ import annotations

import jax.numpy as jnp

from purerl.envs.suites.base import SuiteEnv, box, require


class BraxEnv(SuiteEnv):
    suite = "brax"

    def __init__(self, env, env_name: str, episode_length: int):
        super().__init__(env_name, episode_length)
        self.env = env

    def _reset(self, key):
        s = self.env.reset(key)
        return s.obs, s

    def _step(self, key, inner, action):
        s = self.env.step(inner, jnp.asarray(action, jnp.float32))
        return s.obs, s, s.reward, s.done > 0.5, jnp.zeros((), bool), {}

    def action_space(self, params=None):
        return box((self.env.action_size,), -1.0, 1.0)

    def observation_space(self, params=None):
        return box((self.env.observation_size,))


def make(name: str, episode_length: int = 1000, **kwargs):
    envs = require("brax.envs", "brax")
    if name not in envs._envs:
        raise ValueError(f"Unknown brax env {name!r}; brax has: {', '.join(sorted(envs._envs))}")
    env = BraxEnv(envs.get_environment(name, **kwargs), name, episode_length)
    return env, env.default_params
