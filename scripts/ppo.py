"""Train PPO (clip or penalty) on a gymnax env over vmapped seeds.

    python scripts/ppo.py --env CartPole-v1 --num-seeds 8
    python scripts/ppo.py --env Pendulum-v1 --num-seeds 4 --normalize-obs --objective penalty

Every `ppo.Config` field is a flag (`--learning-rate`, `--num-envs`, ...). Writes metrics
(CSV), a learning curve (PNG) and a checkpoint to `--out`, and prints where they went.
"""

import dataclasses

import tyro

from purerl.algos import ppo
from purerl.core import experiment


@dataclasses.dataclass
class Args:
    config: tyro.conf.OmitArgPrefixes[ppo.Config]
    env: str = "CartPole-v1"  # any gymnax / purerl env id
    num_seeds: int = 8  # seeds trained in one vmap
    seed: int = 0
    out: str | None = None  # output folder (default runs/ppo-<env>-<time>)
    normalize_obs: bool = False
    normalize_reward: bool = False


def main(args: Args):
    return experiment.run(
        ppo,
        args.config,
        env_id=args.env,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=args.out,
        env_kwargs={"normalize_obs": args.normalize_obs, "normalize_reward": args.normalize_reward},
    )


if __name__ == "__main__":
    main(tyro.cli(Args, default=Args(config=ppo.Config())))
