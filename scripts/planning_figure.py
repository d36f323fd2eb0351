"""The README's model-based planning figure, from the run folders of scripts/mpc.py and
scripts/mcts.py (it trains nothing itself):

    python scripts/mpc.py true --method cem --out runs/plan/cem
    python scripts/mpc.py true --method mppi --out runs/plan/mppi
    python scripts/mpc.py learned --out runs/plan/pets
    python scripts/mcts.py true --out runs/plan/mcts
    python scripts/mcts.py alphazero --out runs/plan/alphazero
    python scripts/planning_figure.py --runs runs/plan --out docs

Writes `planning.png` (four panels: true-model MPC on Pendulum, PETS learning on Pendulum,
rollout MCTS on CartPole, the AlphaZero agent on CartPole) and `planning.json` (every run's
summary) to `--out`. A missing run folder is a clear error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys

import numpy as np

RUNS = ("cem", "mppi", "pets", "mcts", "alphazero")


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no rows")
    return rows


def _episode_returns(run_dir):
    """`[num_seeds, num_episodes]` from a true-model run's returns.csv."""
    rows = _read_csv(os.path.join(run_dir, "returns.csv"))
    seeds = sorted({int(r["seed"]) for r in rows})
    return np.array([[float(r["return"]) for r in rows if int(r["seed"]) == s] for s in seeds])


def _curve(run_dir):
    """`(env_steps [U], episode_return [num_seeds, U])` from a training run's metrics.csv."""
    rows = _read_csv(os.path.join(run_dir, "metrics.csv"))
    seeds = sorted({int(r["seed"]) for r in rows})
    per = [[r for r in rows if int(r["seed"]) == s] for s in seeds]
    steps = np.array([float(r["env_steps"]) for r in per[0]])
    # blank before a seed's first completed episode (metrics.csv keeps completed episodes only)
    ret = np.array([[float(r["episode_return"] or "nan") for r in p] for p in per])
    return steps, ret


def _summary(run_dir):
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


def _strip(ax, groups, target, title):
    for i, (_, returns) in enumerate(groups):
        flat = returns.reshape(-1)
        x = i + np.linspace(-0.3, 0.3, flat.size)
        ax.scatter(x, flat, s=8, alpha=0.6)
        ax.hlines(flat.mean(), i - 0.35, i + 0.35, color="k")
        ax.text(i, flat.mean(), f" {flat.mean():.1f}", va="bottom", ha="center", fontsize=8)
    ax.axhline(target, ls="--", color="gray", label=f"target {target:g}")
    overall = np.mean([g[1].mean() for g in groups])
    ax.axhline(overall, ls=":", color="k", lw=1, label=f"mean {overall:.1f}")
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_ylabel("episode return")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, loc="lower right")


def _learning(ax, steps, ret, target, final, title):
    mean, std = np.nanmean(ret, 0), np.nanstd(ret, 0)
    ax.plot(steps, mean, label=f"training episodes, mean of {ret.shape[0]} seeds")
    ax.fill_between(steps, mean - std, mean + std, alpha=0.3)
    ax.axhline(target, ls="--", color="gray", label=f"target {target:g}")
    for label, value, style in final:
        ax.axhline(value, ls=style, color="k", lw=1, label=f"{label}: {value:.1f}")
    ax.set_xlabel("env steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="runs/plan", help="folder holding " + ", ".join(RUNS))
    p.add_argument("--out", default="docs")
    args = p.parse_args(argv)
    missing = [r for r in RUNS if not os.path.isdir(os.path.join(args.runs, r))]
    if missing:
        raise SystemExit(
            f"planning_figure: no run folder for {missing} under {args.runs}; "
            "run the commands in this script's docstring first"
        )
    d = {r: os.path.join(args.runs, r) for r in RUNS}
    summaries = {r: _summary(d[r]) for r in RUNS}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    _strip(
        axes[0, 0],
        [("CEM", _episode_returns(d["cem"])), ("MPPI", _episode_returns(d["mppi"]))],
        -200,
        "MPC with the true model, Pendulum-v1 (no learning)",
    )
    steps, ret = _curve(d["pets"])
    pets = summaries["pets"]
    _learning(
        axes[0, 1],
        steps,
        ret,
        -300,
        [("evaluation after training", pets["eval_return_mean"], "-")],
        "PETS (learned ensemble + CEM), Pendulum-v1",
    )
    mcts = _episode_returns(d["mcts"])
    groups = [(f"key set {s}", mcts[s]) for s in range(mcts.shape[0])]
    sims = summaries["mcts"]["config"]["num_simulations"]
    _strip(
        axes[1, 0],
        groups,
        475,
        f"MCTS, true model + random rollouts, {sims} simulations, CartPole-v1",
    )
    steps, ret = _curve(d["alphazero"])
    az = summaries["alphazero"]
    final = [("network, greedy", az["eval_return_mean"], "-")]
    if "search_eval_return_mean" in az:
        final.append(("network inside the search", az["search_eval_return_mean"], ":"))
    _learning(axes[1, 1], steps, ret, 450, final, "AlphaZero-style agent, CartPole-v1")
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "planning.png")
    fig.savefig(png, dpi=100)
    plt.close(fig)
    path = os.path.join(args.out, "planning.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summaries, f, indent=2)
    os.replace(tmp, path)
    print(f"  plot    -> {png}\n  summary -> {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
