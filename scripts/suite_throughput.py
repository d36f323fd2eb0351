"""Env-suite throughput table: `python scripts/suite_throughput.py [--num-envs 64]`."""

from __future__ import annotations

import argparse
import json

from benchmarks.suites import throughput

IDS = ("xminigrid/MiniGrid-Empty-8x8", "navix/Navix-Empty-8x8-v0")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--num-envs", type=int, default=64)
    ap.add_argument("--ids", nargs="*", default=list(IDS))
    args = ap.parse_args()
    rows = [throughput(i, num_envs=args.num_envs) for i in args.ids]
    print(f"{'env':34s} {'envs':>5s} {'raw steps/s':>12s} {'PPO steps/s':>12s} {'ratio':>6s}")
    for r in rows:
        print(
            f"{r['env']:34s} {r['num_envs']:5d} {r['raw_steps_per_s']:12.0f} "
            f"{r['ppo_steps_per_s']:12.0f} {r['ratio']:6.1f}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
