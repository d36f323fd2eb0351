"""Controllers: planners that act from the env state, and the loop that evaluates them.

A planner with the true model needs the environment's *state*, not only its observation, so
it cannot be driven by `purerl.evaluate` (which hands `Agent.act` an observation). A
`Controller` is the planner's acting interface, and `evaluate_controller` its episode loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from purerl.core import arguments as A
from purerl.types import PRNGKey


class Controller(NamedTuple):
    """A per-env acting rule with a carry (e.g. an MPC plan to warm-start from).

    init: `() -> carry` for one env at the start of an episode.
    act: `(key, carry, env_state, obs) -> (action, carry)` for one unbatched env; the key
      is consumed. `env_state` is the state of the (wrapped) env, as `env.reset` returns it.
    """

    init: Callable[[], Any]
    act: Callable[[PRNGKey, Any, Any, Any], tuple[Any, Any]]


def evaluate_controller(
    key: PRNGKey,
    env,
    env_params,
    controller: Controller,
    num_episodes: int = 10,
    max_steps: int | None = None,
) -> jax.Array:
    """Undiscounted returns of `num_episodes` episodes of `controller`, run in parallel.

    Each env runs until its first episode ends (or `max_steps` steps, default the env's
    time limit). Jittable and vmappable over keys.

    Returns:
      `[num_episodes]` returns.
    """
    A.check_key("evaluate_controller", key)
    num_episodes = A.check_count("evaluate_controller", "num_episodes", num_episodes, minimum=1)
    if max_steps is not None:
        max_steps = A.check_count("evaluate_controller", "max_steps", max_steps, minimum=1)
    if not isinstance(controller, Controller):
        raise TypeError(
            f"evaluate_controller: controller must be a purerl.planning.Controller (e.g. "
            f"mpc.controller(env, env_params, config)), got {type(controller).__name__}"
        )
    if max_steps is None:
        limit = getattr(env_params, "max_steps_in_episode", None)
        max_steps = int(limit) if isinstance(limit, int) else 10_000
    k_reset, k_loop = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(k_reset, num_episodes), env_params
    )
    carry = jax.vmap(lambda _: controller.init())(jnp.arange(num_episodes))
    act = jax.vmap(controller.act)
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    zeros = jnp.zeros(num_episodes, jnp.float32)
    loop0 = (k_loop, env_state, obs, carry, zeros, jnp.zeros(num_episodes, bool), 0)

    def cond(c):
        return jnp.logical_and(~jnp.all(c[5]), c[6] < max_steps)

    def body(c):
        key, env_state, obs, carry, returns, finished, t = c
        key, k_act, k_step = jax.random.split(key, 3)
        action, carry = act(jax.random.split(k_act, num_episodes), carry, env_state, obs)
        obs, env_state, reward, term, trunc, _ = step(
            jax.random.split(k_step, num_episodes), env_state, action, env_params
        )
        returns = returns + jnp.where(finished, 0.0, reward)
        finished = finished | term | trunc
        return key, env_state, obs, carry, returns, finished, t + 1

    return jax.lax.while_loop(cond, body, loop0)[4]
