"""Render a run's trained greedy policy: one episode to an animated GIF.

    python scripts/render.py runs/ppo-CartPole-v1-20260101-120000
    python scripts/render.py RUN_DIR --seed-index 3 --out episode.gif --fps 50

One frame per step (the episode's length); classic-control envs drawn as pictures, image
observations (MinAtar) as grids, other envs as their observation vector. The training
scripts render at the end of a run with `--render`.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import tyro

from purerl.cli import render


@dataclasses.dataclass
class Args:
    run_dir: Annotated[str, tyro.conf.Positional]
    """a run folder written by a training script (it holds checkpoint.ckpt)"""
    seed_index: int = 0
    """which of the run's seeds to render"""
    out: str | None = None
    """the GIF to write (default: RUN_DIR/episode.gif)"""
    fps: int = 30
    """frames per second of the GIF"""
    max_steps: int | None = None
    """stop after this many steps (default: the env's time limit)"""
    key: int = 0
    """PRNG seed of the episode's env reset"""


def main(argv=None):
    a = tyro.cli(Args, args=argv)
    try:
        ep = render.render_run(a.run_dir, a.seed_index, a.out, a.fps, a.max_steps, a.key)
    except ValueError as e:
        sys.exit(f"error: {e}")
    print(f"{ep.num_frames} frames, return {ep.episode_return:.1f} -> {ep.path}")
    return ep


if __name__ == "__main__":
    main()
