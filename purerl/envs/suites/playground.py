"""`playground/<name>`: a MuJoCo Playground env (`mujoco_playground.registry.load(name,
config_overrides=kwargs)`, e.g. `playground/CartpoleSwingup`; `impl="jax"` picks MJX's JAX
pipeline, the Playground default `"warp"` compiles much slower on CPU).

Observations are the env's (an array, or a dict of arrays for envs with several);
actions `Box(-1, 1, [action_size])`. `terminated` is Playground's `done` (DM Control tasks
never end by themselves); its `episode_length` (config, default 1000) truncates with
brax's `EpisodeWrapper` definition. Envs whose assets Playground must download (the
menagerie robots) fail in `registry.load`; purerl downloads nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from purerl.envs.suites.base import box, require
from purerl.envs.suites.brax import BraxEnv


class PlaygroundEnv(BraxEnv):
    """Brax's adapter (Playground's envs step brax `State`s), with Playground's reset key
    (raw `uint32` key data) and observation sizes (an int, a shape, or a dict of them)."""

    suite = "playground"

    def _reset(self, key):
        s = self.env.reset(jax.random.key_data(key) if _typed(key) else key)
        return s.obs, s

    def observation_space(self, params=None):
        size = self.env.observation_size
        if isinstance(size, dict):
            from gymnax.environments import spaces

            return spaces.Dict(
                {k: box(tuple(v) if isinstance(v, tuple) else (v,)) for k, v in size.items()}
            )
        return box(tuple(size) if isinstance(size, tuple) else (size,))


def _typed(key) -> bool:
    return jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def make(name: str, **kwargs):
    registry = require("mujoco_playground", "playground").registry
    if name not in registry.ALL_ENVS:
        raise ValueError(
            f"Unknown Playground env {name!r}; Playground has: {', '.join(registry.ALL_ENVS)}"
        )
    try:
        env = registry.load(name, config_overrides=kwargs or None)
    except (OSError, FileNotFoundError) as e:
        raise ValueError(
            f"playground/{name}: its assets are not installed and purerl downloads nothing "
            f"({e}); pick an env whose assets ship with the package (DM Control suite)"
        ) from e
    env = PlaygroundEnv(env, name, int(env._config.episode_length))
    return env, env.default_params
