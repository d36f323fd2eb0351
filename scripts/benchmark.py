"""Benchmark purerl against rejax (PPO and DQN on gymnax CartPole-v1, TD3 and SAC on
Pendulum-v1, at rejax's settings; C51, QR-DQN and DDPG for purerl alone).

    python scripts/benchmark.py [--algos ppo dqn] [--seeds 1 8] [--out benchmarks/results.json]
                                [--skip-rejax] [--total-timesteps N]

For each algorithm and seed count (1 seed: `jit(train)`; n seeds: `jit(vmap(train))`) it
measures, for each library: the ahead-of-time compile time (trace + lower + compile), the
train wall time without compilation, env steps/s (seeds * env steps trained / train time),
and the final mean return. Every measurement runs in a fresh subprocess, one at a time, with
an environment holding only PATH (and XLA_FLAGS, when set, unchanged for both libraries):
purerl from this interpreter, rejax from its own virtual env `benchmarks/.venv-rejax`
(created on first use; rejax 0.1.3 needs gymnax 0.0.9's old step API, purerl gymnax 1.x).
The code lives in the `benchmarks` package (settings, peers, workers, runner, tables).

rejax evaluates 128 greedy episodes every `eval_freq` env steps inside its train function,
so it runs twice: with its published `eval_freq` ("rejax") and with a single final
evaluation (`eval_freq = total_timesteps`, no initial evaluation: "rejax (1 eval)"). purerl
trains without evaluation; its final return is `purerl.evaluate` over 128 episodes per seed
(timed separately, `eval_s` in the JSON).

Steps to return 475: purerl, the first update whose training `episode_return` (mean over
seeds) reaches 475; rejax, the first evaluation whose mean return reaches 475 (default
`eval_freq` only). The wall time to it is estimated as the fraction of the run's env steps
times the train time (updates cost about the same; DQN's updates before `learning_starts`
are cheaper, so for DQN it is an upper bound).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the `benchmarks` package sits beside `purerl`

from benchmarks import runner, settings  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--algos", nargs="+", default=["ppo", "dqn"], choices=settings.ALGOS)
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default 1 8")
    p.add_argument("--out", type=Path, default=None, help="default benchmarks/results.json")
    p.add_argument(
        "--scaling",
        action="store_true",
        help="seed scaling of PPO on CartPole-v1 (default seeds 1 8 64 256, 20k env steps "
        "per seed): summed env steps/s and peak memory, purerl on one device, purerl with "
        "the seeds sharded over --cpu-devices forced host devices (train_many), rejax "
        "(1 eval); written to benchmarks/scaling.json",
    )
    p.add_argument(
        "--cpu-devices",
        type=int,
        default=None,
        help="--scaling: forced XLA host devices for the train_many rows "
        "(default: usable cores; 0 or 1: no such rows)",
    )
    p.add_argument("--skip-rejax", action="store_true")
    p.add_argument(
        "--skip-rejax-single-eval",
        action="store_true",
        help="run rejax only with its published eval_freq",
    )
    p.add_argument(
        "--total-timesteps",
        type=int,
        default=None,
        help="env steps per seed (default: 100k on CartPole, 10k on Pendulum)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=3600.0, help="per measurement, seconds")
    p.add_argument("--rejax-python", help="use this interpreter for rejax (skips the venv)")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.scaling:
        runner.run_scaling(args)
    else:
        runner.run_benchmark(args)


if __name__ == "__main__":
    main()
