r"""Train DDPG on a continuous-action gymnax env over vmapped seeds.

    python scripts/ddpg.py --env Pendulum-v1 --num-seeds 4
    python scripts/ddpg.py --env MountainCarContinuous-v0 --num-seeds 4 \
        --total-timesteps 100000 --exploration-noise 0.2

Every `ddpg.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`
(default runs/ddpg-<env>-<time>) and prints where.
"""

from purerl.algos import ddpg
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(ddpg)
