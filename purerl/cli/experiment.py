"""What every training script does: train vmapped seeds in one compiled program, showing
progress, checkpointing and logging as it goes, then write the metrics (CSV), a learning
curve (PNG) and a summary to a run folder (`purerl.cli.runs`) that `--resume` continues.

Scripts stay thin: `scripts/ppo.py` is a tyro CLI (`cli`) that calls `run`. Sweeps and
other drivers reuse `train_chunks` (one compile, equal chunks, progress, checkpoints).
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from purerl.cli import curves, loggers, runs
from purerl.core.checkpoint import save
from purerl.core.devices import batch_mesh, gather, global_array
from purerl.core.many import train_many
from purerl.core.train import evaluate
from purerl.envs import make_env

_write_csv, _plot = curves.write_csv, curves.plot  # (older names)


@dataclasses.dataclass
class Result:
    out_dir: str
    eval_returns: np.ndarray  # [num_seeds, num_episodes]
    metrics: dict[str, np.ndarray]  # each [num_seeds, num_updates]
    train_seconds: float
    files: dict[str, str]
    compile_seconds: float = 0.0


def _say(quiet, *parts, end="\n"):
    if not quiet:
        sys.stdout.write(" ".join(str(p) for p in parts) + end)
        sys.stdout.flush()


def train_chunks(
    agent_fn,
    keys,
    total: int,
    chunk: int,
    *,
    hparams=None,
    combine: str = "cross",
    states=None,
    metrics: dict | None = None,
    done: int = 0,
    log=None,
    log_every: int = 1,
    eval_every: int = 0,
    eval_episodes: int = 8,
    on_chunk: Callable[[int, Any, dict], None] | None = None,
    quiet: bool = False,
):
    """Train the runs of `train_many(agent_fn, keys, hparams, combine=combine)` for `total`
    updates in chunks of `chunk` updates, all by ONE compiled program (the last chunk
    runs only what is left), printing the compile time and a progress line per chunk
    (steps/s of stepping alone). `states`/`metrics`/`done`: continue a run (a loaded
    checkpoint). `on_chunk(done, states, metrics)` is called after every chunk but the
    last (e.g. to checkpoint). Returns `(states, metrics, seconds)`: numpy metrics
    `[..., total]` and the stepping time, plus the compile time as `seconds[1]`."""
    kw = dict(hparams=hparams, combine=combine) if hparams is not None else {}
    logkw = dict(log=log, log_every=log_every, eval_every=eval_every, eval_episodes=eval_episodes)
    metrics = dict(metrics or {})
    t_compile = time.time()
    _say(quiet, "compiling the training program (once per run) ...", end="")
    if states is None:
        states, _ = train_many(agent_fn, keys, num_updates=0, **kw)
    train_many(agent_fn, keys, num_updates=chunk, states=states, update_offset=done,
               run_updates=chunk, compile_only=True, **kw, **logkw)  # fmt: skip
    compile_seconds = time.time() - t_compile
    _say(quiet, f" compiled in {compile_seconds:.1f}s")
    t0, start = time.time(), done
    while done < total:
        n = min(chunk, total - done)
        states, m = train_many(agent_fn, keys, num_updates=chunk, states=states,
                               update_offset=done, run_updates=n, **kw, **logkw)  # fmt: skip
        m = {k: np.asarray(v)[..., :n] for k, v in gather(m).items()}
        metrics = {k: np.concatenate([metrics[k], m[k]], -1) if k in metrics else m[k] for k in m}
        done += n
        if not quiet:
            _say(quiet, _progress_line(done, total, start, metrics, t0), end="")
        if on_chunk is not None and done < total:
            on_chunk(done, states, metrics)
    _say(quiet, "")
    return states, metrics, (time.time() - t0, compile_seconds)


def _progress_line(done, total, start, metrics, t0):
    m = curves.masked({k: v.reshape((-1, v.shape[-1])) for k, v in metrics.items()})
    ret = m["episode_return"][:, -1]
    steps = int(m["env_steps"][0, -1])
    first = int(m["env_steps"][0, start - 1]) if start else 0
    rate = (steps - first) * ret.shape[0] / max(time.time() - t0, 1e-9)
    bar = "#" * int(30 * done / total)
    shown = f"{np.nanmean(ret):8.2f}" if np.isfinite(ret).any() else "  (none)"
    text = (
        f"\r[{bar:<30}] {done}/{total} updates | env steps {steps:>9,d} | "
        f"return {shown} | {rate:,.0f} steps/s"
    )
    if "eval_return" in m:
        e = m["eval_return"][:, np.isfinite(m["eval_return"]).all(0)]
        if e.size:
            text += f" | eval {e[:, -1].mean():.1f}"
    return text


def _auto(value, total, parts=20):
    return max(1, math.ceil(total / parts)) if value is None else value


def run(
    algo,
    config,
    env_id: str = "CartPole-v1",
    num_seeds: int = 8,
    seed: int = 0,
    out: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    num_eval_episodes: int = 32,
    progress_chunks: int = 20,
    quiet: bool = False,
    *,
    logger: tuple[str, ...] = (),
    log_every: int | None = None,
    eval_every: int | None = None,
    eval_episodes: int = 8,
    checkpoint_every: int | None = None,
    keep_checkpoints: int = 2,
    resume: str | None = None,
) -> Result:
    """Train `num_seeds` seeds of `algo` (a module with `make`) in one vmap, then report.

    Progress, checkpoints (every `checkpoint_every` updates; default a
    `progress_chunks`-th of the run; the last `keep_checkpoints` kept), evaluation
    during training (every `eval_every` updates, default the same; 0: none) and loggers
    (`logger`: any of csv, tensorboard, wandb; every `log_every` updates, default a
    200th of the run) all come from one compiled program run in equal chunks.
    `resume=RUN_DIR` continues that run from its last checkpoint (the other arguments
    then come from its config.json).
    """
    if isinstance(num_seeds, bool) or not isinstance(num_seeds, int) or num_seeds < 1:
        raise ValueError(f"num_seeds must be an int >= 1, got {num_seeds!r}")
    for name, v in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        if v is not None and (not isinstance(v, int) or v < (0 if name == "eval_every" else 1)):
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    name = algo.__name__.rsplit(".", 1)[-1]
    env, env_params = make_env(env_id, **(env_kwargs or {}))
    agent = algo.make(env, env_params, config)
    total = agent.num_updates
    chunk = _auto(checkpoint_every, total, progress_chunks)
    eval_every = _auto(eval_every, total, progress_chunks)
    log_every = _auto(log_every, total, 200)
    settings = dict(
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        chunk=chunk,
        num_eval_episodes=num_eval_episodes,
        keep_checkpoints=keep_checkpoints,
    )
    spec = {"algo": algo.__name__, "env": env_id, "env_kwargs": env_kwargs or {},
            "num_seeds": num_seeds, "seed": seed, "config": dataclasses.asdict(config),
            "settings": settings}  # fmt: skip
    if resume is None:
        out = runs.claim(out, name, env_id)
        runs.write_json(os.path.join(out, "config.json"), spec)
        runs.write_json(os.path.join(out, "versions.json"), runs.versions())
    else:
        out = resume
    log = loggers.make(logger, out, num_seeds, config=spec) if logger else None
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    states, metrics, done = None, {}, 0
    if resume is not None:
        like, _ = train_many(agent, keys, num_updates=0)
        done, states, metrics = runs.load_checkpoint(out, like)
        if states is None:
            _say(quiet, f"resuming {out}: no checkpoint yet, starting from update 0")
        else:
            states = jax.device_put(states, jax.tree.map(lambda x: x.sharding, like))
            _say(quiet, f"resuming {out} from update {done}/{total}")

    def checkpoint(done, states, metrics):
        meta = {"algo": name, "env": env_id, "seed": seed, "config": spec["config"]}
        runs.save_checkpoint(out, done, gather(states), metrics, meta, keep_checkpoints)

    try:
        states, metrics, (train_seconds, compile_seconds) = train_chunks(
            agent, keys, total, chunk, states=states, metrics=metrics, done=done, log=log,
            log_every=log_every, eval_every=eval_every, eval_episodes=eval_episodes,
            on_chunk=checkpoint, quiet=quiet,
        )  # fmt: skip
    finally:
        if log is not None:
            log.close()
    return _finish(agent, name, env_id, spec, out, states, metrics, seed, num_eval_episodes,
                   train_seconds, compile_seconds, quiet)  # fmt: skip


def _finish(agent, name, env_id, spec, out, states, metrics, seed, num_eval_episodes,
            train_seconds, compile_seconds, quiet):  # fmt: skip
    num_seeds = spec["num_seeds"]
    eval_keys = _spread(jax.random.split(jax.random.key(seed + 1), num_seeds))
    final_eval = jax.jit(jax.vmap(lambda s, k: evaluate(agent, s, k, num_eval_episodes)))
    eval_returns = np.asarray(gather(final_eval(states, eval_keys)))
    if jax.process_count() > 1:
        states = gather(states)
    seeds = f"{num_seeds} seed" + ("s" if num_seeds != 1 else "")
    meta = {"algo": name, "env": env_id, "env_kwargs": spec["env_kwargs"],
            "num_seeds": num_seeds, "seed": seed, "config": spec["config"]}  # fmt: skip
    files = {
        "metrics": curves.write_csv(os.path.join(out, "metrics.csv"), metrics),
        "plot": curves.plot(
            os.path.join(out, "learning_curve.png"), metrics, f"{name} on {env_id} ({seeds})"
        ),  # fmt: skip
        "checkpoint": save(os.path.join(out, "checkpoint.ckpt"), states, metadata=meta),
    }
    steps = int(metrics["env_steps"][0, -1])
    summary = {
        "algo": name,
        "env": env_id,
        "num_seeds": num_seeds,
        "env_steps_per_seed": steps,
        "compile_seconds": round(compile_seconds, 2),
        "train_seconds": round(train_seconds, 2),
        "train_seconds_incl_compile": round(train_seconds + compile_seconds, 2),
        "eval_return_mean": float(eval_returns.mean()),
        "eval_return_per_seed": [round(float(x), 2) for x in eval_returns.mean(1)],
    }
    # summary.json last: it marks the run finished (never overwritten, not resumable)
    files["summary"] = runs.write_json(os.path.join(out, "summary.json"), summary)
    per_seed = ", ".join(f"{x:.1f}" for x in eval_returns.mean(1))
    _say(
        quiet,
        f"{name} on {env_id}: {seeds} x {steps:,} env steps in {train_seconds:.1f}s "
        f"(+ {compile_seconds:.1f}s compile)\n"
        f"evaluation return (greedy, {num_eval_episodes} episodes per seed): "
        f"{eval_returns.mean():.1f} +- {eval_returns.mean(1).std():.1f}  [{per_seed}]",
    )
    for k, v in files.items():
        _say(quiet, f"  {k:<10} -> {v}")
    return Result(out, eval_returns, metrics, train_seconds, files, compile_seconds)


def resume(run_dir: str, quiet: bool = False, logger: tuple[str, ...] = ()) -> Result:
    """Continue the run in `run_dir` from its last checkpoint (same result as not stopping)."""
    spec = runs.read_config(run_dir)
    algo = runs.algo_module(spec["algo"])
    s = spec["settings"]
    return run(
        algo,
        runs.rebuild_config(algo, spec["config"]),
        env_id=spec["env"],
        num_seeds=spec["num_seeds"],
        seed=spec["seed"],
        env_kwargs=spec["env_kwargs"],
        num_eval_episodes=s["num_eval_episodes"],
        quiet=quiet,
        logger=logger,
        eval_every=s["eval_every"],
        eval_episodes=s["eval_episodes"],
        checkpoint_every=s["chunk"],
        keep_checkpoints=s["keep_checkpoints"],
        resume=run_dir,
    )


def _spread(keys):
    """With several devices (forced CPU devices, GPUs, several hosts), shard the seeds over
    all of them when their count divides the seeds (each process holds the same keys);
    otherwise every process trains all seeds on its default device."""
    n = jax.device_count()
    if n == 1 or keys.shape[0] % n:
        return keys
    return global_array(keys, NamedSharding(batch_mesh(), PartitionSpec("batch")))


from purerl.cli.flags import cli  # noqa: E402  (the command line, on `run`)

__all__ = ["Result", "cli", "make_env", "resume", "run", "train_chunks"]

# hook: `--sweep` and `--render` (purerl.cli.hooks, purerl.cli.sweep, purerl.cli.render)
from purerl.cli.hooks import wrap_cli  # noqa: E402

cli = wrap_cli(cli)
