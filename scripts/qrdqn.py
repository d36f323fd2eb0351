r"""Train QR-DQN (quantile regression DQN) on a discrete-action gymnax env over vmapped seeds.

    python scripts/qrdqn.py --env CartPole-v1 --num-seeds 4
    python scripts/qrdqn.py --env Acrobot-v1 --num-seeds 4 \
        --total-timesteps 100000 --num-quantiles 100 --kappa 0

Every `qrdqn.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`
(default runs/qrdqn-<env>-<time>) and prints where.
"""

from purerl.algos import qrdqn
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(qrdqn)
