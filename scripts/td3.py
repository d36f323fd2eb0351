r"""Train TD3 on a continuous-action gymnax env over vmapped seeds.

    python scripts/td3.py --env Pendulum-v1 --num-seeds 4
    python scripts/td3.py --env MountainCarContinuous-v0 --num-seeds 4 \
        --total-timesteps 100000 --policy-delay 3 --target-noise 0.1

Every `td3.Config` field is a flag, plus `--env`, `--num-seeds`, `--seed`, `--out`.
Writes metrics (CSV), a learning curve (PNG), a checkpoint and a summary to `--out`
(default runs/td3-<env>-<time>) and prints where.
"""

from purerl.algos import td3
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(td3)
