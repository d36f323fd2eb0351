"""What the planning scripts do: evaluate a true-model planner over seeds, or train a
planning agent with `purerl.cli.experiment.run`; write CSV, plot and summary.

Scripts stay thin: `scripts/mpc.py` and `scripts/mcts.py` declare their flags and call these.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from typing import Annotated

import jax
import numpy as np
import tyro

from purerl.cli import experiment
from purerl.envs import make_env
from purerl.planning.control import evaluate_controller


def parse_args(argv, true_model, learned_name: str, learned):
    """Parse a planning script's flags: the subcommand `true` (fields and defaults of the
    dataclass instance `true_model`) or `learned_name` (those of `learned`)."""
    return tyro.cli(
        Annotated[type(true_model), tyro.conf.subcommand("true", default=true_model)]
        | Annotated[type(learned), tyro.conf.subcommand(learned_name, default=learned)],
        args=argv,
    )


def evaluate_true_model(planner, args) -> dict:
    """Run `planner.controller(env, env_params, args.config)` (`planner`: `planning.mpc` or
    `planning.mcts`) for `args.num_episodes` episodes on each of `args.num_seeds` keys (one
    compile) on `args.env`; write `returns.csv`, `returns.png` and `summary.json` to
    `args.out`."""
    name = planner.__name__.rsplit(".", 1)[-1]
    config, env_id, seed, out = args.config, args.env, args.seed, args.out
    num_seeds, num_episodes = args.num_seeds, args.num_episodes
    env, params = make_env(env_id)
    ctrl = planner.controller(env, params, config)
    out = out or os.path.join("runs", f"{name}-true-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out, exist_ok=True)
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    run = jax.jit(jax.vmap(lambda k: evaluate_controller(k, env, params, ctrl, num_episodes)))
    t0 = time.time()
    returns = np.asarray(run(keys))  # [num_seeds, num_episodes]
    seconds = time.time() - t0
    csv_path = os.path.join(out, "returns.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "episode", "return"])
        for s in range(num_seeds):
            for e in range(num_episodes):
                w.writerow([s, e, float(returns[s, e])])
    method = getattr(config, "method", getattr(config, "search", ""))
    title = f"{name} ({method}) with the true model on {env_id}"
    plot = _plot_returns(os.path.join(out, "returns.png"), returns, title)
    summary = {
        "planner": name,
        "env": env_id,
        "num_seeds": num_seeds,
        "episodes_per_seed": num_episodes,
        "seconds_incl_compile": round(seconds, 2),
        "return_mean": float(returns.mean()),
        "return_per_seed": [round(float(x), 2) for x in returns.mean(1)],
        "return_min": float(returns.min()),
        "config": dataclasses.asdict(config),
    }
    summary_path = os.path.join(out, "summary.json")
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=2)
    per_seed = ", ".join(f"{x:.1f}" for x in returns.mean(1))
    print(
        f"{title}: {num_seeds} seeds x {num_episodes} episodes in {seconds:.1f}s (incl. "
        f"compile)\nreturn {returns.mean():.1f} +- {returns.mean(1).std():.1f}  [{per_seed}]"
    )
    for k, v in {"returns": csv_path, "plot": plot, "summary": summary_path}.items():
        print(f"  {k:<10} -> {v}")
    return summary


def train_agent(module, args):
    """`experiment.run` for the planning agent `module` with the flags `args` (`config`,
    `env`, `num_seeds`, `num_eval_episodes`, `seed`, `out`): metrics CSV, learning curve,
    checkpoint."""
    return experiment.run(
        module,
        args.config,
        env_id=args.env,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=args.out,
        num_eval_episodes=args.num_eval_episodes,
    )


def _plot_returns(path, returns, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    num_seeds, num_episodes = returns.shape
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in range(num_seeds):
        x = s + np.linspace(-0.3, 0.3, num_episodes)
        ax.scatter(x, returns[s], s=12, alpha=0.7)
        ax.hlines(returns[s].mean(), s - 0.35, s + 0.35, color="k")
    ax.axhline(returns.mean(), ls="--", color="gray", label=f"mean {returns.mean():.1f}")
    ax.set_xticks(range(num_seeds))
    ax.set_xlabel("seed (key set)")
    ax.set_ylabel("episode return")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
