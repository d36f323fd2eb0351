"""`navix/<id>`: a NAVIX env (`navix.make(id, **kwargs)`, e.g. `navix/Navix-Empty-8x8-v0`;
`max_steps=` is its time limit, 100 by default; `observation_fn=` picks the observation).

Observations as the env's observation function gives them (e.g. a symbolic `[H, W, 3]`
uint8 grid); actions `Discrete` over the env's actions. The episode ends as NAVIX says:
its `TERMINATION` step type is `terminated`, `TRUNCATION` (`max_steps`) is `truncated`.
The adapter steps NAVIX's transition (`env._step`) and resets through gymnax's auto-reset
(NAVIX's own `step` resets lazily one step late, which would hide the final observation).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from purerl.envs.suites.base import SuiteEnv, box, require


def _space(s):
    low, high = np.asarray(s.minimum), np.asarray(s.maximum)
    if not s.shape and jnp.issubdtype(s.dtype, jnp.integer):
        return spaces.Discrete(int(high) - int(low) + 1)
    return box(s.shape, low, high, s.dtype)


class NavixEnv(SuiteEnv):
    suite = "navix"

    def __init__(self, env, env_name: str):
        super().__init__(env_name, int(env.max_steps))
        self.env = env
        if int(np.asarray(env.action_space.minimum)) != 0:
            raise ValueError(f"navix/{env_name}: actions must start at 0")

    def _reset(self, key):
        ts = self.env.reset(key)
        return ts.observation, ts

    def _step(self, key, inner, action):
        ts = self.env._step(inner, jnp.asarray(action, jnp.int32))
        term = ts.step_type == 2  # StepType.TERMINATION
        trunc = ts.step_type == 1  # StepType.TRUNCATION
        return ts.observation, ts, ts.reward, term, trunc, {}

    def action_space(self, params=None):
        return _space(self.env.action_space)

    def observation_space(self, params=None):
        return _space(self.env.observation_space)


def make(name: str, **kwargs):
    nx = require("navix", "navix")
    if name not in nx.registry():
        raise ValueError(f"Unknown navix env {name!r}; navix has: {', '.join(nx.registry())}")
    env = NavixEnv(nx.make(name, **kwargs), name)
    return env, env.default_params
