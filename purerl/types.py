"""Shared types of purerl: the `Agent` interface, `Transition`, `Metrics`.

Shapes are stated where the data is defined. `T` is time, `B` the batch of parallel
environments; kernels are written for any trailing batch shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax

PRNGKey = jax.Array  # a typed key from `jax.random.key` (legacy uint32 keys also work)
Array = jax.Array
PyTree = Any
Obs = Any  # an observation (array or pytree of arrays)
Action = Any
State = Any  # an algorithm's train state: a `flax.struct.dataclass` pytree
Metrics = dict[str, jax.Array]  # flat dict of scalars per update
# the names of `purerl.nets.torsos.ACTIVATIONS` (a Literal, so that CLIs list the choices)
Activation = Literal["tanh", "relu", "swish", "silu", "gelu", "elu", "identity"]

# The action-mask convention: an env with state-dependent legal actions (discrete actions
# only) returns dict observations `{"obs": ..., "action_mask": bool[..., num_actions]}`,
# the mask true for the actions legal in *that* observation (at least one per state).
# Networks ignore this leaf as an input; categorical policies and Q-argmaxes read it.
ACTION_MASK = "action_mask"


class Transition(NamedTuple):
    """One environment step, stored time-major as `[T, B, ...]` by `core.rollout`.

    Attributes:
      obs: observation the action was taken in, `[T, B, *obs_shape]`.
      action: action taken, `[T, B, *action_shape]`.
      reward: reward received, `[T, B]`.
      terminated: the episode really ended at this step (no bootstrap), `[T, B]` bool.
      truncated: a time limit cut the episode at this step (bootstrap from `next_obs`),
        `[T, B]` bool.
      next_obs: the *true* next observation: the final observation of the episode when it
        ended at this step (never the auto-reset one), `[T, B, *obs_shape]`.
      extras: what the acting policy recorded (e.g. `log_prob`, `value`), dict of `[T, B, ...]`.
      info: episode statistics from the env wrappers (`episode_return`, `episode_length`,
        `episode_done`), dict of `[T, B]`.
    """

    obs: Obs
    action: Action
    reward: Array
    terminated: Array
    truncated: Array
    next_obs: Obs
    extras: dict[str, Array]
    info: dict[str, Array]

    @property
    def done(self) -> Array:
        """The episode ended at this step, by termination or truncation."""
        return self.terminated | self.truncated


class Agent(NamedTuple):
    """An RL algorithm as pure functions, in the manner of optax's `GradientTransformation`.

    Attributes:
      init: `key -> State`; the key is consumed.
      update: `State -> (State, Metrics)`; one iteration: act in the env, then learn.
      act: `(State, obs, key) -> action`; the evaluation policy (greedy / mean action) for a
        single, unbatched observation.
      num_updates: update calls that `config.total_timesteps` takes.
      env: the (wrapped) environment the agent trains in; used by `purerl.evaluate`.
      env_params: its parameters.
      config: the algorithm's `Config`, for reference (scripts, checkpoints, reports).
      initial_carry: None for a memoryless policy (every algorithm's default). A recurrent
        policy (`Config.recurrent`) sets it to `() -> carry`, the memory of one env at an
        episode's start; its `act` then takes and returns that memory:
        `act(state, obs, key, carry) -> (action, carry)`, and the caller resets the carry to
        `initial_carry()` after an episode ends (as `purerl.evaluate` does).
    """

    init: Callable[[PRNGKey], State]
    update: Callable[[State], tuple[State, Metrics]]
    act: Callable[[State, Obs, PRNGKey], Action]
    num_updates: int
    env: Any = None
    env_params: Any = None
    config: Any = None
    initial_carry: Callable[[], PyTree] | None = None
