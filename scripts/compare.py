"""Compare run folders: learning curves with bootstrap 95% CIs, IQM / median / mean /
optimality gap with stratified bootstrap CIs across seeds and tasks, a performance profile.

    python scripts/compare.py runs/ppo-CartPole-v1-* runs/a2c-CartPole-v1-* --out compare
    python scripts/compare.py RUN_A RUN_B --labels "ppo lr 1e-3" "ppo lr 3e-4"

Each folder is one algorithm (`--labels`, else the algo its summary names) on one task (its
env); see `purerl.cli.compare` for the definitions (Agarwal et al. 2021, rliable's).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import tyro

from purerl.cli import compare


@dataclasses.dataclass
class Args:
    run_dirs: Annotated[list[str], tyro.conf.Positional]
    """run folders written by the training scripts"""
    labels: list[str] | None = None
    """one label per run folder (default: the algo of each run)"""
    out: str = "compare"
    """folder for compare.png, compare.md and compare.json"""
    reps: int = 50_000
    """bootstrap resamples of the aggregate CIs (rliable's default)"""


def main(argv=None):
    args = tyro.cli(Args, args=argv)
    try:
        return compare.compare(args.run_dirs, args.labels, args.out, args.reps)
    except ValueError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
