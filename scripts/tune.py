"""Tune float hyper-parameters with optuna's TPE, one compiled program per batch of trials.

    python scripts/tune.py ppo --param learning_rate=1e-4:1e-2:log --param ent-coef=0:0.05 \
        --num-batches 8 --batch-size 16 --num-seeds 2 --total-timesteps 100000

The first argument names the algorithm (`purerl.algos.<name>`); every field of its Config
is a flag (the fixed settings), `--param FIELD=LOW:HIGH[:log]` (repeatable) the searched
ranges. Needs `pip install "purerl[tune]"`. Writes tune.csv / tune.md (every trial, best
first) to `--out`; see `purerl.cli.tune`.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys

import tyro

from purerl.cli import tune


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: python scripts/tune.py ALGO [--param FIELD=LOW:HIGH[:log]] ... (e.g. ppo)")
    try:
        algo = importlib.import_module(f"purerl.algos.{argv[0]}")
    except ModuleNotFoundError:
        sys.exit(f"error: no algorithm purerl.algos.{argv[0]}")
    args_cls = dataclasses.make_dataclass(
        "TuneArgs",
        [
            ("config", tyro.conf.OmitArgPrefixes[algo.Config]),
            (
                "param",
                tyro.conf.UseAppendAction[list[str]],
                dataclasses.field(default_factory=list),
            ),
            ("num_batches", int, dataclasses.field(default=4)),
            ("batch_size", int, dataclasses.field(default=8)),
            ("env", str, dataclasses.field(default="CartPole-v1")),
            ("num_seeds", int, dataclasses.field(default=2)),
            ("seed", int, dataclasses.field(default=0)),
            ("out", str | None, dataclasses.field(default=None)),
        ],
    )
    a = tyro.cli(args_cls, default=args_cls(config=algo.Config()), args=argv[1:])
    try:
        return tune.tune(
            algo, a.config, a.param, a.num_batches, a.batch_size, a.env, a.num_seeds, a.seed, a.out
        )
    except ValueError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
