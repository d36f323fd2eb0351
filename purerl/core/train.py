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
import numpy as np

from purerl.core import arguments as A
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
    log: Callable[[dict], None] | None = None,
    log_every: int = 1,
    log_id: jax.Array | int = 0,
    eval_every: int = 0,
    eval_episodes: int = 8,
    eval_key: PRNGKey | None = None,
    update_offset: jax.Array | int = 0,
    run_updates: jax.Array | int | None = None,
) -> tuple[State, Metrics]:
    """The training loop, not compiled: `agent.init(key)` when `state` is None, then a
    `lax.scan` of `num_updates` calls of `agent.update`.

    What `train` jits (see it for the arguments); call it inside your own `jit`/`vmap`
    (as `purerl.train_many` does) to compose training with other transformations.
    Each metric is stacked over updates `[num_updates]`, plus `finite` (and `halted` with
    `stop_on_nonfinite`, `eval_return` with `eval_every`).

    Only for drivers that run a long training in chunks of one compiled length:
    `update_offset` (may be traced) numbers the updates of this call from
    `update_offset + 1`; `run_updates` (may be traced; unbatched under `vmap`) runs only
    the first `run_updates` of the `num_updates` scanned updates: the others leave the
    state unchanged, log nothing and their metrics are 0.
    """
    if state is None:
        state = agent.init(key)
    metric_shapes = None
    if run_updates is not None:
        metric_shapes = jax.eval_shape(agent.update, state)[1]

    def body(carry, i):
        state, halted, seen = carry
        active = jnp.asarray(True) if run_updates is None else i < run_updates
        if run_updates is None:
            new_state, metrics = agent.update(state)
        else:  # an unbatched predicate: a real branch, not a select, under vmap
            new_state, metrics = jax.lax.cond(
                active,
                agent.update,
                lambda s: (s, jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), metric_shapes)),
                state,
            )
        finite = _finite(metrics)
        if stop_on_nonfinite:
            halted = jnp.logical_or(halted, ~finite)
            new_state = jax.tree.map(lambda n, o: jnp.where(halted, o, n), new_state, state)
        metrics = {**metrics, "finite": finite.astype(jnp.float32)}
        if stop_on_nonfinite:
            metrics["halted"] = halted.astype(jnp.float32)
        u = jnp.asarray(update_offset) + i + 1  # this update's number over the whole run
        do_eval = jnp.asarray(False)
        if eval_every:
            do_eval = active & (u % eval_every == 0)
            metrics["eval_return"] = jax.lax.cond(
                do_eval,
                lambda: (
                    evaluate(agent, new_state, eval_key_at(eval_key, u), eval_episodes)
                    .mean()
                    .astype(jnp.float32)
                ),
                lambda: jnp.asarray(jnp.nan, jnp.float32),
            )
        seen = seen | (metrics.get("episodes", 1) > 0)
        if log is not None:
            data = {**metrics, "update": u, "run": jnp.asarray(log_id), "episode_seen": seen}
            jax.lax.cond(
                active & ((u % log_every == 0) | do_eval),
                lambda: jax.debug.callback(_HostLog(log), data, ordered=False),
                lambda: None,
            )
        if progress is not None:
            jax.lax.cond(
                (i + 1) % progress_every == 0,
                lambda: jax.debug.callback(progress, i + 1, metrics, ordered=False),
                lambda: None,
            )
        return (new_state, halted, seen), metrics

    carry0 = (state, jnp.asarray(False), jnp.asarray(False))
    (state, _, _), metrics = jax.lax.scan(body, carry0, jnp.arange(num_updates))
    return state, metrics


def eval_key_at(eval_key: PRNGKey, update: jax.Array | int) -> PRNGKey:
    """The key of the evaluation after update number `update` (counted from 1 over the
    whole run): `jax.random.fold_in(eval_key, update)`; so that the evaluation curve can be
    recomputed with `purerl.evaluate` from the states and this key."""
    return jax.random.fold_in(eval_key, update)


class _HostLog:
    """The host side of the logging hook: numpy values to `log(data)`, nothing returned.
    Hashable by the wrapped logger so that the compiled program is cached per logger."""

    def __init__(self, log):
        self.log = log

    def __call__(self, data):
        self.log({k: np.asarray(v) for k, v in data.items()})

    def __hash__(self):
        return hash(self.log)

    def __eq__(self, other):
        return isinstance(other, _HostLog) and other.log == self.log


def train(
    agent: Agent,
    key: PRNGKey | None = None,
    num_updates: int | None = None,
    state: State | None = None,
    *,
    stop_on_nonfinite: bool = False,
    progress: Callable[[jax.Array, Metrics], None] | None = None,
    progress_every: int = 10,
    log: Callable[[dict], None] | None = None,
    log_every: int = 1,
    log_id: jax.Array | int = 0,
    eval_every: int = 0,
    eval_episodes: int = 8,
    eval_key: PRNGKey | None = None,
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
      log: optional logger, a hashable callable `log(data)` called on the host (through
        `jax.experimental.io_callback`, from inside the compiled loop) every `log_every`
        updates and after every evaluation. `data` is a dict of numpy scalars: this
        update's metrics, `update` (its number, from 1), `run` (`log_id`) and
        `episode_seen` (an episode has completed; before that `episode_return` is the
        running return of the episodes in progress). Under `jax.vmap` it is called once
        per run (pass a mapped `log_id` to tell them apart; `purerl.train_many` does).
        Nothing is accumulated on the device: memory does not grow with the run.
        `purerl.cli.loggers` has CSV, TensorBoard and wandb loggers.
      log_id: the `run` value given to `log` (may be a traced / vmapped int).
      eval_every: every this many updates, evaluate the greedy policy
        (`purerl.evaluate`, `eval_episodes` episodes) inside the compiled loop; the mean
        return is `metrics["eval_return"]` (NaN at the other updates). The evaluation
        after update `u` uses `eval_key_at(eval_key, u)` and does not change training.
      eval_key: the evaluations' key; default `jax.random.fold_in(key, 1)`.

    Returns:
      `(state, metrics)`; each metric stacked over updates: `[num_updates]`.
    """
    A.check_agent("train", agent)
    if state is None and key is None:
        raise ValueError("train: pass a key (to init a new state) or a state to continue")
    if key is not None:
        A.check_key("train", key)
    n = A.check_count(
        "train", "num_updates", agent.num_updates if num_updates is None else num_updates
    )
    A.check_count("train", "progress_every", progress_every, minimum=1)
    A.check_callable("train", "progress", progress)
    if not isinstance(stop_on_nonfinite, bool):
        raise TypeError(f"train: stop_on_nonfinite must be a bool, got {stop_on_nonfinite!r}")
    if state is not None:
        A.check_state("train", agent, state, cache=jit_cache(agent.update))
    _check_log_eval(log, log_every, eval_every, eval_episodes)
    if eval_every and eval_key is None:
        if key is None:
            raise ValueError("train: eval_every needs eval_key when continuing from a state")
        eval_key = jax.random.fold_in(key, 1)
    statics = (n, stop_on_nonfinite, progress, progress_every, state is None)
    statics += (log, log_every, eval_every, eval_episodes)
    per_agent = jit_cache(agent.update)
    fn = per_agent.get(statics)
    if fn is None:

        def fn(key, state, log_id, eval_key):
            return train_loop(
                agent,
                key,
                state,
                n,
                stop_on_nonfinite=stop_on_nonfinite,
                progress=progress,
                progress_every=progress_every,
                log=log,
                log_every=log_every,
                log_id=log_id,
                eval_every=eval_every,
                eval_episodes=eval_episodes,
                eval_key=eval_key,
            )

        fn = jax.jit(fn)
        per_agent[statics] = fn
    return fn(key, state, log_id, eval_key)


def _check_log_eval(log, log_every, eval_every, eval_episodes) -> None:
    """The logging / evaluation arguments of `train` and `train_many`, checked before tracing."""
    if log is not None and not callable(log):
        raise TypeError(f"log must be a callable log(data), got {type(log).__name__}")
    for name, v, low in (
        ("log_every", log_every, 1),
        ("eval_every", eval_every, 0),
        ("eval_episodes", eval_episodes, 1),
    ):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")


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

    Raises:
      ValueError: `num_episodes` or `max_steps` not a positive int (before tracing).
    """
    A.check_agent("evaluate", agent)
    A.check_key("evaluate", key)
    num_episodes = A.check_count("evaluate", "num_episodes", num_episodes, minimum=1)
    if max_steps is not None:
        max_steps = A.check_count("evaluate", "max_steps", max_steps, minimum=1)
    A.check_state("evaluate", agent, state, cache=jit_cache(agent.update))
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
