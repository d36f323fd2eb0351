"""Train DQN (or double DQN) on a discrete-action gymnax env over vmapped seeds.

    python scripts/dqn.py --env CartPole-v1 --num-seeds 4
    python scripts/dqn.py --env Acrobot-v1 --num-seeds 4 --total-timesteps 200000

Every `dqn.Config` field is a flag (`--learning-rate`, `--num-envs`, ...). Writes metrics
(CSV), a learning curve (PNG) and a checkpoint to `--out`, and prints where they went.
"""

import dataclasses

import tyro

from purerl.algos import dqn
from purerl.core import experiment


@dataclasses.dataclass
class Args:
    config: tyro.conf.OmitArgPrefixes[dqn.Config]
    env: str = "CartPole-v1"  # any gymnax / purerl env id
    num_seeds: int = 8  # seeds trained in one vmap
    seed: int = 0
    out: str | None = None  # output folder (default runs/dqn-<env>-<time>)
    normalize_obs: bool = False
    normalize_reward: bool = False


def main(args: Args):
    return experiment.run(
        dqn,
        args.config,
        env_id=args.env,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=args.out,
        env_kwargs={"normalize_obs": args.normalize_obs, "normalize_reward": args.normalize_reward},
    )


if __name__ == "__main__":
    main(tyro.cli(Args, default=Args(config=dqn.Config())))
