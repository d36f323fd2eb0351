"""The shape every suite adapter shares: a gymnax `Environment` over a suite's own
`reset(key) / step(state, action)`, with gymnax 1.x's auto-reset and flags.

A subclass defines `_reset(key) -> (obs, inner)` and
`_step(key, inner, action) -> (obs, inner, reward, terminated, truncated, info)` in the
suite's own terms (`terminated`: the suite says the episode ended with no future;
`truncated`: the suite's own time limit cut it). This base adds purerl's time limit
`params.max_steps_in_episode` (defaults to the suite's own limit where it has one), keeps
`truncated = (suite's truncation or time limit) and not terminated` (brax's definition of
`truncation`), and gymnax's `Environment.step` auto-resets and puts the true last
observation in `info["final_observation"]`.
"""

from __future__ import annotations

import importlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces


def require(module: str, extra: str):
    """`import module`, or an ImportError naming the purerl extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(
            f'this environment needs the {module!r} package: pip install "purerl[{extra}]" ({e})'
        ) from e


@struct.dataclass
class SuiteState:
    inner: Any  # the suite's own state
    time: jax.Array  # steps taken in this episode
    truncated: jax.Array  # bool: the last step was cut by a time limit


@struct.dataclass
class SuiteParams:
    max_steps_in_episode: int = 1000


class SuiteEnv(environment.Environment):
    """Base of the suite adapters (see the module docstring)."""

    suite: str = ""

    def __init__(self, env_name: str, max_steps_in_episode: int):
        if not isinstance(max_steps_in_episode, int) or max_steps_in_episode < 1:
            raise ValueError(
                f"{self.suite}/{env_name}: the time limit must be a positive int, "
                f"got {max_steps_in_episode!r}"
            )
        self.env_name = env_name
        self._max_steps = max_steps_in_episode

    @property
    def name(self) -> str:
        return f"{self.suite}/{self.env_name}"

    @property
    def default_params(self) -> SuiteParams:
        return SuiteParams(max_steps_in_episode=self._max_steps)

    def _reset(self, key):
        raise NotImplementedError

    def _step(self, key, inner, action):
        raise NotImplementedError

    def reset_env(self, key, params):
        obs, inner = strong(self._reset(key))
        return obs, SuiteState(inner, jnp.zeros((), jnp.int32), jnp.zeros((), bool))

    def step_env(self, key, state, action, params):
        obs, inner, reward, term, trunc, info = self._step(key, state.inner, action)
        obs, inner = strong((obs, inner))
        time = state.time + 1
        term = jnp.asarray(term, bool)
        trunc = jnp.logical_and(
            jnp.logical_or(jnp.asarray(trunc, bool), time >= params.max_steps_in_episode),
            jnp.logical_not(term),
        )
        state = SuiteState(inner, time, trunc)
        return obs, state, jnp.asarray(reward, jnp.float32), term, info

    def is_truncated(self, state, params):
        return state.truncated

    def is_terminated(self, state, params):
        raise NotImplementedError


def strong(tree):
    """Every leaf with a strong dtype: a suite's weakly typed leaves (python scalars kept in
    its state) would otherwise change type at gymnax's auto-reset select, and the second
    update of a training loop would retrace."""
    return jax.tree.map(lambda x: jnp.array(x, dtype=jnp.asarray(x).dtype), tree)


def box(shape, low=-np.inf, high=np.inf, dtype=jnp.float32) -> spaces.Box:
    return spaces.Box(low, high, tuple(shape), dtype)


__all__ = ["SuiteEnv", "SuiteParams", "SuiteState", "box", "require", "strong"]
