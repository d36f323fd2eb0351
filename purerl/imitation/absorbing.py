"""A fixed-horizon setting for adversarial IRL: termination becomes an absorbing state.

Adversarial imitation on an env that terminates early leaks reward information (the
"survival bias", Kostrikov et al. 2019, "Discriminator-Actor-Critic"): a reward that is
always positive (GAIL's `-log(1 - D)`) makes any policy that survives long look good, one
that is always negative makes it want to die, whatever the discriminator learns. In the
fixed-horizon setting every episode lasts exactly the time limit, so the episode length
says nothing and only the learned reward of the states visited counts.

`AbsorbingTermination(env, absorbing_steps)` wraps a gymnax env (the raw one, before
`purerl.make_env`'s wrappers): where the inner env terminates, the episode continues in an
absorbing state, until the time limit (`max_steps_in_episode`; `absorbing_steps=None`) or
for `absorbing_steps` steps: the observation stays the terminal one whatever the actions,
the env reward is 0, and `terminated` is never reported; the episode is then truncated
(bootstrapped, as every time limit) and the env resets. With `absorbing_steps=1` (what the
GAIL test uses) the critic's bootstrap stands for the rest of the absorbing phase, as in
Kostrikov et al. (2019), instead of spending env steps in it.
The env return is unchanged (CartPole's return is still the number of steps alive), so
`purerl.evaluate` on the wrapped env scores policies exactly as on the original one; the
discriminator sees the absorbing state as the terminal observation repeated, which expert
demonstrations never contain.
"""

from __future__ import annotations

from typing import Any

import gymnax
import jax
import jax.numpy as jnp
from flax import struct

from purerl import envs
from purerl.envs.wrappers import Wrapper


@struct.dataclass
class AbsorbingState:
    env_state: Any
    absorbing: jax.Array  # bool: the inner episode terminated; waiting for the time limit
    absorbing_obs: Any  # the terminal observation, repeated while absorbing
    time: jax.Array  # steps of the current episode
    absorbed: jax.Array  # steps spent in the absorbing state


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


class AbsorbingTermination(Wrapper):
    """Termination becomes an absorbing state (see the module doc).

    `absorbing_steps=None`: the absorbing state lasts until the time limit (every episode
    is exactly `max_steps_in_episode` steps). An int k: it lasts k steps (fewer where the
    time limit comes first), then the episode is truncated, so a learner's critic
    bootstraps the rest from its value of the absorbing state (for k = 1, `V(s_abs) =
    r_abs + gamma V(s_abs)`, i.e. `r_abs / (1 - gamma)`: the infinite-horizon absorbing
    state of Kostrikov et al. 2019), without spending env steps in it.
    """

    def __init__(self, env, absorbing_steps: int | None = None):
        super().__init__(env)
        if absorbing_steps is not None and (
            not isinstance(absorbing_steps, int) or absorbing_steps < 1
        ):
            raise ValueError(
                f"AbsorbingTermination: absorbing_steps must be None or an int >= 1, "
                f"got {absorbing_steps!r}"
            )
        self.absorbing_steps = absorbing_steps

    def reset(self, key, params=None):
        obs, env_state = self._env.reset(key, params)
        zero = jnp.zeros((), jnp.int32)
        return obs, AbsorbingState(env_state, jnp.zeros((), bool), obs, zero, zero)

    def step(self, key, state, action, params=None):
        params = self._env.default_params if params is None else params
        k_step, k_reset = jax.random.split(key)
        obs, env_state, reward, term, _, info = self._env.step(
            k_step, state.env_state, action, params
        )
        was_absorbing = state.absorbing
        absorbing = was_absorbing | term
        time = state.time + 1
        absorbed = state.absorbed + was_absorbing.astype(jnp.int32)
        end = time >= params.max_steps_in_episode
        if self.absorbing_steps is not None:
            end = end | (absorbed >= self.absorbing_steps)
        final_obs = info["final_observation"]
        absorbing_obs = _select(was_absorbing, state.absorbing_obs, final_obs)
        # the observation after this step, before any reset
        next_obs = _select(absorbing, absorbing_obs, obs)
        reset_obs, reset_state = self._env.reset(k_reset, params)
        zero = jnp.zeros((), jnp.int32)
        new = AbsorbingState(
            env_state=_select(end, reset_state, _select(was_absorbing, state.env_state, env_state)),
            absorbing=absorbing & ~end,
            absorbing_obs=absorbing_obs,
            time=jnp.where(end, zero, time),
            absorbed=jnp.where(end, zero, absorbed),
        )
        reward = jnp.where(was_absorbing, 0.0, reward)
        info = {**info, "final_observation": next_obs, "absorbing": was_absorbing}
        out_obs = _select(end, reset_obs, next_obs)
        return out_obs, new, reward, jnp.zeros((), bool), end, info


def fixed_horizon_env(env_id: str, absorbing_steps: int | None = None, **make_env_kwargs):
    """`purerl.make_env(AbsorbingTermination(gymnax.make(env_id), absorbing_steps))`:
    `(env, env_params)`; `make_env_kwargs` (e.g. `normalize_obs`) go to `make_env`."""
    if env_id not in gymnax.registered_envs:
        raise ValueError(f"fixed_horizon_env: {env_id!r} is not a gymnax env id")
    base, params = gymnax.make(env_id)
    return envs.make_env(AbsorbingTermination(base, absorbing_steps), params, **make_env_kwargs)
