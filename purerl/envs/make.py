"""`make_env`: gymnax (or your own) environments with the wrappers every algorithm needs."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any

import gymnax
import jax
import numpy as np
from gymnax.environments import environment, spaces

from purerl.envs import checks, goal, masked, minatar, pomdp, suites
from purerl.envs import wrappers as w

# purerl's own environments (goal-conditioned envs, ...) register here: id -> factory
# returning `(env, default_params)`.
REGISTRY: dict[str, Callable[..., tuple[Any, Any]]] = {}


def register(env_id: str, factory: Callable[..., tuple[Any, Any]]) -> None:
    """Register a purerl environment id; `factory(**kwargs) -> (env, env_params)`."""
    REGISTRY[env_id] = factory


register("BitFlip-v0", goal.make_bitflip)
register("PointReach-v0", goal.make_point_reach)
register("LegalMoves-v0", masked.make_legal_moves)
# gymnax's id, a faster step with the same results (see purerl/envs/minatar.py)
register("SpaceInvaders-MinAtar", minatar.make_space_invaders)


def registered_envs() -> list[str]:
    """Every id `make_env` accepts: gymnax's and purerl's own."""
    return sorted(set(gymnax.registered_envs) | set(REGISTRY))


def _base_env(env_id, env_params, kwargs):
    if isinstance(env_id, str):
        if env_id in REGISTRY:
            env, default = REGISTRY[env_id](**kwargs)
        elif suites.is_suite_id(env_id):  # "brax/...", "jumanji/...": purerl.envs.suites
            env, default = suites.make(env_id, **kwargs)
        elif env_id in gymnax.registered_envs:
            env, default = gymnax.make(env_id, **kwargs)
        else:
            close = difflib.get_close_matches(env_id, registered_envs(), n=5, cutoff=0.5)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(
                f"Unknown environment id {env_id!r}.{hint} "
                "(purerl.envs.registered_envs() lists every id.)"
            )
        return env, _params(env_id, default, env_params)
    if isinstance(env_id, environment.Environment | w.Wrapper) or hasattr(env_id, "step"):
        if kwargs:
            raise ValueError("make_env: keyword arguments only apply to an env id string")
        env = env_id
        return env, env.default_params if env_params is None else env_params
    raise ValueError(
        f"make_env expects an env id string or a gymnax Environment, got {type(env_id).__name__}"
    )


def _params(env_id, default, env_params):
    """`env_params`, or the defaults with the fields of an `env_params` dict replaced."""
    if env_params is None:
        return default
    if not isinstance(env_params, Mapping):
        return env_params
    names = (
        {f.name for f in dataclasses.fields(default)}
        if dataclasses.is_dataclass(default)
        else set()
    )
    unknown = sorted(set(env_params) - names)
    if unknown:
        raise ValueError(
            f"make_env: env_params {unknown} are not parameters of {env_id!r}; "
            f"it has {sorted(names)}"
        )
    return default.replace(**env_params)


def make_env(
    env_id: str | environment.Environment,
    env_params: Any = None,
    *,
    normalize_obs: bool = False,
    normalize_reward: bool = False,
    reward_gamma: float = 0.99,
    observe: str | tuple[int, ...] = "full",
    **kwargs,
) -> tuple[Any, Any]:
    """Build an environment with purerl's standard wrappers.

    Args:
      env_id: a gymnax id (`"CartPole-v1"`, ...), a purerl id, another suite's id with its
        prefix (`"brax/halfcheetah"`, `"jumanji/Snake-v1"`, ...: `purerl.envs.suites`), or
        a gymnax `Environment` instance of your own.
      env_params: env parameters; None takes the env's defaults; a dict (with an env id)
        replaces those fields of the defaults, e.g.
        `make_env("MemoryChain-bsuite", env_params={"memory_length": 20})`.
      normalize_obs: running mean/std observation normalisation (statistics in the state).
      normalize_reward: scale rewards by the running std of the discounted return.
      reward_gamma: discount of that return.
      observe: "full"; "position", the velocity-masked POMDP (`pomdp.MaskVelocity`: only
        the position entries of CartPole, Pendulum, Acrobot or MountainCar are observed);
        or a sequence of observation indices to keep.
      **kwargs: passed to `gymnax.make` (or to the purerl env's factory, or the suite's
        own constructor).

    Returns:
      `(env, env_params)`. Wrappers, innermost first: the observed entries (`observe`);
      continuous actions rescaled from
      [-1, 1] to the env's bounds; episode statistics (raw rewards); observation and reward
      normalisation when asked for.

    Raises:
      ValueError: an unknown env id (naming close matches).
    """
    env, params = _base_env(env_id, env_params, kwargs)
    env = pomdp.observe_wrapper(env, env_id, params, observe)
    checks.check_env(env, params)
    if isinstance(env.action_space(params), spaces.Box):
        env = w.RescaleAction(env)
    env = w.EpisodeStatistics(env)
    if normalize_obs and goal.is_goal_env(env):
        raise ValueError(
            f"make_env: normalize_obs does not apply to the goal-conditioned {env_name(env)} "
            "(dict observations; goals are compared raw by compute_reward)"
        )
    if normalize_obs:
        env = w.NormalizeObservation(env)
    if normalize_reward:
        env = w.NormalizeReward(env, gamma=reward_gamma)
    return env, params


# ------------------------------------------------------------------ space helpers
def _action_space(env, env_params):
    checks.check_env_params(env, env_params, where="make")  # before the env reads them
    return env.action_space(env_params)


def is_discrete(env, env_params) -> bool:
    return isinstance(_action_space(env, env_params), spaces.Discrete)


def num_actions(env, env_params) -> int:
    space = _action_space(env, env_params)
    if not isinstance(space, spaces.Discrete):
        raise ValueError(f"{env_name(env)} has a continuous action space {space}")
    return int(space.n)


def action_dim(env, env_params) -> int:
    space = _action_space(env, env_params)
    return int(np.prod(space.shape)) if space.shape else 1


def action_shape(env, env_params) -> tuple[int, ...]:
    return tuple(_action_space(env, env_params).shape)


def obs_shape(env, env_params) -> tuple[int, ...]:
    """Observation shape, read off a reset (robust to wrappers). For a goal-conditioned
    env (dict observations), the shape of the network input `concat(observation,
    desired_goal)`."""
    checks.check_env_params(env, env_params, where="make")  # before JAX sees a wrong type
    reset_obs = lambda k: goal.network_input(env.reset(k, env_params)[0])
    return tuple(jax.eval_shape(reset_obs, jax.random.key(0)).shape)


def obs_ndim(env, env_params) -> int | tuple[tuple[str, int], ...]:
    """The trailing observation dims a network reads: `len(obs_shape)` for an array
    observation (a goal dict counts as its network input), `((key, ndim), ...)` sorted by
    key for any other dict observation (e.g. `{"obs": ..., "action_mask": ...}`)."""
    checks.check_env_params(env, env_params, where="make")  # before JAX sees a wrong type
    reset_obs = lambda k: goal.network_input(env.reset(k, env_params)[0])
    obs = jax.eval_shape(reset_obs, jax.random.key(0))
    if isinstance(obs, dict):
        return tuple((k, len(obs[k].shape)) for k in sorted(obs))
    return len(obs.shape)


def env_name(env) -> str:
    e = env.unwrapped if isinstance(env, w.Wrapper) else env
    return getattr(e, "name", type(e).__name__)
