r"""Train SAC on a gymnax env over vmapped seeds (tanh-Gaussian SAC on continuous actions,
discrete-action SAC on a Discrete env).

    python scripts/sac.py --env Pendulum-v1 --num-seeds 4
    python scripts/sac.py --env CartPole-v1 --num-seeds 4 \
        --total-timesteps 100000 --no-autotune --alpha 0.1

Every `sac.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`
(default runs/sac-<env>-<time>) and prints where.
"""

from purerl.algos import sac
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(sac)
