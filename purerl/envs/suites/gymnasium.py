"""`gymnasium/<id>`: a Gymnasium env stepped on the host through an XLA callback, for an
environment that is not written in JAX (`gymnasium.make_vec(id, **kwargs)`).

How it works: purerl's algorithms `jax.vmap` `env.reset` / `env.step` over their envs. Here
those functions carry a `custom_vmap` rule: the batch of `B` envs becomes one ordered
`io_callback` into a host `gymnasium` vector env of `B` copies (sync, Gymnasium's same-step
auto-reset, so `info["final_obs"]` gives the true last observation). The JAX state holds
only a step counter; the envs' real state lives on the host. `terminated` and `truncated`
are Gymnasium's own (its `TimeLimit`, `max_episode_steps`); rewards float32.

What it cannot do (each a clear error or stated here):
- no `jax.vmap` over seeds (or any second vmap around the env batch): the host state
  cannot be batched (ValueError at trace time); train seeds one after another, or in
  separate processes;
- no sharding over devices, no `pmap`: one process, one host env pool;
- one host vector env per batch size `B` in a process: two env batches of the same size
  (say, two trainings interleaved, or evaluation with as many episodes as training envs
  in between training calls) share and reset each other; `reset` re-seeds that pool;
- checkpoints hold no host state: a resumed run starts its envs anew, and runs are
  reproducible only as far as the Gymnasium env is under its `reset(seed=...)`;
- speed: each step is a host round trip (Python env code), far slower than a JAX env;
- only `Discrete` (from 0) and `Box` action and observation spaces.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import spaces
from jax.custom_batching import custom_vmap
from jax.experimental import io_callback

from purerl.envs.suites.base import require


@struct.dataclass
class HostState:
    time: jax.Array  # steps in the current episode (the env itself lives on the host)


@struct.dataclass
class HostParams:
    max_steps_in_episode: int = 1000  # Gymnasium's max_episode_steps (informational)


def _space(s, what, env_id):
    gym = require("gymnasium", "gymnasium")
    if isinstance(s, gym.spaces.Discrete) and int(s.start) == 0:
        return spaces.Discrete(int(s.n))
    if isinstance(s, gym.spaces.Box):
        return spaces.Box(np.asarray(s.low), np.asarray(s.high), tuple(s.shape), s.dtype)
    raise ValueError(
        f"gymnasium/{env_id}: its {what} space {s} is not supported (Discrete from 0, Box)"
    )


def _no_outer_vmap(args, env_id):
    if args is None or any(type(x).__name__ == "BatchTracer" for x in jax.tree.leaves(args)):
        raise ValueError(
            f"gymnasium/{env_id}: a host Gymnasium env cannot be vmapped over seeds (or "
            "under any second jax.vmap): its state lives on the host. Train one seed at "
            "a time; see purerl.envs.suites.gymnasium for what host envs cannot do."
        )


class GymnasiumEnv:
    """A Gymnasium env behind purerl's env interface (see the module docstring)."""

    def __init__(self, env_id: str, kwargs: dict):
        self.gym = require("gymnasium", "gymnasium")
        self.env_id = env_id
        self.kwargs = kwargs
        probe = self.gym.make(env_id, **kwargs)
        self._action_space = _space(probe.action_space, "action", env_id)
        self._obs_space = _space(probe.observation_space, "observation", env_id)
        limit = probe.spec.max_episode_steps if probe.spec is not None else None
        probe.close()
        self._limit = int(limit) if limit else 2**31 - 1
        self._pool: dict[int, Any] = {}  # batch size -> gymnasium vector env
        self._obs_dtype = jnp.dtype(self._obs_space.dtype)
        self._act_dtype = jnp.int32 if self.discrete else jnp.float32
        self._reset = self._batched(self._host_reset, 1)
        self._step = self._batched(self._host_step, 5)

    # ------------------------------------------------------------------ interface
    @property
    def name(self) -> str:
        return f"gymnasium/{self.env_id}"

    @property
    def discrete(self) -> bool:
        return isinstance(self._action_space, spaces.Discrete)

    @property
    def default_params(self) -> HostParams:
        return HostParams(self._limit)

    def action_space(self, params=None):
        return self._action_space

    def observation_space(self, params=None):
        return self._obs_space

    def reset(self, key, params=None):
        seed = jax.random.randint(key, (), 0, 2**31 - 1, jnp.int32)
        (obs,) = self._reset(seed)
        return obs, HostState(jnp.zeros((), jnp.int32))

    def step(self, key, state, action, params=None):
        obs, reward, term, trunc, final = self._step(jnp.asarray(action, self._act_dtype))
        done = jnp.logical_or(term, trunc)
        info = {"terminated": term, "truncated": trunc, "final_observation": final}
        return obs, HostState(jnp.where(done, 0, state.time + 1)), reward, term, trunc, info

    # ------------------------------------------------------------------ host side
    def _vec(self, n: int):
        if n not in self._pool:
            mode = self.gym.vector.AutoresetMode.SAME_STEP
            self._pool[n] = self.gym.make_vec(
                self.env_id,
                num_envs=n,
                vectorization_mode="sync",
                vector_kwargs={"autoreset_mode": mode},
                **self.kwargs,
            )
        return self._pool[n]

    def _host_reset(self, seeds):
        seeds = np.asarray(seeds)
        obs, _ = self._vec(len(seeds)).reset(seed=[int(s) for s in seeds])
        return (np.asarray(obs, self._obs_dtype),)

    def _host_step(self, actions):
        actions = np.asarray(actions)
        obs, reward, term, trunc, info = self._vec(len(actions)).step(actions)
        obs = np.asarray(obs, self._obs_dtype)
        final = obs.copy()
        if "_final_obs" in info:
            for i in np.flatnonzero(info["_final_obs"]):
                final[i] = info["final_obs"][i]
        return (
            obs,
            np.asarray(reward, np.float32),
            np.asarray(term, bool),
            np.asarray(trunc, bool),
            final,
        )

    def _batched(self, host, n_out):
        """`f(x) -> outputs` for one env, whose vmap over B envs is one host call."""
        o = self._obs_space.shape
        shapes = [(o, self._obs_dtype), ((), jnp.float32), ((), bool), ((), bool)]
        shapes = shapes + [(o, self._obs_dtype)]
        shapes = shapes[:n_out] if n_out == 5 else [(o, self._obs_dtype)]

        @custom_vmap
        def host_call(x):
            out = [jax.ShapeDtypeStruct((x.shape[0], *s), d) for s, d in shapes]
            return tuple(io_callback(host, tuple(out), x, ordered=True))

        @host_call.def_vmap
        def outer_vmap(axis_size, in_batched, x):
            _no_outer_vmap(None, self.env_id)

        def call(b, x):
            return host_call(x)

        @custom_vmap
        def f(x):
            return tuple(y[0] for y in call(1, x[None]))

        @f.def_vmap
        def rule(axis_size, in_batched, x):
            _no_outer_vmap(x, self.env_id)
            if not in_batched[0]:
                x = jnp.broadcast_to(x, (axis_size, *x.shape))
            return call(axis_size, x), tuple(True for _ in shapes)

        return f


def make(name: str, **kwargs):
    gym = require("gymnasium", "gymnasium")
    if name not in gym.registry:
        raise ValueError(f"Unknown Gymnasium env {name!r} (not in gymnasium.registry)")
    env = GymnasiumEnv(name, kwargs)
    return env, env.default_params
