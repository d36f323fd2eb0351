"""Train VPG on a gymnax env over vmapped seeds (see purerl.algos.vpg).

    python scripts/vpg.py --env CartPole-v1 --num-seeds 4

Every `vpg.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`.
"""

from purerl.algos import vpg
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(vpg)
