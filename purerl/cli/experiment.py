"""What every training script does: train vmapped seeds with progress, then write the
metrics (CSV), a learning curve (PNG, mean +- std over seeds) and a checkpoint.

Scripts stay thin: `scripts/ppo.py` is a tyro CLI (`cli`) that calls `run`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
import time
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from purerl import presets
from purerl.core.checkpoint import save
from purerl.core.devices import batch_mesh, gather, global_array, initialize, use_all_cores
from purerl.core.many import train_many
from purerl.core.train import evaluate
from purerl.envs import make_env


@dataclasses.dataclass
class Result:
    out_dir: str
    eval_returns: np.ndarray  # [num_seeds, num_episodes]
    metrics: dict[str, np.ndarray]  # each [num_seeds, num_updates]
    train_seconds: float
    files: dict[str, str]


def _progress_line(done, total, metrics, t0):
    ret = np.asarray(metrics["episode_return"])[:, -1]
    steps = int(np.asarray(metrics["env_steps"])[0, -1])
    bar = "#" * int(30 * done / total)
    rate = steps * ret.shape[0] / max(time.time() - t0, 1e-9)
    return (
        f"\r[{bar:<30}] {done}/{total} updates | env steps {steps:>9,d} | "
        f"return {ret.mean():8.2f} +- {ret.std():6.2f} | {rate:,.0f} steps/s"
    )


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
) -> Result:
    """Train `num_seeds` seeds of `algo` (a module with `make`) in one vmap, then report.

    The seeds are trained by `purerl.train_many` (sharded over every device), in chunks of
    updates so that progress shows (`train_many(..., states=...)` continues exactly where
    the last chunk stopped; one compile per chunk length).
    """
    env, env_params = make_env(env_id, **(env_kwargs or {}))
    agent = algo.make(env, env_params, config)
    name = algo.__name__.rsplit(".", 1)[-1]
    out = out or os.path.join("runs", f"{name}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    total = agent.num_updates
    chunk = max(1, total // max(1, progress_chunks))
    t0 = time.time()
    states, _ = train_many(agent, keys, num_updates=0)  # init only
    chunks, done = [], 0
    while done < total:
        n = min(chunk, total - done)
        states, m = train_many(agent, keys, num_updates=n, states=states)
        chunks.append(gather(m))
        done += n
        if not quiet:
            sys.stdout.write(_progress_line(done, total, chunks[-1], t0))
            sys.stdout.flush()
    train_seconds = time.time() - t0
    if not quiet:
        sys.stdout.write("\n")
    metrics = {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}
    eval_keys = _spread(jax.random.split(jax.random.key(seed + 1), num_seeds))
    eval_returns = np.asarray(
        gather(
            jax.jit(jax.vmap(lambda s, k: evaluate(agent, s, k, num_eval_episodes)))(
                states, eval_keys
            )
        )
    )
    if jax.process_count() > 1:
        states = gather(states)
    files = {
        "metrics": _write_csv(os.path.join(out, "metrics.csv"), metrics),
        "plot": _plot(os.path.join(out, "learning_curve.png"), metrics, f"{name} on {env_id}"),
        "checkpoint": save(
            os.path.join(out, "checkpoint.ckpt"),
            states,
            metadata={
                "algo": name,
                "env": env_id,
                "env_kwargs": env_kwargs or {},
                "num_seeds": num_seeds,
                "seed": seed,
                "config": dataclasses.asdict(config),
            },
        ),
    }
    summary = {
        "algo": name,
        "env": env_id,
        "num_seeds": num_seeds,
        "env_steps_per_seed": int(metrics["env_steps"][0, -1]),
        "train_seconds_incl_compile": round(train_seconds, 2),
        "eval_return_mean": float(eval_returns.mean()),
        "eval_return_per_seed": [round(float(x), 2) for x in eval_returns.mean(1)],
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    files["summary"] = os.path.join(out, "summary.json")
    if not quiet:
        per_seed = ", ".join(f"{x:.1f}" for x in eval_returns.mean(1))
        print(
            f"{name} on {env_id}: {num_seeds} seeds x {summary['env_steps_per_seed']:,} env "
            f"steps in {train_seconds:.1f}s (incl. compile)\n"
            f"evaluation return (greedy, {num_eval_episodes} episodes per seed): "
            f"{eval_returns.mean():.1f} +- {eval_returns.mean(1).std():.1f}  [{per_seed}]"
        )
        for k, v in files.items():
            print(f"  {k:<10} -> {v}")
    return Result(out, eval_returns, metrics, train_seconds, files)


def _spread(keys):
    """With several devices (forced CPU devices, GPUs, several hosts), shard the seeds over
    all of them when their count divides the seeds (each process holds the same keys);
    otherwise every process trains all seeds on its default device."""
    n = jax.device_count()
    if n == 1 or keys.shape[0] % n:
        return keys
    return global_array(keys, NamedSharding(batch_mesh(), PartitionSpec("batch")))


def _write_csv(path, metrics):
    keys = sorted(metrics)
    num_seeds, num_updates = metrics[keys[0]].shape
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "update", *keys])
        for s in range(num_seeds):
            for u in range(num_updates):
                w.writerow([s, u + 1, *(np.asarray(metrics[k][s, u]).item() for k in keys)])
    return path


def _plot(path, metrics, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = metrics["env_steps"][0]
    y = metrics["episode_return"]
    mean, std = y.mean(0), y.std(0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(x, mean, label=f"mean over {y.shape[0]} seeds")
    ax.fill_between(x, mean - std, mean + std, alpha=0.3, label="+- std")
    ax.set_xlabel("env steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _env_flag(argv, default: str = "CartPole-v1") -> str:
    """The value of `--env` in `argv` (its presets become the Config's defaults)."""
    for i, arg in enumerate(argv):
        if arg == "--env" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--env="):
            return arg.split("=", 1)[1]
    return default


def cli(algo, argv=None) -> Result:
    """The command line of every training script: tyro over `algo.Config` (its fields as
    top-level flags) plus `--env`, `--num-seeds`, `--seed`, `--out`, `--normalize-obs`,
    `--normalize-reward`; then `run`. The Config's defaults are `purerl.presets.config(algo,
    env)` (tuned settings for that env, e.g. MinAtar's); flags override them.

    Multi-host: `--coordinator-address host:port --num-processes N --process-id i` on each
    host (or JAX's `JAX_COORDINATOR_ADDRESS` / `JAX_NUM_PROCESSES` / `JAX_PROCESS_ID`)
    calls `jax.distributed.initialize`; the seeds are then sharded over every process's
    devices (when their count divides `--num-seeds`) and each process writes the same
    results to `--out` (process `i > 0` to `<out or runs>/process-<i>`).

    `--cpu-devices N` (-1: one per usable core) splits the CPU into N XLA devices and shards
    the seeds over them (when N divides `--num-seeds`): one JAX process keeps about one
    core busy stepping small envs, so this puts every core to work."""
    import tyro

    args_cls = dataclasses.make_dataclass(
        "Args",
        [
            ("config", tyro.conf.OmitArgPrefixes[algo.Config]),
            ("env", str, dataclasses.field(default="CartPole-v1")),
            ("num_seeds", int, dataclasses.field(default=8)),
            ("seed", int, dataclasses.field(default=0)),
            ("out", str | None, dataclasses.field(default=None)),
            ("normalize_obs", bool, dataclasses.field(default=False)),
            ("normalize_reward", bool, dataclasses.field(default=False)),
            ("coordinator_address", str | None, dataclasses.field(default=None)),
            ("num_processes", int | None, dataclasses.field(default=None)),
            ("process_id", int | None, dataclasses.field(default=None)),
            ("cpu_devices", int, dataclasses.field(default=0)),
        ],
    )
    env_id = _env_flag(sys.argv[1:] if argv is None else argv)
    default = args_cls(config=presets.config(algo, env_id), env=env_id)  # tuned per env
    args = tyro.cli(args_cls, default=default, args=argv)
    if args.cpu_devices:  # one XLA host device per core: seeds sharded over the cores
        use_all_cores(None if args.cpu_devices < 0 else args.cpu_devices)
    out = args.out
    started = initialize(args.coordinator_address, args.num_processes, args.process_id)
    if started and jax.process_index() > 0:
        out = os.path.join(out or "runs", f"process-{jax.process_index()}")
    return run(
        algo,
        args.config,
        env_id=args.env,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=out,
        env_kwargs={"normalize_obs": args.normalize_obs, "normalize_reward": args.normalize_reward},
    )
