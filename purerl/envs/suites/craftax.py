"""`craftax/<id>`: a Craftax env (`craftax/Craftax-Classic-Symbolic-v1`,
`craftax/Craftax-Symbolic-v1`, the `-Pixels-v1` ones); keyword arguments replace fields of
its `EnvParams` (e.g. `max_timesteps=`).

Observations as Craftax gives them (symbolic: a flat float vector; pixels: `[H, W, 3]`);
actions `Discrete` (17 in Classic, 43 in Craftax). Craftax's own `done` (and its discount
0) joins death / lava with its time limit `max_timesteps`; its observation does not show the
time, so the adapter keeps them apart: `terminated` is Craftax's game-over test without the
time limit, `truncated` the time limit alone (`state.timestep >= max_timesteps`).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from purerl.envs.suites.base import SuiteEnv, box, require

NAMES = (
    "Craftax-Classic-Symbolic-v1",
    "Craftax-Classic-Pixels-v1",
    "Craftax-Symbolic-v1",
    "Craftax-Pixels-v1",
)


class CraftaxEnv(SuiteEnv):
    suite = "craftax"

    def __init__(self, env, cparams, env_name: str):
        super().__init__(env_name, int(cparams.max_timesteps))
        self.env = env
        self.cparams = cparams
        self._no_limit = cparams.replace(max_timesteps=np.iinfo(np.int32).max)

    def _reset(self, key):
        return self.env.reset_env(key, self.cparams)

    def _step(self, key, inner, action):
        obs, state, reward, _, _ = self.env.step_env(
            key, inner, jnp.asarray(action, jnp.int32), self.cparams
        )
        term = self.env.is_terminal(state, self._no_limit)
        trunc = state.timestep >= self.cparams.max_timesteps
        return obs, state, reward, term, trunc, {}

    def action_space(self, params=None):
        return spaces.Discrete(int(self.env.num_actions))

    def observation_space(self, params=None):
        s = self.env.observation_space(self.cparams)
        return box(s.shape, np.asarray(s.low), np.asarray(s.high), s.dtype)


def make(name: str, **kwargs):
    craftax_env = require("craftax.craftax_env", "craftax")
    if name not in NAMES:
        raise ValueError(f"Unknown craftax env {name!r}; craftax has: {', '.join(NAMES)}")
    env = craftax_env.make_craftax_env_from_name(name, auto_reset=False)
    cparams = env.default_params.replace(**kwargs)
    env = CraftaxEnv(env, cparams, name)
    return env, env.default_params
