"""Metrics CSV and learning-curve plot of a run (completed episodes only; a 95% CI band)."""

from __future__ import annotations

import csv
import math

import numpy as np

_EPISODIC = ("episode_return", "episode_length", "success_rate")
# two-sided 95% Student-t quantiles for 1..30 degrees of freedom (then the normal's 1.96)
_T95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179]
_T95 += [2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064]
_T95 += [2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


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


def mean_ci(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over seeds (axis 0, NaN ignored) and the half-width of its 95% Student-t
    confidence interval (0 with one seed)."""
    n = np.sum(np.isfinite(y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(np.where(n > 0, y, 0.0), axis=0)
        sd = np.nanstd(np.where(n > 0, y, 0.0), axis=0, ddof=1) if y.shape[0] > 1 else 0 * mean
    t = np.array([_T95[min(int(k) - 1, 30) - 1] if k > 1 else 0.0 for k in np.ravel(n)])
    half = np.nan_to_num(t.reshape(np.shape(n)) * sd / np.sqrt(np.maximum(n, 1)))
    return mean, half


def plot(path: str, metrics: dict[str, np.ndarray], title: str) -> str:
    """Training return (mean over seeds, completed episodes only, 95% CI of the mean) and,
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
    keep = np.isfinite(y).any(0)
    mean, half = mean_ci(y[:, keep])
    ax.plot(x[keep], mean, label=f"training return, mean over {seeds}")
    if n > 1:
        ax.fill_between(x[keep], mean - half, mean + half, alpha=0.3, label="95% CI of the mean")
    if "eval_return" in metrics:
        e = np.asarray(metrics["eval_return"], np.float64)
        at = np.isfinite(e).all(0)
        if at.any():
            em, eh = mean_ci(e[:, at])
            yerr = eh if n > 1 else None
            ax.errorbar(x[at], em, yerr=yerr, fmt="o-", ms=3, capsize=2, label="greedy evaluation")
    ax.set_xlabel("env steps (per seed)")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
