r"""Train C51 (categorical distributional DQN) on a discrete-action gymnax env over vmapped seeds.

    python scripts/c51.py --env CartPole-v1 --num-seeds 4
    python scripts/c51.py --env Acrobot-v1 --num-seeds 4 \
        --total-timesteps 100000 --num-atoms 51 --v-min -10 --v-max 10

Every `c51.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`
(default runs/c51-<env>-<time>) and prints where.
"""

from purerl.algos import c51
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(c51)
