"""`jumanji/<id>`: a jumanji env (`jumanji.make(id, **kwargs)`, e.g. `jumanji/Snake-v1`).

Observations are the suite's observation as a dict `{field: array}` (its NamedTuple's
fields; an `action_mask` field stays the bool `[num_actions]` leaf that purerl's masked
policies read, `purerl.types.ACTION_MASK`). Spaces follow the specs: `DiscreteArray` ->
`Discrete`, a `MultiDiscreteArray` action -> one `Discrete` over the product of its sizes
(unravelled, row-major), `BoundedArray` -> `Box` with its bounds, `Array` -> unbounded `Box`.
The episode ends as jumanji says: a `LAST` step type with discount 0 is `terminated`, with
a non-zero discount (its `time_limit`) `truncated`. The reward of the `LAST` step is kept.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces

from purerl.envs.suites.base import SuiteEnv, box, require

BIG = 2**31 - 1


def _obs(o):
    if hasattr(o, "_asdict"):
        return {k: v for k, v in o._asdict().items()}
    return o


def spec_space(spec, specs):
    """A gymnax space for a jumanji (dm_env-style) spec."""
    if isinstance(spec, specs.DiscreteArray):
        return spaces.Discrete(int(spec.num_values))
    if isinstance(spec, specs.BoundedArray):
        return box(spec.shape, np.asarray(spec.minimum), np.asarray(spec.maximum), spec.dtype)
    if isinstance(spec, specs.Array):
        return box(spec.shape, dtype=spec.dtype)
    # a nested observation spec: its named sub-specs
    return spaces.Dict({k: spec_space(v, specs) for k, v in spec._specs.items()})


class JumanjiEnv(SuiteEnv):
    suite = "jumanji"

    def __init__(self, env, env_name: str):
        super().__init__(env_name, int(getattr(env, "time_limit", BIG)))
        self.env = env
        self.specs = require("jumanji.specs", "jumanji")
        a = env.action_spec
        if isinstance(a, self.specs.MultiDiscreteArray):
            self._sizes = tuple(int(n) for n in np.asarray(a.num_values).ravel())
        elif isinstance(a, self.specs.DiscreteArray):
            self._sizes = None
        else:
            raise ValueError(
                f"jumanji/{env_name}: action spec {type(a).__name__} is not supported "
                "(purerl maps DiscreteArray and MultiDiscreteArray actions)"
            )

    def _action(self, action):
        a = jnp.asarray(action, jnp.int32)
        if self._sizes is None:
            return a
        return jnp.stack(jnp.unravel_index(a, self._sizes)).astype(jnp.int32)

    def _reset(self, key):
        state, ts = self.env.reset(key)
        return _obs(ts.observation), state

    def _step(self, key, inner, action):
        state, ts = self.env.step(inner, self._action(action))
        last = ts.step_type == 2  # StepType.LAST
        term = jnp.logical_and(last, ts.discount == 0)
        trunc = jnp.logical_and(last, ts.discount != 0)
        return _obs(ts.observation), state, ts.reward, term, trunc, {}

    def action_space(self, params=None):
        if self._sizes is None:
            return spaces.Discrete(int(self.env.action_spec.num_values))
        return spaces.Discrete(int(np.prod(self._sizes)))

    def observation_space(self, params=None):
        return spec_space(self.env.observation_spec, self.specs)


def make(name: str, **kwargs):
    jumanji = require("jumanji", "jumanji")
    if name not in jumanji.registered_environments():
        raise ValueError(
            f"Unknown jumanji env {name!r}; jumanji has: "
            f"{', '.join(sorted(jumanji.registered_environments()))}"
        )
    env = JumanjiEnv(jumanji.make(name, **kwargs), name)
    return env, env.default_params
