"""Train any policy-gradient algorithm of purerl on a gymnax env over vmapped seeds.

    python scripts/pg.py reinforce --env CartPole-v1 --num-seeds 4
    python scripts/pg.py reinforce --weights return --no-baseline
    python scripts/pg.py vpg | a2c | a3c | trpo | ppo  [flags of that algorithm's Config]
    python scripts/pg.py trpo --env Pendulum-v1 --gamma 0.95 --total-timesteps 1000000

The first argument picks the algorithm; every field of its `Config` is a flag, plus
`--env`, `--num-seeds`, `--seed`, `--out`. Writes metrics (CSV), a learning curve (PNG), a
checkpoint and a summary to `--out` and prints where. (`scripts/reinforce.py` is the
one-file worked example of the simplest policy gradient.)
"""

import importlib
import sys

from purerl.cli import experiment

ALGOS = ("reinforce", "vpg", "a2c", "a3c", "trpo", "ppo")

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ALGOS:
        sys.exit(f"usage: python scripts/pg.py {{{','.join(ALGOS)}}} [flags]  (--help per algo)")
    experiment.cli(importlib.import_module(f"purerl.algos.{sys.argv[1]}"), argv=sys.argv[2:])
