"""`LegalMoves-v0`: a tiny env whose legal actions change every step (the action-mask
convention of `purerl.types.ACTION_MASK`), to test that learners never take an illegal one.

Each step the env draws a value `v[a]` in [0, 1) and a legality bit per action (each legal
with probability 1/2, one random action always legal). The observation is
`{"obs": concat(v * mask, mask) float32[2 n], "action_mask": bool[n]}`. A legal action `a`
earns `v[a]`; an illegal one earns `illegal_reward` (-100) and terminates the episode, so
any illegal action shows as an episode return below 0 or an episode shorter than
`max_steps_in_episode` (8). The best policy takes the legal action of largest value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces


@struct.dataclass
class LegalMovesState:
    values: jax.Array  # [n] float32
    mask: jax.Array  # [n] bool
    time: jax.Array


@struct.dataclass
class LegalMovesParams:
    max_steps_in_episode: int = 8
    illegal_reward: float = -100.0


class LegalMoves(environment.Environment):
    """See the module docstring; `num_actions` actions (default 6)."""

    def __init__(self, num_actions: int = 6):
        if isinstance(num_actions, bool) or not isinstance(num_actions, int) or num_actions < 2:
            raise ValueError(f"LegalMoves: num_actions must be an int >= 2, got {num_actions!r}")
        self.n = num_actions

    @property
    def name(self) -> str:
        return "LegalMoves-v0"

    @property
    def default_params(self) -> LegalMovesParams:
        return LegalMovesParams()

    def _draw(self, key, time):
        k_v, k_m, k_one = jax.random.split(key, 3)
        values = jax.random.uniform(k_v, (self.n,))
        mask = jax.random.bernoulli(k_m, 0.5, (self.n,))
        mask = mask.at[jax.random.randint(k_one, (), 0, self.n)].set(True)
        return LegalMovesState(values=values, mask=mask, time=time)

    def _obs(self, state):
        feats = jnp.concatenate([state.values * state.mask, state.mask.astype(jnp.float32)])
        return {"obs": feats, "action_mask": state.mask}

    def reset_env(self, key, params):
        state = self._draw(key, jnp.zeros((), jnp.int32))
        return self._obs(state), state

    def step_env(self, key, state, action, params):
        a = jnp.asarray(action, jnp.int32)
        legal = state.mask[a]
        reward = jnp.where(legal, state.values[a], params.illegal_reward).astype(jnp.float32)
        new = self._draw(key, state.time + 1)
        terminated = jnp.logical_not(legal)
        return self._obs(new), new, reward, terminated, {"illegal": terminated}

    def action_space(self, params=None):
        return spaces.Discrete(self.n)

    def observation_space(self, params=None):
        return spaces.Dict(
            {
                "obs": spaces.Box(0.0, 1.0, (2 * self.n,), jnp.float32),
                "action_mask": spaces.Box(0, 1, (self.n,), jnp.bool_),
            }
        )


def make_legal_moves(num_actions: int = 6):
    env = LegalMoves(num_actions)
    return env, env.default_params


__all__ = ["LegalMoves", "LegalMovesParams", "make_legal_moves"]
