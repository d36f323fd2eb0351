"""Metrics CSV and learning-curve plot of a run (completed episodes only; a 95% bootstrap
confidence band of the mean over seeds)."""

from __future__ import annotations

import csv
import math

import numpy as np

_EPISODIC = ("episode_return", "episode_length", "success_rate")


def completed(metrics: dict[str, np.ndarray]) -> np.ndarray:
    """`[seeds, updates]` bool: some episode of that seed has completed by that update
    (before, `episode_return` is the running return of episodes in progress)."""
    if "episodes" not in metrics:
        return np.ones(np.shape(metrics["env_steps"]), bool)
    return np.cumsum(np.asarray(metrics["episodes"]) > 0, axis=1) > 0


def masked(metrics: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The metrics with episodic values before the first completed episode set to NaN."""
    seen = completed(metrics)
    out = dict(metrics)
    for k in _EPISODIC:
        if k in out:
            out[k] = np.where(seen, np.asarray(out[k], np.float64), np.nan)
    return out


def write_csv(path: str, metrics: dict[str, np.ndarray]) -> str:
    """One row per (seed, update); empty cells where a value does not exist (episodic
    values before a seed's first completed episode, evaluation returns between
    evaluations)."""
    metrics = masked(metrics)
    keys = sorted(metrics)
    num_seeds, num_updates = np.shape(metrics[keys[0]])
    cols = [np.asarray(metrics[k]) for k in keys]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "update", *keys])
        for s in range(num_seeds):
            for u in range(num_updates):
                row = [c[s, u].item() for c in cols]
                row = ["" if isinstance(v, float) and math.isnan(v) else v for v in row]
                w.writerow([s, u + 1, *row])
    return path


def bootstrap_ci(y: np.ndarray, num_resamples: int = 1000, seed: int = 0):
    """Mean over seeds (axis 0) and the 95% percentile-bootstrap confidence interval of that
    mean (seeds resampled with replacement), `(mean, low, high)` each `[T]`. The interval
    never leaves the range of the seeds' values (unlike mean +- std)."""
    y = np.asarray(y, np.float64)
    n = y.shape[0]
    idx = np.random.default_rng(seed).integers(0, n, (num_resamples, n))
    means = y[idx].mean(1)  # [num_resamples, T]
    low, high = np.percentile(means, [2.5, 97.5], axis=0)
    return y.mean(0), low, high


def plot(path: str, metrics: dict[str, np.ndarray], title: str) -> str:
    """Training return (mean over seeds, completed episodes only, a 95% bootstrap CI of the
    mean; at most 1000 points) and,
    when the run evaluated during training, the greedy evaluation return."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = masked(metrics)
    x = np.asarray(metrics["env_steps"])[0]
    y = np.asarray(metrics["episode_return"], np.float64)
    n = y.shape[0]
    seeds = f"{n} seed" + ("s" if n != 1 else "")
    fig, ax = plt.subplots(figsize=(6, 4))
    keep = np.flatnonzero(np.isfinite(y).all(0))
    keep = keep[:: max(1, len(keep) // 1000)]
    mean, low, high = bootstrap_ci(y[:, keep])
    ax.plot(x[keep], mean, label=f"training return, mean over {seeds}")
    if n > 1:
        ax.fill_between(x[keep], low, high, alpha=0.3, label="95% bootstrap CI of the mean")
    if "eval_return" in metrics:
        e = np.asarray(metrics["eval_return"], np.float64)
        at = np.isfinite(e).all(0)
        if at.any():
            em, lo, hi = bootstrap_ci(e[:, at])
            yerr = np.stack([em - lo, hi - em]) if n > 1 else None
            ax.errorbar(x[at], em, yerr=yerr, fmt="o-", ms=3, capsize=2, label="greedy evaluation")
    ax.set_xlabel("env steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
