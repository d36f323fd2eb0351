"""Train A3C on a gymnax env over vmapped seeds (see purerl.algos.a3c).

    python scripts/a3c.py --env CartPole-v1 --num-seeds 4

Every `a3c.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`.
"""

from purerl.algos import a3c
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(a3c)
