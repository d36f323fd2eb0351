"""Train DQN (double / dueling options) on a discrete-action gymnax env over vmapped seeds.

    python scripts/dqn.py --env CartPole-v1 --num-seeds 4
    python scripts/dqn.py --env Acrobot-v1 --num-seeds 4 --total-timesteps 200000

Every `dqn.Config` field is a flag (`--learning-rate`, `--no-double-dqn`, ...), plus
`--env`, `--num-seeds`, `--seed`, `--out`. Writes metrics (CSV), a learning curve (PNG), a
checkpoint and a summary to `--out` (default runs/dqn-<env>-<time>) and prints where.
"""

from purerl.algos import dqn
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(dqn)
