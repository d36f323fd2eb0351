"""Learning curves of an algorithm family: mean +- std over seeds against env steps.

    python scripts/learning_curves.py --family policy_gradient [--num-seeds 4] [--out docs]
    python scripts/learning_curves.py --family offpolicy --only qrdqn   # rerun one member

Each member of the family is trained with `purerl.cli.experiment.run` (vmapped seeds, one
compile) at the settings listed in FAMILIES, evaluated greedily, and drawn on one axes per
environment. Writes `<out>/<family>.png` and `<out>/<family>.json` (final evaluation returns
and wall time per algorithm) and prints a table. With `--only A B`, only those members are
trained again; the others' rows and curves are read back from the previous run's
`<out>/<family>.json` and `<out>/<family>/<algo>-<env>/metrics.csv`. Public API only.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import shutil
import sys
import time

import numpy as np

from purerl.cli import experiment

# family -> list of (algorithm module name, env id, Config overrides, make_env kwargs)
FAMILIES: dict[str, list[tuple[str, str, dict, dict]]] = {
    "policy_gradient": [
        ("reinforce", "CartPole-v1", {}, {}),
        ("vpg", "CartPole-v1", {}, {}),
        ("a2c", "CartPole-v1", {}, {}),
        ("a3c", "CartPole-v1", {}, {}),
        ("trpo", "CartPole-v1", {}, {}),
        ("ppo", "CartPole-v1", {"total_timesteps": 500_000}, {}),
    ],
    "offpolicy": [
        ("dqn", "CartPole-v1", {}, {}),
        ("c51", "CartPole-v1", {}, {}),
        ("qrdqn", "CartPole-v1", {}, {}),
        ("ddpg", "Pendulum-v1", {}, {}),
        ("td3", "Pendulum-v1", {}, {}),
        ("sac", "Pendulum-v1", {}, {}),
    ],
}


def interp_curves(metrics: dict[str, np.ndarray], grid: np.ndarray) -> np.ndarray:
    """Per-seed episode return interpolated onto a common env-step grid: `[seeds, len(grid)]`."""
    steps, ret = metrics["env_steps"], metrics["episode_return"]
    return np.stack([np.interp(grid, s, r) for s, r in zip(steps, ret, strict=True)])


def read_curves(path: str) -> dict[str, np.ndarray]:
    """`env_steps` and `episode_return` `[seeds, updates]` from an experiment's metrics.csv."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    seeds = sorted({int(r["seed"]) for r in rows})
    out = {}
    for key in ("env_steps", "episode_return"):
        out[key] = np.array([[float(r[key]) for r in rows if int(r["seed"]) == s] for s in seeds])
    return out


def run_family(
    family: str, num_seeds: int, seed: int, out: str, only: list[str] | None = None
) -> list[dict]:
    rows, curves = [], {}
    previous = {}
    if only:
        unknown = set(only) - {name for name, *_ in FAMILIES[family]}
        if unknown:
            raise SystemExit(f"--only: {sorted(unknown)} not in the {family} family")
        with open(os.path.join(out, f"{family}.json")) as f:
            previous = {(r["algo"], r["env"]): r for r in json.load(f)["rows"]}
    for name, env_id, overrides, env_kwargs in FAMILIES[family]:
        if only and name not in only:
            rows.append(previous[(name, env_id)])
            csv_path = os.path.join(out, family, f"{name}-{env_id}", "metrics.csv")
            curves[(name, env_id)] = read_curves(csv_path)
            print(f"{name:<10} {env_id:<14} (previous run: {csv_path})", flush=True)
            continue
        algo = importlib.import_module(f"purerl.algos.{name}")
        config = algo.Config(**overrides)
        member = os.path.join(out, family, f"{name}-{env_id}")
        if os.path.exists(member):  # a run folder is never overwritten: keep it as .old
            shutil.rmtree(member + ".old", ignore_errors=True)
            os.replace(member, member + ".old")
            print(f"{name:<10} {env_id:<14} (previous run moved to {member}.old)", flush=True)
        t0 = time.time()
        res = experiment.run(
            algo,
            config,
            env_id=env_id,
            num_seeds=num_seeds,
            seed=seed,
            out=member,
            env_kwargs=env_kwargs,
            quiet=True,
        )
        wall = time.time() - t0
        per_seed = res.eval_returns.mean(1)
        rows.append(
            {
                "algo": name,
                "env": env_id,
                "env_steps_per_seed": int(res.metrics["env_steps"].max()),
                "eval_return_mean": float(per_seed.mean()),
                "eval_return_std": float(per_seed.std()),
                "eval_return_per_seed": [round(float(x), 1) for x in per_seed],
                "wall_seconds": round(wall, 1),
            }
        )
        curves[(name, env_id)] = res.metrics
        print(
            f"{name:<10} {env_id:<14} eval {per_seed.mean():8.1f} +- {per_seed.std():6.1f} "
            f"({rows[-1]['env_steps_per_seed']:,} steps/seed, {wall:.0f}s)",
            flush=True,
        )
    _plot(os.path.join(out, f"{family}.png"), family, curves, num_seeds)
    with open(os.path.join(out, f"{family}.json"), "w") as f:
        summary = {"family": family, "num_seeds": num_seeds, "seed": seed, "rows": rows}
        json.dump(summary, f, indent=2)
    return rows


def _plot(path, family, curves, num_seeds):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_ids = sorted({env for _, env in curves})
    fig, axes = plt.subplots(1, len(env_ids), figsize=(6.5 * len(env_ids), 4.5), squeeze=False)
    for ax, env_id in zip(axes[0], env_ids, strict=True):
        for (name, env), m in curves.items():
            if env != env_id:
                continue
            grid = np.linspace(0, m["env_steps"].max(), 200)
            y = interp_curves(m, grid)
            mean, std = y.mean(0), y.std(0)
            ax.plot(grid, mean, label=name)
            ax.fill_between(grid, mean - std, mean + std, alpha=0.2)
        ax.set_title(f"{family} on {env_id} ({num_seeds} seeds, mean +- std)")
        ax.set_xlabel("env steps (per seed)")
        ax.set_ylabel("training episode return")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot -> {path}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", choices=sorted(FAMILIES), default="policy_gradient")
    p.add_argument("--num-seeds", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="docs")
    p.add_argument("--only", nargs="+", help="rerun these members; read the rest back")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    run_family(args.family, args.num_seeds, args.seed, args.out, args.only)


if __name__ == "__main__":
    sys.exit(main())
