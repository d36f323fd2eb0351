"""Train TRPO on a gymnax env over vmapped seeds (see purerl.algos.trpo).

    python scripts/trpo.py --env CartPole-v1 --num-seeds 4

Every `trpo.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`.
"""

from purerl.algos import trpo
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(trpo)
