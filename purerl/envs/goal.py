"""Goal-conditioned environments for Hindsight Experience Replay (Andrychowicz et al. 2017).

The protocol (`GoalEnv`, a gymnax `Environment`):

- the observation is a dict pytree `{"observation": [d_obs], "achieved_goal": [d_goal],
  "desired_goal": [d_goal]}`;
- `compute_reward(achieved_goal, desired_goal, params)` is pure and vectorised over any
  leading batch shape (`[..., d_goal] -> [...]`), so a replay buffer can recompute the
  reward of a transition for a substituted goal;
- `goal_reached(achieved_goal, desired_goal, params)` (same shapes, bool): reaching the
  goal terminates the episode (`terminated`); the time limit truncates it;
- networks take `network_input(obs) = concat(observation, desired_goal)`: the off-policy
  algorithms (the bases of `purerl.algos.her`, whose replay buffer relabels the goals of
  stored dicts) give it to their networks as `input_fn`; `FlattenGoal` flattens the
  observations of the env itself for any other algorithm; `purerl.envs.obs_shape` reports
  its shape.

Envs (registered with `purerl.make_env`):

- `BitFlip-v0` (Andrychowicz et al. 2017, section 3.1): `n` bits, random start and goal,
  action `i` flips bit `i`, reward -1 per step and 0 on reaching the goal, time limit `n`.
- `PointReach-v0`: a 2-D point mass (position, velocity) pushed by a bounded force that must
  come within `tolerance` of a random goal; reward -1 / 0; time limit 50 steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from purerl.envs.wrappers import Wrapper

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


def is_goal_obs(obs: Any) -> bool:
    """True for a goal-conditioned observation dict (the three `GOAL_KEYS`)."""
    return isinstance(obs, Mapping) and all(k in obs for k in GOAL_KEYS)


def network_input(obs: Any) -> Any:
    """`concat(observation, desired_goal)` (`[..., d_obs + d_goal]`, float32) for a goal
    observation dict; any other observation is returned unchanged."""
    if not is_goal_obs(obs):
        return obs
    o = jnp.asarray(obs["observation"], jnp.float32)
    g = jnp.asarray(obs["desired_goal"], jnp.float32)
    return jnp.concatenate([o, g], axis=-1)


def is_goal_env(env) -> bool:
    """The env (through any purerl wrappers) follows the `GoalEnv` protocol."""
    return callable(getattr(env, "compute_reward", None)) and callable(
        getattr(env, "goal_reached", None)
    )


class FlattenGoal(Wrapper):
    """Observations `network_input(obs) = concat(observation, desired_goal)`, plain arrays
    `[d_obs + d_goal]` (also `info["final_observation"]`), for algorithms that take array
    observations. The goal protocol (`compute_reward`, `goal_reached`) is forwarded, but the
    achieved goal is gone, so HER takes the unflattened env (its buffer relabels goals)."""

    def reset(self, key, params=None):
        obs, state = self._env.reset(key, params)
        return network_input(obs), state

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        info = {**info, "final_observation": network_input(info["final_observation"])}
        return network_input(obs), state, reward, terminated, truncated, info

    def observation_space(self, params=None):
        inner = self._env.observation_space(params).spaces
        parts = [inner["observation"], inner["desired_goal"]]
        bound = lambda b, s: jnp.broadcast_to(jnp.asarray(b, jnp.float32), s.shape).ravel()
        low = jnp.concatenate([bound(s.low, s) for s in parts])
        high = jnp.concatenate([bound(s.high, s) for s in parts])
        return spaces.Box(low, high, low.shape, jnp.float32)


class GoalEnv(environment.Environment):
    """Base class of goal-conditioned gymnax envs: subclasses define `goal_reached`,
    `_observation(state)` and the dynamics; reward and termination follow from the goal."""

    def goal_reached(self, achieved_goal, desired_goal, params):
        """`[..., d_goal] x [..., d_goal] -> [...]` bool."""
        raise NotImplementedError

    def compute_reward(self, achieved_goal, desired_goal, params):
        """Sparse reward `0` where the goal is reached, else `-1`; `[...]` float32."""
        return jnp.where(self.goal_reached(achieved_goal, desired_goal, params), 0.0, -1.0)

    def _finish(self, state, params):
        """`(obs, state, reward, terminated, info)` after a transition to `state`."""
        obs = self._observation(state)
        reached = self.goal_reached(obs["achieved_goal"], obs["desired_goal"], params)
        reward = self.compute_reward(obs["achieved_goal"], obs["desired_goal"], params)
        return obs, state, reward.astype(jnp.float32), reached, {"is_success": reached}


# -------------------------------------------------------------------------- BitFlip
@struct.dataclass
class BitFlipState:
    bits: jax.Array  # [n] float32 in {0, 1}
    goal: jax.Array  # [n]
    time: jax.Array


@struct.dataclass
class BitFlipParams:
    max_steps_in_episode: int = 15


class BitFlip(GoalEnv):
    """Bit flipping (Andrychowicz et al. 2017, section 3.1): the state is `n` bits, the
    goal another `n` bits; action `i` flips bit `i`; reward `-[s != g]` per step, and
    reaching `s = g` terminates. Episodes last at most `n` steps (every goal is reachable
    in `n` flips). A start equal to its goal is avoided by flipping one random goal bit.
    `observation = achieved_goal = s`, `desired_goal = g` (float32 vectors)."""

    def __init__(self, n_bits: int = 15):
        if isinstance(n_bits, bool) or not isinstance(n_bits, int) or n_bits < 1:
            raise ValueError(f"BitFlip: n_bits must be a positive int, got {n_bits!r}")
        self.n_bits = n_bits

    @property
    def name(self) -> str:
        return "BitFlip-v0"

    @property
    def default_params(self) -> BitFlipParams:
        return BitFlipParams(max_steps_in_episode=self.n_bits)

    def goal_reached(self, achieved_goal, desired_goal, params):
        return jnp.all(jnp.abs(achieved_goal - desired_goal) < 0.5, axis=-1)

    def _observation(self, state):
        return {"observation": state.bits, "achieved_goal": state.bits, "desired_goal": state.goal}

    def reset_env(self, key, params):
        k_bits, k_goal, k_fix = jax.random.split(key, 3)
        n = self.n_bits
        bits = jax.random.bernoulli(k_bits, 0.5, (n,)).astype(jnp.float32)
        goal = jax.random.bernoulli(k_goal, 0.5, (n,)).astype(jnp.float32)
        flip = jax.nn.one_hot(jax.random.randint(k_fix, (), 0, n), n)
        same = jnp.all(bits == goal)
        goal = jnp.where(same, jnp.abs(goal - flip), goal)
        state = BitFlipState(bits=bits, goal=goal, time=jnp.zeros((), jnp.int32))
        return self._observation(state), state

    def step_env(self, key, state, action, params):
        flip = jax.nn.one_hot(jnp.asarray(action, jnp.int32), self.n_bits)
        state = state.replace(bits=jnp.abs(state.bits - flip), time=state.time + 1)
        return self._finish(state, params)

    def action_space(self, params=None):
        return spaces.Discrete(self.n_bits)

    def observation_space(self, params=None):
        box = spaces.Box(0.0, 1.0, (self.n_bits,), jnp.float32)
        return spaces.Dict(dict.fromkeys(GOAL_KEYS, box))


# ----------------------------------------------------------------------- PointReach
@struct.dataclass
class PointReachState:
    pos: jax.Array  # [2]
    vel: jax.Array  # [2]
    goal: jax.Array  # [2]
    time: jax.Array


@struct.dataclass
class PointReachParams:
    max_steps_in_episode: int = 50
    dt: float = 0.1
    max_force: float = 1.0  # |force| per axis; acceleration = force / mass
    mass: float = 0.25
    damping: float = 0.1  # fraction of the velocity lost per step
    max_speed: float = 1.0
    tolerance: float = 0.1  # the goal is reached within this distance
    min_start_distance: float = 0.3  # the goal starts at least this far from the point


class PointReach(GoalEnv):
    """A point mass in the box `[-1, 1]^2`, pushed by a bounded force `a in
    [-max_force, max_force]^2`:

      v' = clip((1 - damping) v + dt a / mass, -max_speed, max_speed),
      x' = clip(x + dt v', -1, 1)   (the velocity is zeroed along an axis that hits a wall)

    The goal `g` is uniform in the box, at least `min_start_distance` from the start (by
    rejection, with a fallback push). Reaching `|x' - g| <= tolerance` gives reward 0 and
    terminates; every other step gives -1; time limit 50 steps.
    `observation = (x, v)` [4], `achieved_goal = x` [2], `desired_goal = g` [2].
    """

    @property
    def name(self) -> str:
        return "PointReach-v0"

    @property
    def default_params(self) -> PointReachParams:
        return PointReachParams()

    def goal_reached(self, achieved_goal, desired_goal, params):
        return jnp.linalg.norm(achieved_goal - desired_goal, axis=-1) <= params.tolerance

    def _observation(self, state):
        return {
            "observation": jnp.concatenate([state.pos, state.vel]),
            "achieved_goal": state.pos,
            "desired_goal": state.goal,
        }

    def reset_env(self, key, params):
        k_pos, k_goal = jax.random.split(key)
        pos = jax.random.uniform(k_pos, (2,), minval=-1.0, maxval=1.0)
        goals = jax.random.uniform(k_goal, (8, 2), minval=-1.0, maxval=1.0)
        far = jnp.linalg.norm(goals - pos, axis=-1) >= params.min_start_distance
        goal = goals[jnp.argmax(far)]
        # all 8 too close (probability < 1e-8 at the defaults): mirror the start instead
        goal = jnp.where(jnp.any(far), goal, -pos)
        state = PointReachState(pos=pos, vel=jnp.zeros(2), goal=goal, time=jnp.zeros((), jnp.int32))
        return self._observation(state), state

    def step_env(self, key, state, action, params):
        force = jnp.clip(jnp.asarray(action, jnp.float32), -params.max_force, params.max_force)
        vel = (1.0 - params.damping) * state.vel + params.dt * force / params.mass
        vel = jnp.clip(vel, -params.max_speed, params.max_speed)
        raw = state.pos + params.dt * vel
        pos = jnp.clip(raw, -1.0, 1.0)
        vel = jnp.where(raw == pos, vel, 0.0)
        state = state.replace(pos=pos, vel=vel, time=state.time + 1)
        return self._finish(state, params)

    def action_space(self, params=None):
        params = self.default_params if params is None else params
        return spaces.Box(-params.max_force, params.max_force, (2,), jnp.float32)

    def observation_space(self, params=None):
        params = self.default_params if params is None else params
        s = params.max_speed
        return spaces.Dict(
            {
                "observation": spaces.Box(
                    jnp.array([-1.0, -1.0, -s, -s]), jnp.array([1.0, 1.0, s, s]), (4,)
                ),
                "achieved_goal": spaces.Box(-1.0, 1.0, (2,), jnp.float32),
                "desired_goal": spaces.Box(-1.0, 1.0, (2,), jnp.float32),
            }
        )


def make_bitflip(n_bits: int = 15):
    env = BitFlip(n_bits)
    return env, env.default_params


def make_point_reach():
    env = PointReach()
    return env, env.default_params


__all__ = [
    "GOAL_KEYS",
    "BitFlip",
    "FlattenGoal",
    "BitFlipParams",
    "BitFlipState",
    "GoalEnv",
    "PointReach",
    "PointReachParams",
    "PointReachState",
    "is_goal_env",
    "is_goal_obs",
    "make_bitflip",
    "make_point_reach",
    "network_input",
]
