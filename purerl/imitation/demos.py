"""Expert demonstrations: collect, save / load (`.npz`), flatten.

A `Demos` is a time-major trajectory pytree `[T, N, ...]`: `N` episodes, one per column,
each run from a fresh reset for at most `T` steps. `mask[t, n]` is True on the steps of
episode `n` (up to and including the step that ended it) and False afterwards; masked-out
entries are zeros. `next_obs` is the *true* next observation, the final one where an
episode ended (never the auto-reset one), as in `purerl.Transition`.

Where `T` is shorter than the env's own time limit, the last step of an episode that is
still running is marked `truncated` (a time limit cut it), so the flags keep their meaning.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purerl import envs
from purerl.core import arguments as A
from purerl.core.checkpoint import atomic_write
from purerl.core.rollout import reset_envs, rollout

Array = jax.Array
ActFn = Callable[[Any, jax.Array], Any]  # act_fn(obs [*obs_shape], key) -> action

_FORMAT = "purerl-demos-v1"


class Demos(NamedTuple):
    """Time-major demonstrations, `T` steps by `N` episodes (one env each).

    Attributes:
      obs: observation the action was taken in, `[T, N, *obs_shape]`.
      action: the demonstrator's action, `[T, N, *action_shape]`.
      reward: reward received, `[T, N]`.
      terminated: the episode really ended at this step, `[T, N]` bool.
      truncated: a time limit cut the episode at this step, `[T, N]` bool.
      next_obs: the true next observation (the final one at an episode's end),
        `[T, N, *obs_shape]`.
      mask: True on the steps of the episode, False after it ended, `[T, N]` bool.

    `flatten_episodes(demos)` gives the valid steps as `[M, ...]` leaves (same type, no time axis).
    """

    obs: Array
    action: Array
    reward: Array
    terminated: Array
    truncated: Array
    next_obs: Array
    mask: Array


def time_limit(env_params, default: int = 1000) -> int:
    """The env's own episode time limit (`max_steps_in_episode`), else `default`."""
    limit = getattr(env_params, "max_steps_in_episode", None)
    return int(limit) if isinstance(limit, int | np.integer) else default


def collect_demos(
    act_fn: ActFn,
    env,
    env_params,
    key: jax.Array,
    num_episodes: int,
    max_steps: int | None = None,
) -> Demos:
    """Run exactly one episode of `act_fn` in each of `num_episodes` fresh envs.

    Args:
      act_fn: `act_fn(obs [*obs_shape], key) -> action`, unbatched and pure (vmapped
        here), e.g. `lambda o, k: agent.act(state, o, k)`.
      env, env_params: an env from `purerl.make_env`; continuous actions are in [-1, 1].
      key: PRNG key, consumed.
      num_episodes: N, a Python int.
      max_steps: T; default the env's time limit. Episodes still running at step T are
        marked truncated there.

    Returns:
      `Demos` with leaves `[T, N, ...]`. Jittable (with the ints static).
    """
    if not isinstance(num_episodes, int) or num_episodes < 1:
        raise ValueError(
            f"collect_demos: num_episodes must be a positive int, got {num_episodes!r}"
        )
    T = time_limit(env_params) if max_steps is None else max_steps
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"collect_demos: max_steps must be a positive int, got {max_steps!r}")
    A.check_key("collect_demos", key)
    A.check_callable("collect_demos", "act_fn", act_fn)
    N = num_episodes
    k_reset, k_roll = jax.random.split(key)
    obs, env_state = reset_envs(k_reset, env, env_params, N)

    def policy(o, k):
        return jax.vmap(act_fn)(o, jax.random.split(k, N)), {}

    _, _, tr = rollout(k_roll, env, env_params, policy, env_state, obs, T)
    done = tr.terminated | tr.truncated
    ended_before = (jnp.cumsum(done, axis=0) - done) > 0
    mask = ~ended_before
    last = jnp.arange(T)[:, None] == T - 1
    truncated = tr.truncated | (last & mask & ~tr.terminated)

    def keep(x):
        m = mask.reshape(mask.shape + (1,) * (x.ndim - 2))
        return jnp.where(m, x, jnp.zeros_like(x))

    return Demos(
        obs=keep(tr.obs),
        action=keep(tr.action),
        reward=keep(tr.reward),
        terminated=tr.terminated & mask,
        truncated=truncated & mask,
        next_obs=keep(tr.next_obs),
        mask=mask,
    )


def demo_returns(demos: Demos) -> Array:
    """Undiscounted return of each episode, `[N]`."""
    return jnp.sum(jnp.where(demos.mask, demos.reward, 0.0), axis=0)


def episode_lengths(demos: Demos) -> Array:
    """Steps of each episode, `[N]`."""
    return jnp.sum(demos.mask, axis=0)


def num_episodes(demos: Demos) -> int:
    return int(np.shape(demos.mask)[1])


def select(demos: Demos, episodes) -> Demos:
    """The columns `episodes` (an int n: the first n episodes; or an index array)."""
    idx = slice(0, episodes) if isinstance(episodes, int) else np.asarray(episodes)
    return Demos(*(x[:, idx] for x in demos))


def flatten_episodes(demos: Demos) -> Demos:
    """The valid steps only, every leaf `[M, ...]` with `M = mask.sum()` (host-side: `M`
    depends on the data, so this is not jittable; call it once, outside `jit`)."""
    demos = jax.tree.map(np.asarray, demos)
    mask = demos.mask
    if mask.ndim != 2:
        raise ValueError(
            f"flatten_episodes: expects time-major [T, N] demos, got mask shape {mask.shape}"
        )
    # time-major order within each episode, episodes one after another
    return Demos(*(np.swapaxes(x, 0, 1)[mask.T] for x in demos))


# -------------------------------------------------------------------- checks and files
def check_demos(demos: Demos, who: str = "demos", env=None, env_params=None) -> None:
    """Raise `ValueError` unless `demos` is a consistent time-major `Demos` (and, with
    `env`, one whose observations and actions fit that env)."""
    if not isinstance(demos, Demos):
        raise ValueError(f"{who}: expects a purerl.imitation.Demos, got {type(demos).__name__}")
    shapes = {f: tuple(np.shape(x)) for f, x in zip(Demos._fields, demos, strict=True)}
    tn = shapes["mask"]
    if len(tn) != 2 or 0 in tn:
        raise ValueError(f"{who}: mask must be a non-empty [T, N] array, got shape {tn}")
    for f in ("reward", "terminated", "truncated"):
        if shapes[f] != tn:
            raise ValueError(f"{who}: {f} has shape {shapes[f]}, expected [T, N] = {tn}")
    for f in ("obs", "action", "next_obs"):
        if shapes[f][:2] != tn:
            raise ValueError(f"{who}: {f} has shape {shapes[f]}, expected [T, N, ...] with {tn}")
    if shapes["next_obs"] != shapes["obs"]:
        raise ValueError(f"{who}: next_obs {shapes['next_obs']} != obs {shapes['obs']}")
    if not np.any(np.asarray(demos.mask)):
        raise ValueError(f"{who}: no valid step (mask is all False)")
    if env is None:
        return
    want_obs = envs.obs_shape(env, env_params)
    if shapes["obs"][2:] != want_obs:
        raise ValueError(
            f"{who}: observations have shape {shapes['obs'][2:]}, the env's are {want_obs}"
        )
    if envs.is_discrete(env, env_params):
        if shapes["action"][2:] != () or not np.issubdtype(
            np.asarray(demos.action).dtype, np.integer
        ):
            raise ValueError(
                f"{who}: a discrete-action env takes integer scalar actions, got "
                f"{np.asarray(demos.action).dtype}{list(shapes['action'][2:])}"
            )
    else:
        want_act = envs.action_shape(env, env_params)
        if shapes["action"][2:] != want_act:
            raise ValueError(
                f"{who}: actions have shape {shapes['action'][2:]}, the env's are {want_act}"
            )


def save_demos(path: str | os.PathLike, demos: Demos) -> str:
    """Write `demos` to `path` (`.npz`) atomically: a temporary file in the same folder,
    fsynced, then renamed over `path`. Returns the path."""
    check_demos(demos, "save_demos")
    arrays = {f: np.asarray(x) for f, x in zip(Demos._fields, demos, strict=True)}
    return atomic_write(path, lambda f: np.savez(f, format=np.asarray(_FORMAT), **arrays), ".npz")


def load_demos(path: str | os.PathLike) -> Demos:
    """Read demos written by `save_demos`, checking fields and shapes.

    Raises:
      ValueError: not a purerl demos file, a missing field, or inconsistent shapes.
    """
    path = os.fspath(path)
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise ValueError(f"demos file {path} is empty (0 bytes)")
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):  # a single .npy array
            raise ValueError(f"{path} is not a purerl demos file (a single .npy array)")
        with f:
            if "format" not in f.files or str(f["format"]) != _FORMAT:
                raise ValueError(f"{path} is not a purerl demos file")
            missing = [k for k in Demos._fields if k not in f.files]
            if missing:
                raise ValueError(f"{path}: missing fields {missing}")
            demos = Demos(**{k: f[k] for k in Demos._fields})
    except FileNotFoundError:
        raise
    except ValueError as e:
        if str(e).startswith(path):
            raise
        raise _unreadable(path, e) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise _unreadable(path, e) from None
    check_demos(demos, f"load_demos({path})")
    return demos


def _unreadable(path: str, e: Exception) -> ValueError:
    """A clear error for a demos file numpy cannot read (never numpy's advice to load
    pickles: a purerl demos file holds no pickled objects)."""
    return ValueError(
        f"demos file {path} is truncated, corrupt or not a purerl demos file "
        f"(numpy could not read it: {type(e).__name__})"
    )
