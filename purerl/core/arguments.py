"""Checks of the arguments of the public entry points (`train`, `evaluate`, `train_many`,
and the families' own), before any tracing: a clear `TypeError` / `ValueError` naming the
function and the argument instead of an error from deep inside JAX or a silent result.

`check_state` compares a train state with what `agent.init` builds, by
`jax.eval_shape` (traced once per agent and cached, never compiled): a state of another
algorithm, or of the same algorithm with other sizes, is named as such.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purerl.types import Agent

__all__ = ["check_agent", "check_callable", "check_count", "check_key", "check_state"]


def _got(value) -> str:
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"got {text} ({type(value).__name__})"


def check_agent(where: str, agent: Any) -> None:
    if not isinstance(agent, Agent):
        raise TypeError(
            f"{where}: agent must be a purerl.Agent (from an algorithm's make(env, "
            f"env_params, config)), {_got(agent)}"
        )


def _is_key_array(x) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def check_key(where: str, key: Any, name: str = "key", batched: bool = False) -> None:
    """`key` must be a PRNG key (`jax.random.key(0)`, or a legacy uint32 `PRNGKey`); with
    `batched`, a non-empty batch of them (`jax.random.split(key, n)`)."""
    typed = _is_key_array(key)
    raw = (
        isinstance(key, jax.Array | np.ndarray)
        and not typed
        and key.dtype == np.uint32
        and key.ndim >= 1
    )
    what = "a batch of PRNG keys (jax.random.split(key, n))" if batched else "a PRNG key"
    if not (typed or raw):
        raise TypeError(f"{where}: {name} must be {what}, e.g. jax.random.key(0), {_got(key)}")
    ndim = key.ndim if typed else key.ndim - 1
    if batched:
        if ndim != 1:
            raise ValueError(
                f"{where}: {name} must be a 1-d batch of keys [S], got shape {tuple(key.shape)}"
            )
        if key.shape[0] == 0:
            raise ValueError(f"{where}: {name} is empty (0 keys); pass at least one key")
    elif ndim != 0:
        raise ValueError(
            f"{where}: {name} must be a single key, got a batch of shape "
            f"{tuple(key.shape)} (for many seeds use purerl.train_many or jax.vmap)"
        )


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. A `TypeError`; also a `ValueError`, which `train`
    raised for a non-int `num_updates` before these checks."""


def check_count(where: str, name: str, value: Any, minimum: int = 0) -> int:
    """A Python int (numpy integers converted) `>= minimum`; returned."""
    what = {0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ArgumentTypeError(f"{where}: {name} must be {what}, {_got(value)}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be {what}, got {value}")
    return int(value)


def check_callable(where: str, name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{where}: {name} must be callable or None, {_got(value)}")


def _type_name(x) -> str:
    return f"{type(x).__module__}.{type(x).__qualname__}"


def _expected_state(agent: Agent, key_spec, cache: dict | None):
    ck = ("init_shapes", key_spec.shape, str(key_spec.dtype))
    if cache is not None and ck in cache:
        return cache[ck]
    try:
        out = jax.eval_shape(agent.init, key_spec)
    except Exception:  # an init that cannot be traced abstractly: nothing to compare with
        out = None
    if cache is not None:
        cache[ck] = out
    return out


def _spec(x):
    return getattr(x, "shape", np.shape(x)), getattr(x, "dtype", None)


def _differences(state, expected, batch_dims: int) -> list[str]:
    got = dict(jax.tree_util.tree_flatten_with_path(state)[0])
    want = dict(jax.tree_util.tree_flatten_with_path(expected)[0])
    names = {jax.tree_util.keystr(p): p for p in (*got, *want)}
    diffs = []
    for name, p in sorted(names.items(), key=lambda item: (len(item[1]), item[0])):
        if p not in got:
            diffs.append(f"{name or 'state'} missing (the agent's state has it)")
            continue
        if p not in want:
            diffs.append(f"{name or 'state'} is extra (not in the agent's state)")
            continue
        (gs, gd), (ws, wd) = _spec(got[p]), _spec(want[p])
        gs = tuple(gs)[batch_dims:]
        if gs != tuple(ws) or (gd is not None and wd is not None and gd != wd):
            diffs.append(f"{name}: {gd}{list(gs)} instead of {wd}{list(ws)}")
    return diffs


def check_state(
    where: str, agent: Agent, state: Any, batch_dims: int = 0, cache: dict | None = None
) -> None:
    """`state` (with `batch_dims` leading batch axes) must have the type, structure, shapes
    and dtypes of `agent.init`'s state; the expected one is cached in `cache`."""
    candidates = [
        jax.ShapeDtypeStruct((), jax.random.key(0).dtype),
        jax.ShapeDtypeStruct((2,), jnp.uint32),  # legacy uint32 keys
    ]
    reports = []
    for spec in candidates:
        expected = _expected_state(agent, spec, cache)
        if expected is None:
            return
        if _type_name(state) != _type_name(expected):
            raise TypeError(
                f"{where}: state is a {_type_name(state)}, but this agent's state is a "
                f"{_type_name(expected)} (a state of another algorithm?)"
            )
        diffs = _differences(state, expected, batch_dims)
        if not diffs:
            return
        reports.append(diffs)
    diffs = min(reports, key=len)
    more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
    raise ValueError(
        f"{where}: state does not match this agent's (another config, or another "
        f"algorithm's state?): {'; '.join(diffs[:3])}{more}"
    )
