"""Model-predictive control (CEM / MPPI): with the true model, or a learned one (PETS).

    python scripts/mpc.py true --env Pendulum-v1 --method mppi --num-seeds 4
    python scripts/mpc.py true --env Pendulum-v1 --method cem --num-seeds 4
    python scripts/mpc.py learned --env Pendulum-v1 --num-seeds 4 --total-timesteps 3000

`true` plans with the environment itself (`purerl.planning.mpc.controller`, no learning)
and evaluates `--num-episodes` episodes per seed; every `mpc.Config` field is a flag.
`learned` trains the PETS agent (`purerl.planning.pets.make`) over vmapped seeds; every
`pets.Config` field is a flag. Both write a CSV, a plot, a summary (JSON) and, for
`learned`, a checkpoint to `--out` and print where they went.
"""

from __future__ import annotations

import dataclasses
import sys

import tyro

from purerl.cli import planning
from purerl.planning import mpc, pets

# The true model costs little to query: plan with more samples and a longer horizon.
TRUE_MODEL = mpc.Config(horizon=25, num_samples=200, num_elites=20, num_iterations=4)


@dataclasses.dataclass
class TrueModel:
    """Plan with the true model; no learning."""

    config: tyro.conf.OmitArgPrefixes[mpc.Config] = TRUE_MODEL
    env: str = "Pendulum-v1"
    num_seeds: int = 4
    num_episodes: int = 16  # per seed
    seed: int = 0
    out: str | None = None


@dataclasses.dataclass
class Learned:
    """Train the learned-model (PETS) agent."""

    config: tyro.conf.OmitArgPrefixes[pets.Config] = pets.Config()
    env: str = "Pendulum-v1"
    num_seeds: int = 4
    num_eval_episodes: int = 8  # per seed, planning from a cold start
    seed: int = 0
    out: str | None = None


def main(argv=None):
    args = planning.parse_args(argv, TrueModel(), "learned", Learned())
    if isinstance(args, TrueModel):
        return planning.evaluate_true_model(mpc, args)
    return planning.train_agent(pets, args)


if __name__ == "__main__":
    main(sys.argv[1:])
