"""Generic drivers: `train`, `evaluate`, and the scan loop `train_loop` they compile.

`train` is `jit(train_loop)`, i.e. `jit(init + lax.scan(update))`; it is pure, so
`jax.vmap` over keys trains many seeds in one compile, and building the agent inside a
vmapped function sweeps hyper-parameters (`purerl.train_many` does both, sharded).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import jax
import jax.numpy as jnp

from purerl.envs.wrappers import inherit_statistics
from purerl.types import Agent, Metrics, PRNGKey, State


def _finite(metrics: Metrics) -> jax.Array:
    leaves = [v for v in metrics.values() if jnp.issubdtype(jnp.asarray(v).dtype, jnp.floating)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in leaves]))


def train_loop(
    agent: Agent,
    key: PRNGKey | None,
    state: State | None,
    num_updates: int,
    *,
    stop_on_nonfinite: bool = False,
    progress: Callable[[jax.Array, Metrics], None] | None = None,
    progress_every: int = 10,
) -> tuple[State, Metrics]:
    """The training loop, not compiled: `agent.init(key)` when `state` is None, then a
    `lax.scan` of `num_updates` calls of `agent.update`.

    What `train` jits (see it for the arguments); call it inside your own `jit`/`vmap`
    (as `purerl.train_many` does) to compose training with other transformations.
    Each metric is stacked over updates `[num_updates]`, plus `finite` (and `halted` with
    `stop_on_nonfinite`).
    """
    if state is None:
        state = agent.init(key)

    def body(carry, i):
        state, halted = carry
        new_state, metrics = agent.update(state)
        finite = _finite(metrics)
        if stop_on_nonfinite:
            halted = jnp.logical_or(halted, ~finite)
            new_state = jax.tree.map(lambda n, o: jnp.where(halted, o, n), new_state, state)
        metrics = {**metrics, "finite": finite.astype(jnp.float32)}
        if stop_on_nonfinite:
            metrics["halted"] = halted.astype(jnp.float32)
        if progress is not None:
            jax.lax.cond(
                (i + 1) % progress_every == 0,
                lambda: jax.debug.callback(progress, i + 1, metrics, ordered=False),
                lambda: None,
            )
        return (new_state, halted), metrics

    (state, _), metrics = jax.lax.scan(body, (state, jnp.asarray(False)), jnp.arange(num_updates))
    return state, metrics


def train(
    agent: Agent,
    key: PRNGKey | None = None,
    num_updates: int | None = None,
    state: State | None = None,
    *,
    stop_on_nonfinite: bool = False,
    progress: Callable[[jax.Array, Metrics], None] | None = None,
    progress_every: int = 10,
) -> tuple[State, Metrics]:
    """Train `agent`: `init(key)` (unless `state` is given), then `num_updates` updates.

    Args:
      agent: from an algorithm's `make(env, env_params, config)`.
      key: PRNG key, consumed by `agent.init` (ignored when `state` is given).
      num_updates: updates to run; default `agent.num_updates` (the config's budget).
      state: continue from this train state (e.g. a loaded checkpoint).
      stop_on_nonfinite: once an update produces a non-finite metric (a NaN loss), keep
        the last finite state for the rest of the run (`metrics["halted"]` turns 1).
        Off by default: it selects between the old and new state every update, which
        costs a copy of the whole state (for DQN, the replay buffer) per update. Every
        run reports `metrics["finite"]` either way.
      progress: optional host callback `progress(update_index, metrics)`, called every
        `progress_every` updates from inside the compiled loop.

    Returns:
      `(state, metrics)`; each metric stacked over updates: `[num_updates]`.
    """
    if state is None and key is None:
        raise ValueError("train: pass a key (to init a new state) or a state to continue")
    n = agent.num_updates if num_updates is None else num_updates
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"train: num_updates must be a non-negative int, got {n!r}")
    statics = (n, stop_on_nonfinite, progress, progress_every, state is None)
    per_agent = jit_cache(agent.update)
    fn = per_agent.get(statics)
    if fn is None:

        def fn(key, state):
            return train_loop(
                agent,
                key,
                state,
                n,
                stop_on_nonfinite=stop_on_nonfinite,
                progress=progress,
                progress_every=progress_every,
            )

        fn = jax.jit(fn)
        per_agent[statics] = fn
    return fn(key, state)


def jit_cache(owner) -> dict:
    """A dict for the compiled training programs of one agent, kept on `owner` (the agent's
    `update` function, or the factory `train_many` builds agents with) so they live and
    die with it (a module-level cache keyed on the agent would keep it alive). Key it on
    everything static about the program."""
    cache = getattr(owner, "_purerl_train_jit", None)
    if cache is None:
        cache = {}
        # A bound method takes no attributes: then nothing is cached, each call compiles.
        with contextlib.suppress(AttributeError):
            owner._purerl_train_jit = cache
    return cache


def evaluate(
    agent: Agent,
    state: State,
    key: PRNGKey,
    num_episodes: int = 10,
    max_steps: int | None = None,
) -> jax.Array:
    """Undiscounted returns of `num_episodes` episodes of `agent.act` (greedy / mean action).
    A recurrent agent (`agent.initial_carry` set) acts with its memory, reset at every
    episode's end.

    Runs `num_episodes` fresh envs in parallel until each has finished one episode (or
    `max_steps` steps, default the env's time limit). Observation-normalisation statistics
    are copied from the train state's envs and frozen. Jittable and vmappable.

    Returns:
      `[num_episodes]` returns.
    """
    env, params = agent.env, agent.env_params
    if env is None:
        raise ValueError("evaluate: this agent carries no env (Agent.env is None)")
    if max_steps is None:
        limit = getattr(params, "max_steps_in_episode", None)
        max_steps = int(limit) if isinstance(limit, int) else 10_000
    k_reset, k_loop = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(k_reset, num_episodes), params
    )
    if hasattr(state, "env_state"):
        env_state = inherit_statistics(env_state, state.env_state)
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    zeros = jnp.zeros(num_episodes, jnp.float32)
    # a recurrent policy's memory (Agent.initial_carry), reset where an episode ends
    fresh = None
    if getattr(agent, "initial_carry", None) is not None:
        fresh = jax.tree.map(
            lambda x: jnp.broadcast_to(x, (num_episodes, *jnp.shape(x))), agent.initial_carry()
        )
        act = jax.vmap(agent.act, in_axes=(None, 0, 0, 0))
    else:
        act = jax.vmap(agent.act, in_axes=(None, 0, 0))
    carry0 = (k_loop, env_state, obs, zeros, zeros, jnp.zeros(num_episodes, bool), 0, fresh)

    def cond(c):
        return jnp.logical_and(~jnp.all(c[5]), c[6] < max_steps)

    def body(c):
        key, env_state, obs, running, returns, finished, t, memory = c
        key, k_act, k_step = jax.random.split(key, 3)
        k_acts = jax.random.split(k_act, num_episodes)
        if fresh is None:
            action = act(state, obs, k_acts)
        else:
            action, memory = act(state, obs, k_acts, memory)
        obs, env_state, reward, term, trunc, info = step(
            jax.random.split(k_step, num_episodes), env_state, action, params
        )
        running = running + reward
        ended = jnp.logical_or(term, trunc)
        if fresh is not None:
            memory = jax.tree.map(
                lambda f, m: jnp.where(ended.reshape(ended.shape + (1,) * (m.ndim - 1)), f, m),
                fresh,
                memory,
            )
        ep_ret = info.get("episode_return", running)
        newly = ended & ~finished
        returns = jnp.where(newly, ep_ret, returns)
        finished = finished | ended
        running = jnp.where(ended, 0.0, running)
        return key, env_state, obs, running, returns, finished, t + 1, memory

    out = jax.lax.while_loop(cond, body, carry0)
    running, returns, finished = out[3], out[4], out[5]
    return jnp.where(finished, returns, running)
