"""Checks of an environment at `make_env` time: once, with `jax.eval_shape` (no compile).

A user's env (or params) with a mistake fails here with an error that names what differs,
instead of deep inside JAX (a `lax.select` between the reset and the stepped observation
in gymnax's auto-reset, a reshape in a network) or with a silently wrong result.
"""

from __future__ import annotations

from typing import Any

import jax

__all__ = ["check_env", "check_env_params"]


def _name(env) -> str:
    return getattr(env, "name", type(env).__name__)


def check_env_params(env, env_params: Any, where: str = "make_env") -> None:
    """`env_params` must be of the type of the env's `default_params` (when it has them);
    `where` names the caller in the message (`make_env`, or an algorithm's `make` given
    params that did not come from `make_env`).

    Raises:
      TypeError: `env_params` is a dict, or another env's params, naming both types.
    """
    try:
        default = env.default_params
    except Exception:  # a user env without default params: nothing to compare with
        return
    if default is None or env_params is None or type(env_params) is type(default):
        return
    hint = ""
    if isinstance(env_params, dict):
        fields = ", ".join(f"{k}=..." for k in list(env_params)[:3])
        hint = f" (build it from the defaults: env.default_params.replace({fields}))"
    raise TypeError(
        f"{where}: env_params for {_name(env)} must be a {type(default).__name__}, "
        f"got {type(env_params).__name__}{hint}"
    )


def _describe(tree) -> str:
    if isinstance(tree, jax.ShapeDtypeStruct):
        return f"shape {tuple(tree.shape)} dtype {tree.dtype}"
    return ", ".join(
        f"{jax.tree_util.keystr(p)}: {tuple(x.shape)} {x.dtype}"
        for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]
    )


def _same(a, b) -> bool:
    if jax.tree.structure(a) != jax.tree.structure(b):
        return False
    return all(
        x.shape == y.shape and x.dtype == y.dtype
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def _check_scalar(env, what: str, x, kinds: str, expected: str) -> None:
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape != () or dtype is None or dtype.kind not in kinds:
        got = "a pytree" if dtype is None else f"shape {tuple(shape)} dtype {dtype}"
        raise ValueError(
            f"make_env: {_name(env)}'s step returns a {what} of {got}; expected {expected} "
            "(one env, unbatched: purerl vmaps the env itself)"
        )


def check_env(env, env_params: Any) -> None:
    """Check `env`'s reset and step agree, with `jax.eval_shape` (traced once, no compile).

    For a gymnax `Environment` the un-reset `reset_env` / `step_env` are checked (gymnax's
    `step` selects between their outputs, which fails inside JAX when they differ);
    otherwise `reset` / `step`.

    Raises:
      TypeError: `env_params` of the wrong type (`check_env_params`).
      ValueError: the observation (or state) of `step` differs in structure, shape or
        dtype from that of `reset`; a reward that is not a scalar number; a terminated or
        truncated flag that is not a scalar bool (or int).
    """
    check_env_params(env, env_params)
    gymnax_style = hasattr(env, "reset_env") and hasattr(env, "step_env")
    reset = env.reset_env if gymnax_style else env.reset
    key = jax.random.key(0)
    obs0, state0 = jax.eval_shape(lambda k: reset(k, env_params), key)
    try:
        action = jax.eval_shape(lambda k: env.action_space(env_params).sample(k), key)
    except Exception:  # an action space without `sample`: the step cannot be checked here
        return

    def step(k, s, a):
        if gymnax_style:
            obs, state, reward, terminated, info = env.step_env(k, s, a, env_params)
            return obs, state, reward, terminated, env.is_truncated(state, env_params)
        obs, state, reward, terminated, truncated, _ = env.step(k, s, a, env_params)
        return obs, state, reward, terminated, truncated

    obs1, state1, reward, terminated, truncated = jax.eval_shape(step, key, state0, action)
    if not _same(obs0, obs1):
        raise ValueError(
            f"make_env: {_name(env)}'s reset and step observations differ: reset gives "
            f"{_describe(obs0)}, step gives {_describe(obs1)} (they must match in "
            "structure, shape and dtype)"
        )
    if not _same(state0, state1):
        raise ValueError(
            f"make_env: {_name(env)}'s reset and step states differ: reset gives "
            f"{_describe(state0)}, step gives {_describe(state1)}"
        )
    _check_scalar(env, "reward", reward, "iuf", "a scalar float (shape ())")
    _check_scalar(env, "terminated flag", terminated, "biu", "a scalar bool (shape ())")
    _check_scalar(env, "truncated flag", truncated, "biu", "a scalar bool (shape ())")
