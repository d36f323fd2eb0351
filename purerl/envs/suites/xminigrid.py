"""`xminigrid/<id>`: an XLand-MiniGrid env (`xminigrid.make(id, **kwargs)`; the keyword
arguments are its env params, e.g. `max_steps=`), e.g. `xminigrid/MiniGrid-Empty-8x8`.

Observations are the suite's symbolic `[view, view, 2]` uint8 grid (the CNN torso's input);
actions `Discrete(6)`. The episode ends as xminigrid says: a `LAST` step with discount 0
is `terminated` (the goal reached), with discount 1 `truncated` (its `max_steps`). The
`XLand-MiniGrid-R*` ids need a ruleset from `xminigrid.load_benchmark`, which downloads:
purerl never downloads, so pass one you loaded yourself as `ruleset=`.
"""

from __future__ import annotations

import jax.numpy as jnp
from gymnax.environments import spaces

from purerl.envs.suites.base import SuiteEnv, box, require


class XMiniGridEnv(SuiteEnv):
    suite = "xminigrid"

    def __init__(self, env, xparams, env_name: str):
        super().__init__(env_name, int(xparams.max_steps))
        self.env = env
        self.xparams = xparams

    def _reset(self, key):
        ts = self.env.reset(self.xparams, key)
        return ts.observation, ts

    def _step(self, key, inner, action):
        ts = self.env.step(self.xparams, inner, jnp.asarray(action, jnp.int32))
        last = ts.step_type == 2  # StepType.LAST
        term = jnp.logical_and(last, ts.discount == 0)
        trunc = jnp.logical_and(last, ts.discount != 0)
        return ts.observation, ts, ts.reward, term, trunc, {}

    def action_space(self, params=None):
        return spaces.Discrete(int(self.env.num_actions(self.xparams)))

    def observation_space(self, params=None):
        shape = self.env.observation_shape(self.xparams)
        return box(shape, 0, 255, jnp.uint8)


def make(name: str, ruleset=None, **kwargs):
    xminigrid = require("xminigrid", "xminigrid")
    if name not in xminigrid.registered_environments():
        raise ValueError(
            f"Unknown xminigrid env {name!r}; xminigrid has: "
            f"{', '.join(xminigrid.registered_environments())}"
        )
    if name.startswith("XLand-") and ruleset is None:
        raise ValueError(
            f"xminigrid/{name} needs a ruleset (xminigrid.load_benchmark(...).sample_ruleset"
            "(key), which downloads the benchmark): pass it as ruleset=; purerl downloads "
            "nothing"
        )
    env, xparams = xminigrid.make(name, **kwargs)
    if ruleset is not None:
        xparams = xparams.replace(ruleset=ruleset)
    env = XMiniGridEnv(env, xparams, name)
    return env, env.default_params
