"""The shared command line of the training scripts (tyro): the algorithm's Config fields as
top-level flags, plus the flags every script has (`shared_fields`), each with its help text.

Errors (bad flags, a bad Config value, a used run folder, a missing extra) print one line
`error: ...` to stderr and exit with status 2, not a traceback
(`PURERL_TRACEBACK=1` shows the traceback).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Annotated, Literal

import jax

from purerl.core.devices import initialize, use_all_cores


def _f(typ, default, help_: str):
    import tyro

    return (Annotated[typ, tyro.conf.arg(help=help_)], dataclasses.field(default=default))


def shared_fields() -> list[tuple]:
    """`(name, type, field)` of the flags every training script shares."""
    flags = [
        ("env", str, "CartPole-v1", "environment id (gymnax's or purerl's, e.g. Pendulum-v1)"),
        ("num_seeds", int, 8, "seeds trained side by side in one vmapped program (>= 1)"),
        ("seed", int, 0, "first PRNG seed; the seeds' keys are split from it"),
        (
            "out",
            str | None,
            None,
            "run folder (default runs/<algo>-<env>-<time>); a folder "
            "holding a run is refused, never overwritten",
        ),  # fmt: skip
        (
            "resume",
            str | None,
            None,
            "continue the killed run in this folder from its last "
            "checkpoint (its config.json sets everything else)",
        ),  # fmt: skip
        (
            "logger",
            tuple[Literal["csv", "tensorboard", "wandb"], ...],
            (),
            "stream metrics per seed while training (several allowed): csv (<out>/logs), "
            "tensorboard (<out>/tensorboard), wandb (offline unless WANDB_MODE is set)",
        ),  # fmt: skip
        ("log_every", int | None, None, "updates between logged records (default: 200 per run)"),
        (
            "eval_every",
            int | None,
            None,
            "updates between greedy evaluations during training (default: 20 per run; 0: none)",
        ),  # fmt: skip
        ("eval_episodes", int, 8, "episodes per evaluation during training"),
        ("num_eval_episodes", int, 32, "greedy episodes per seed in the final evaluation"),
        (
            "checkpoint_every",
            int | None,
            None,
            "updates between checkpoints and progress lines (default: 20 per run)",
        ),  # fmt: skip
        ("keep_checkpoints", int, 2, "periodic checkpoints kept (the last ones)"),
        ("normalize_obs", bool, False, "normalise observations (running mean and std)"),
        ("normalize_reward", bool, False, "scale rewards by the running std of the return"),
        (
            "cpu_devices",
            int,
            0,
            "split the CPU into this many XLA devices and shard the seeds "
            "over them (-1: one per core; 0: leave JAX's choice)",
        ),  # fmt: skip
        ("coordinator_address", str | None, None, "multi-host: host:port of process 0"),
        ("num_processes", int | None, None, "multi-host: the number of processes"),
        ("process_id", int | None, None, "multi-host: this process's index"),
    ]
    return [(n, *_f(t, d, h)) for n, t, d, h in flags]


def env_flag(argv, default: str = "CartPole-v1") -> str:
    """The value of `--env` in `argv` (its preset becomes the Config's defaults)."""
    for i, arg in enumerate(argv):
        if arg == "--env" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--env="):
            return arg.split("=", 1)[1]
    return default


def parse(algo, argv=None):
    """The parsed flags: an `Args` dataclass with `config` (an `algo.Config`) and the
    shared flags."""
    import tyro

    from purerl import presets

    args_cls = dataclasses.make_dataclass(
        "Args", [("config", tyro.conf.OmitArgPrefixes[algo.Config]), *shared_fields()]
    )
    env_id = env_flag(sys.argv[1:] if argv is None else argv)
    return tyro.cli(
        args_cls,
        # the Config's defaults are the tuned preset for that env (e.g. MinAtar's); flags
        # override them
        default=args_cls(config=presets.config(algo, env_id), env=env_id),
        args=argv,
        description=(sys.modules.get("__main__").__doc__ or "").split("\n\n")[0] or None,
    )


def cli(algo, argv=None):
    """The command line of every training script: `parse`, then `experiment.run` (or
    `experiment.resume`). See `scripts/ppo.py --help`.

    Multi-host: `--coordinator-address host:port --num-processes N --process-id i` on each
    host (or JAX's `JAX_COORDINATOR_ADDRESS` / `JAX_NUM_PROCESSES` / `JAX_PROCESS_ID`)
    calls `jax.distributed.initialize`; the seeds are then sharded over every process's
    devices (when their count divides `--num-seeds`) and each process writes the same
    results to `--out` (process `i > 0` to `<out or runs>/process-<i>`).

    `--cpu-devices N` (-1: one per usable core) splits the CPU into N XLA devices and shards
    the seeds over them (when N divides `--num-seeds`): one JAX process keeps about one
    core busy stepping small envs, so this puts every core to work."""
    from purerl.cli import experiment

    try:
        args = parse(algo, argv)
        if args.num_seeds < 1:
            raise ValueError(f"--num-seeds must be >= 1, got {args.num_seeds}")
        if args.cpu_devices:
            use_all_cores(None if args.cpu_devices < 0 else args.cpu_devices)
        out = args.out
        started = initialize(args.coordinator_address, args.num_processes, args.process_id)
        if started and jax.process_index() > 0:
            out = os.path.join(out or "runs", f"process-{jax.process_index()}")
        if args.resume is not None:
            print(f"--resume {args.resume}: its config.json sets the run; other flags ignored")
            return experiment.resume(args.resume, logger=args.logger)
        return experiment.run(
            algo,
            args.config,
            env_id=args.env,
            num_seeds=args.num_seeds,
            seed=args.seed,
            out=out,
            env_kwargs={
                "normalize_obs": args.normalize_obs,
                "normalize_reward": args.normalize_reward,
            },
            num_eval_episodes=args.num_eval_episodes,
            logger=args.logger,
            log_every=args.log_every,
            eval_every=args.eval_every,
            eval_episodes=args.eval_episodes,
            checkpoint_every=args.checkpoint_every,
            keep_checkpoints=args.keep_checkpoints,
        )
    except (ValueError, TypeError, ImportError, FileNotFoundError) as e:
        if os.environ.get("PURERL_TRACEBACK"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"error: {msg}", file=sys.stderr)
        raise SystemExit(2) from None
