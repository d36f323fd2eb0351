"""Compare run folders with honest statistics (Agarwal et al. 2021, via `purerl.cli.stats`).

    python scripts/compare.py runs/ppo-CartPole-v1-* runs/a2c-CartPole-v1-* --labels ...

Each run folder (written by `purerl.cli.experiment.run`) is one algorithm (its label: the
`--labels` entry, else the algo of its summary) on one task (its env). Folders with the
same label and task pool their seeds. A seed's score is its greedy evaluation return
(`summary.json`), else its mean training return over the last 10% of updates. Scores are
normalised to [0, 1] per task by `stats.SCORE_RANGES` (or `score_ranges`); where a task
has no range the raw scores are aggregated and the optimality gap is left out.

Writes `compare.png` (learning curves: the mean over seeds with a bootstrap 95% CI, one
panel per task, and the performance profile), `compare.md` / `compare.json` (IQM, median,
mean and optimality gap with stratified bootstrap 95% CIs) and prints the table.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os

import numpy as np

from purerl.cli import stats


@dataclasses.dataclass
class Run:
    label: str
    task: str
    scores: np.ndarray  # [num_seeds]
    env_steps: np.ndarray  # [num_updates]
    curves: np.ndarray  # [num_seeds, num_updates] episode returns (NaN: none completed yet)


def _float(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def load_run(run_dir: str, label: str | None = None) -> Run:
    summary_path = os.path.join(run_dir, "summary.json")
    metrics_path = os.path.join(run_dir, "metrics.csv")
    if not os.path.exists(summary_path) or not os.path.exists(metrics_path):
        raise ValueError(f"{run_dir}: not a run folder (needs summary.json and metrics.csv)")
    with open(summary_path) as f:
        summary = json.load(f)
    with open(metrics_path) as f:
        rows = list(csv.DictReader(f))
    if not rows or "episode_return" not in rows[0] or "env_steps" not in rows[0]:
        raise ValueError(f"{metrics_path}: needs env_steps and episode_return columns")
    seeds = sorted({int(r["seed"]) for r in rows})
    updates = sorted({int(r["update"]) for r in rows})
    curves = np.full((len(seeds), len(updates)), np.nan)
    steps = np.zeros(len(updates))
    si, ui = {s: i for i, s in enumerate(seeds)}, {u: i for i, u in enumerate(updates)}
    for r in rows:
        curves[si[int(r["seed"])], ui[int(r["update"])]] = _float(r["episode_return"])
        if int(r["seed"]) == seeds[0]:
            steps[ui[int(r["update"])]] = _float(r["env_steps"])
    if "eval_return_per_seed" in summary:
        scores = np.asarray(summary["eval_return_per_seed"], np.float64)
    else:
        k = max(1, round(0.1 * len(updates)))
        scores = np.nanmean(curves[:, -k:], axis=1)
    return Run(
        label or summary.get("algo", os.path.basename(run_dir)),
        summary.get("env", "task"),
        scores,
        steps,
        curves,
    )


def score_matrices(runs: list[Run], score_ranges=None):
    """`({label: [num_seeds, num_tasks]}, tasks, normalised)` from the runs, seeds pooled
    per (label, task). Every label must cover every task with the same number of seeds."""
    ranges = {**stats.SCORE_RANGES, **(score_ranges or {})}
    tasks = sorted({r.task for r in runs})
    labels = list(dict.fromkeys(r.label for r in runs))
    normalised = all(t in ranges for t in tasks)
    out = {}
    for label in labels:
        cols = []
        for t in tasks:
            s = [r.scores for r in runs if r.label == label and r.task == t]
            if not s:
                raise ValueError(
                    f"compare: {label!r} has no run on {t} (every label needs every task)"
                )
            col = np.concatenate(s)
            cols.append(stats.normalize(col, *ranges[t]) if normalised else col)
        n = {len(c) for c in cols}
        if len(n) != 1:
            raise ValueError(f"compare: {label!r} has different seed counts per task {sorted(n)}")
        out[label] = np.stack(cols, axis=1)
    return out, tasks, normalised


def aggregate(matrices, normalised: bool, reps: int = 50_000, seed: int = 0):
    """`{label: {metric: (point, low, high)}}` with stratified bootstrap 95% CIs."""
    names = [n for n in stats.METRICS if normalised or n != "optimality gap"]
    return {
        label: {n: stats.interval_estimates(m, stats.METRICS[n], reps, seed=seed) for n in names}
        for label, m in matrices.items()
    }


def markdown(table, tasks, normalised, num_seeds) -> str:
    names = list(next(iter(table.values())))
    what = "normalised scores (0: worst return, 1: best)" if normalised else "raw returns"
    lines = [
        f"Tasks: {', '.join(tasks)}; seeds per task: {num_seeds}; {what}; "
        "95% stratified bootstrap CIs.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, row in table.items():
        cells = [f"{p:.3f} [{lo:.3f}, {hi:.3f}]" for p, lo, hi in row.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(path, runs: list[Run], matrices, tasks, normalised, reps=2000):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(matrices)
    colours = {lab: plt.get_cmap("tab10")(i % 10) for i, lab in enumerate(labels)}
    fig, axes = plt.subplots(1, len(tasks) + 1, figsize=(4.2 * (len(tasks) + 1), 3.6))
    for ax, t in zip(axes, tasks, strict=False):
        for lab in labels:
            rs = [r for r in runs if r.label == lab and r.task == t]
            n = min(len(r.env_steps) for r in rs)
            c = np.concatenate([r.curves[:, :n] for r in rs])
            m, lo, hi = stats.mean_curve_ci(c, reps=reps)
            x = rs[0].env_steps[:n]
            ax.plot(x, m, color=colours[lab], label=f"{lab} ({c.shape[0]} seeds)")
            ax.fill_between(x, lo, hi, color=colours[lab], alpha=0.25)
        ax.set_title(f"{t}: mean, bootstrap 95% CI")
        ax.set_xlabel("env steps (per seed)")
        ax.set_ylabel("episode return")
        ax.legend(fontsize=7)
    ax = axes[-1]
    allv = np.concatenate([m.ravel() for m in matrices.values()])
    taus = np.linspace(0, 1, 101) if normalised else np.linspace(allv.min(), allv.max(), 101)
    for lab, m in matrices.items():
        p, lo, hi = stats.profile_with_ci(m, taus, reps=reps)
        ax.plot(taus, p, color=colours[lab], label=lab)
        ax.fill_between(taus, lo, hi, color=colours[lab], alpha=0.25)
    ax.set_title("performance profile")
    ax.set_xlabel("normalised score tau" if normalised else "return tau")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def compare(
    run_dirs,
    labels=None,
    out: str = "compare",
    reps: int = 50_000,
    score_ranges=None,
    quiet: bool = False,
):
    """Load, aggregate, plot and write; returns `(table, files)`."""
    if not run_dirs:
        raise ValueError("compare: give at least one run folder")
    if labels and len(labels) != len(run_dirs):
        raise ValueError(f"--labels: {len(labels)} labels for {len(run_dirs)} run folders")
    runs = [load_run(d, labels[i] if labels else None) for i, d in enumerate(run_dirs)]
    matrices, tasks, normalised = score_matrices(runs, score_ranges)
    table = aggregate(matrices, normalised, reps)
    os.makedirs(out, exist_ok=True)
    num_seeds = ", ".join(f"{lab} {m.shape[0]}" for lab, m in matrices.items())
    text = markdown(table, tasks, normalised, num_seeds)
    files = {"plot": plot(os.path.join(out, "compare.png"), runs, matrices, tasks, normalised)}
    files["markdown"] = os.path.join(out, "compare.md")
    with open(files["markdown"], "w") as f:
        f.write("# Comparison\n\n" + text + "\n")
    files["summary"] = os.path.join(out, "compare.json")
    with open(files["summary"], "w") as f:
        json.dump(
            {"tasks": tasks, "normalised": normalised, "runs": list(run_dirs), "table": table},
            f,
            indent=2,
        )
    if not quiet:
        print(text)
        for k, v in files.items():
            print(f"  {k:<8} -> {v}")
    return table, files
