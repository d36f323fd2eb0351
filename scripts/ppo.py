"""Train PPO (clip or penalty) on a gymnax env over vmapped seeds.

    python scripts/ppo.py --env CartPole-v1 --num-seeds 8
    python scripts/ppo.py --env Pendulum-v1 --num-seeds 4 --normalize-obs --normalize-reward \
        --gamma 0.9 --num-envs 16 --num-steps 256 --num-minibatches 32 --learning-rate 1e-3 \
        --ent-coef 0 --total-timesteps 1000000

Every `ppo.Config` field is a flag (`--learning-rate`, `--objective penalty`, ...), plus
`--env`, `--num-seeds`, `--seed`, `--out`. Writes metrics (CSV), a learning curve (PNG), a
checkpoint and a summary to `--out` (default runs/ppo-<env>-<time>) and prints where.
"""

from purerl.algos import ppo
from purerl.cli import experiment

if __name__ == "__main__":
    experiment.cli(ppo)
