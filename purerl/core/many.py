"""`train_many`: the one way to train many runs (seeds, hyper-parameter settings) at once.

A batch of seeds (crossed or zipped with a batch of hyper-parameter values) is trained in
one compiled program, `jit(vmap(train_loop))`, with the batch axis sharded over the
devices of a `jax.sharding.Mesh` (`NamedSharding`). The batch is padded to a multiple of
the device count and the padding dropped. Without a mesh, all devices are used when there
are several (on CPU, `import purerl` makes one device per core: see `purerl.core.devices`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from purerl.core import arguments as A
from purerl.core.devices import batch_mesh, global_array
from purerl.core.train import _check_log_eval, jit_cache, train_loop
from purerl.types import Agent


def train_many(
    agent_fn: Callable[[Any], Agent] | Agent,
    keys: jax.Array,
    hparams: Any = None,
    mesh: Mesh | None = None,
    combine: str = "cross",
    *,
    num_updates: int | None = None,
    stop_on_nonfinite: bool = False,
    states: Any = None,
    log: Callable[[dict], None] | None = None,
    log_every: int = 1,
    eval_every: int = 0,
    eval_episodes: int = 8,
    update_offset: int = 0,
    run_updates: int | None = None,
    compile_only: bool = False,
):
    """Train a batch of runs in one compiled program, sharded over the devices of `mesh`.

    Args:
      agent_fn: `agent_fn(h) -> Agent` for one slice `h` of `hparams` (its leaves traced
        scalars/arrays, e.g. `lambda h: ppo.make(env, p, replace(cfg, learning_rate=h))`);
        or an `Agent` when `hparams` is None. Sizes that fix array shapes (and the
        number of updates) must not depend on `h`.
      keys: `[S]` PRNG keys, one per seed (`jax.random.split(key, S)`).
      hparams: None, or a pytree whose leaves share a leading axis `[H]`.
      mesh: devices to shard the batch over (every mesh axis). None: all devices when
        there are several (on CPU, see `purerl.core.devices`; on one host at most one per
        run), else no sharding.
      combine: "cross": every seed with every setting, results `[H, S, ...]`;
        "zip": seed `i` with setting `i` (`H == S`), results `[S, ...]`.
      num_updates, stop_on_nonfinite, log, log_every, eval_every, eval_episodes: as in
        `purerl.train`; `log` receives `run`, the run's index in the flattened batch
        (`h * S + s` when crossed), and -1 for the padding runs (skip those). Each run's
        evaluation key is `jax.random.fold_in(keys[s], 1)`, as `train` with that key.
      update_offset, run_updates: run a long training in chunks of one compiled length
        (`purerl.cli.experiment` does): number this call's updates from
        `update_offset + 1` (logs and evaluation), and run only the first `run_updates`
        of the `num_updates` scanned updates (the rest leave the states unchanged; their
        metrics are 0; drop them). Neither triggers a new compile.
      compile_only: compile (and cache) the program for these arguments without running
        it, and return None; the next call with them runs at once (to time the compile).
      states: continue these runs (the `states` of an earlier call with the same keys,
        hparams and combine) instead of initialising new ones; e.g. a long run in chunks
        with progress in between (`purerl.cli.experiment`). `num_updates=0` only inits.

    Returns:
      `(states, metrics)` stacked over the batch (leading `[S]`, `[H, S]` or `[S]`). With
      several processes the arrays are global; `purerl.core.devices.gather` fetches them
      to every host.
    """
    A.check_key("train_many", keys, "keys", batched=True)
    if num_updates is not None:
        num_updates = A.check_count("train_many", "num_updates", num_updates)
    if not isinstance(stop_on_nonfinite, bool):
        raise TypeError(f"train_many: stop_on_nonfinite must be a bool, got {stop_on_nonfinite!r}")
    if not callable(agent_fn):
        A.check_agent("train_many", agent_fn)
    if combine not in ("cross", "zip"):
        raise ValueError(f"train_many: combine must be 'cross' or 'zip', got {combine!r}")
    if hparams is None and not isinstance(agent_fn, Agent):
        raise ValueError("train_many: without hparams, pass an Agent (not a factory)")
    if hparams is not None and isinstance(agent_fn, Agent):
        raise ValueError("train_many: with hparams, pass a factory `agent_fn(h) -> Agent`")
    typed = jnp.issubdtype(keys.dtype, jax.dtypes.prng_key)
    raw = np.asarray(jax.random.key_data(keys) if typed else keys)
    S = raw.shape[0]
    if hparams is None:
        H, seed_idx, hp_idx = 1, np.arange(S), None
    else:
        hp_leaves = jax.tree.leaves(hparams)
        if not hp_leaves:
            raise ValueError("train_many: hparams has no leaves")
        H = int(np.shape(hp_leaves[0])[0])
        if any(np.shape(x)[:1] != (H,) for x in hp_leaves):
            raise ValueError("train_many: every hparams leaf needs the same leading axis [H]")
        if combine == "zip":
            if H != S:
                raise ValueError(
                    f"train_many: combine='zip' needs as many settings ({H}) as keys ({S})"
                )
            seed_idx, hp_idx = np.arange(S), np.arange(S)
        else:
            seed_idx, hp_idx = np.tile(np.arange(S), H), np.repeat(np.arange(H), S)
    B = len(seed_idx)
    if states is not None and isinstance(agent_fn, Agent):
        A.check_state(
            "train_many", agent_fn, states, batch_dims=1, cache=jit_cache(agent_fn.update)
        )
    if states is not None:
        lead = (H, S) if hparams is not None and combine == "cross" else (S,)
        shapes = {tuple(np.shape(x)[: len(lead)]) for x in jax.tree.leaves(states)}
        if shapes != {lead}:
            raise ValueError(
                f"train_many: states must come from an earlier call with the same keys, "
                f"hparams and combine (leading axes {lead}), got leading axes {sorted(shapes)}"
            )
    _check_log_eval(log, log_every, eval_every, eval_episodes)
    for name, v in (("update_offset", update_offset), ("run_updates", run_updates)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0):
            raise ValueError(f"train_many: {name} must be an int >= 0, got {v!r}")
    if mesh is None and jax.device_count() > 1:
        # one host: no more devices than runs (a single run is not split); several hosts:
        # every device, so that each process takes part
        many = jax.process_count() > 1
        devices = jax.devices() if many else jax.devices()[: max(B, 1)]
        mesh = batch_mesh(devices) if len(devices) > 1 else None
    D = 1 if mesh is None else mesh.size
    pad = (-B) % D
    # Padding repeats the last run; its results are dropped inside the program.
    seed_idx = np.concatenate([seed_idx, np.full(pad, seed_idx[-1])])
    inputs = {"key": raw[seed_idx], "run": np.where(np.arange(B + pad) < B, np.arange(B + pad), -1)}
    if hp_idx is not None:
        hp_idx = np.concatenate([hp_idx, np.full(pad, hp_idx[-1])])
        inputs["hp"] = jax.tree.map(lambda x: np.asarray(x)[hp_idx], hparams)
    sharding = None
    if mesh is not None:
        sharding = NamedSharding(mesh, P(tuple(mesh.axis_names)))
        inputs = jax.tree.map(lambda x: global_array(x, sharding), inputs)

    owner = agent_fn.update if isinstance(agent_fn, Agent) else agent_fn
    statics = ("train_many", mesh, combine, num_updates, stop_on_nonfinite, typed, B, S, H)
    statics += (states is None, log, log_every, eval_every, eval_episodes, run_updates is None)
    cache = jit_cache(owner)
    fn = cache.get(statics)
    if fn is None:

        def one(inp, state, offset, run_n):
            key = jax.random.wrap_key_data(inp["key"]) if typed else inp["key"]
            agent = agent_fn if hparams is None else agent_fn(inp["hp"])
            n = agent.num_updates if num_updates is None else num_updates
            return train_loop(
                agent,
                key,
                state,
                n,
                stop_on_nonfinite=stop_on_nonfinite,
                log=log,
                log_every=log_every,
                log_id=inp["run"],
                eval_every=eval_every,
                eval_episodes=eval_episodes,
                eval_key=jax.random.fold_in(key, 1),
                update_offset=offset,
                run_updates=run_n,
            )

        def batched(x):  # a result's [H, S] / [S] layout -> the padded [B + pad] batch
            if hparams is not None and combine == "cross":
                x = x.reshape((B,) + x.shape[2:])
            x = jnp.concatenate([x] + [x[-1:]] * pad) if pad else x
            return x if sharding is None else jax.lax.with_sharding_constraint(x, sharding)

        def many(inp, states, offset, run_n):
            if states is not None:
                states = jax.tree.map(batched, states)
            out = jax.vmap(one, in_axes=(0, 0, None, None))(inp, states, offset, run_n)
            if sharding is not None:
                out = jax.lax.with_sharding_constraint(out, sharding)
            if pad:  # (XLA may gather the result to every device)
                out = jax.tree.map(lambda x: x[:B], out)
            if hparams is not None and combine == "cross":
                out = jax.tree.map(lambda x: x.reshape((H, S) + x.shape[1:]), out)
            return out

        fn = jax.jit(many)
        cache[statics] = fn
    if compile_only:
        fn.lower(inputs, states, update_offset, run_updates).compile()
        return None
    return fn(inputs, states, update_offset, run_updates)
