"""Aggregate statistics over runs and tasks with stratified bootstrap confidence intervals.

The definitions follow Agarwal et al. (2021), "Deep RL at the edge of the statistical
precipice", as implemented in rliable (`rliable/metrics.py`, `rliable/library.py`); this is
our own numpy implementation. `scores` is always a `[num_runs, num_tasks]` matrix.

- `iqm`: the 25% trimmed mean of all `num_runs * num_tasks` scores (scipy's `trim_mean`:
  drop `int(0.25 n)` scores at each end of the sorted scores, average the rest);
- `median`, `mean`: the median / mean over tasks of the per-task mean score;
- `optimality_gap(gamma)`: `gamma - mean(min(scores, gamma))` (scores normalised so that
  `gamma` is the target, default 1);
- `interval_estimates`: the percentile 95% CI of a statistic over `reps` stratified
  bootstrap resamples (the runs of each task resampled with replacement, tasks kept);
- `score_distribution`: the performance profile, the fraction of all runs scoring above
  each threshold `tau`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np


def _batched(scores: np.ndarray) -> np.ndarray:
    """`[N, M]` -> `[1, N, M]`; `[R, N, M]` stays (R bootstrap resamples)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2:
        return s[None]
    if s.ndim != 3:
        raise ValueError(f"scores must be [num_runs, num_tasks], got shape {s.shape}")
    return s


def _squeeze(x: np.ndarray, scores) -> np.ndarray | float:
    return float(x[0]) if np.ndim(scores) == 2 else x


def iqm(scores):
    """Interquartile mean: the mean of the middle 50% of all scores (25% trimmed mean)."""
    s = _batched(scores)
    flat = np.sort(s.reshape(s.shape[0], -1), axis=1)
    n = flat.shape[1]
    cut = int(0.25 * n)
    return _squeeze(flat[:, cut : n - cut].mean(axis=1), scores)


def median(scores):
    """Median over tasks of the mean score of each task."""
    s = _batched(scores)
    return _squeeze(np.median(s.mean(axis=1), axis=1), scores)


def mean(scores):
    """Mean over tasks of the mean score of each task."""
    s = _batched(scores)
    return _squeeze(s.mean(axis=(1, 2)), scores)


def optimality_gap(scores, gamma: float = 1.0):
    """How far the scores fall short of `gamma` (scores above it count as `gamma`)."""
    s = _batched(scores)
    return _squeeze(gamma - np.minimum(s, gamma).mean(axis=(1, 2)), scores)


METRICS: dict[str, Callable] = {
    "IQM": iqm,
    "median": median,
    "mean": mean,
    "optimality gap": optimality_gap,
}


def bootstrap_indices(rng: np.random.Generator, num_runs: int, num_tasks: int, reps: int):
    """`[reps, num_runs, num_tasks]` run indices: each task's runs resampled with replacement."""
    return rng.integers(0, num_runs, size=(reps, num_runs, num_tasks))


def resample(scores: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The stratified resamples `[reps, N, M]` of `scores [N, M]` for `idx` of
    `bootstrap_indices` (task `m` of resample `r` is `scores[idx[r, :, m], m]`)."""
    return np.asarray(scores)[idx, np.arange(np.shape(scores)[1])]


def interval_estimates(
    scores: np.ndarray,
    statistic: Callable = iqm,
    reps: int = 50_000,
    size: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """`(point, low, high)`: `statistic(scores)` and its stratified bootstrap percentile CI.

    `statistic` maps `[N, M]` to a float and `[R, N, M]` to `[R]` (every statistic here
    does). The resample indices come from `np.random.default_rng(seed)` via
    `bootstrap_indices`.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or 0 in s.shape:
        raise ValueError(f"scores must be a non-empty [num_runs, num_tasks], got {s.shape}")
    if not 0 < size < 1:
        raise ValueError(f"size must be in (0, 1), got {size}")
    rng = np.random.default_rng(seed)
    boot = statistic(resample(s, bootstrap_indices(rng, s.shape[0], s.shape[1], reps)))
    alpha = 100 * (1 - size) / 2
    low, high = np.percentile(boot, [alpha, 100 - alpha])
    return float(statistic(s)), float(low), float(high)


def score_distribution(scores, taus) -> np.ndarray:
    """Performance profile: for each `tau`, the fraction of all runs (every task) above it.
    `[N, M]` -> `[T]`, `[R, N, M]` -> `[R, T]`."""
    s = _batched(scores)
    taus = np.asarray(taus, dtype=np.float64)
    out = (s.reshape(s.shape[0], -1)[:, :, None] > taus).mean(axis=1)
    return out[0] if np.ndim(scores) == 2 else out


def profile_with_ci(scores, taus, reps: int = 2000, size: float = 0.95, seed: int = 0):
    """`(profile [T], low [T], high [T])`: the score distribution and its bootstrap CI."""
    s = np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng(seed)
    boot = score_distribution(resample(s, bootstrap_indices(rng, *s.shape, reps)), taus)
    alpha = 100 * (1 - size) / 2
    low, high = np.percentile(boot, [alpha, 100 - alpha], axis=0)
    return score_distribution(s, taus), low, high


def mean_curve_ci(curves: np.ndarray, reps: int = 2000, size: float = 0.95, seed: int = 0):
    """`curves [num_seeds, T]` -> `(mean [T], low [T], high [T])`: the mean over seeds and
    its bootstrap percentile CI (seeds resampled with replacement). NaNs (no episode
    completed yet) are ignored."""
    c = np.asarray(curves, dtype=np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, c.shape[0], size=(reps, c.shape[0]))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        boot = np.nanmean(c[idx], axis=1)
        alpha = 100 * (1 - size) / 2
        low, high = np.nanpercentile(boot, [alpha, 100 - alpha], axis=0)
        return np.nanmean(c, axis=0), low, high


# Return bounds (worst, best) of gymnax envs, to normalise scores to [0, 1] across tasks.
SCORE_RANGES: dict[str, tuple[float, float]] = {
    "CartPole-v1": (0.0, 500.0),
    "Acrobot-v1": (-500.0, 0.0),
    "MountainCar-v0": (-200.0, 0.0),
    "Pendulum-v1": (-1600.0, 0.0),
}


def normalize(scores: np.ndarray, low: float, high: float) -> np.ndarray:
    """Min-max normalisation: `low` -> 0, `high` -> 1."""
    if not high > low:
        raise ValueError(f"score range needs high > low, got ({low}, {high})")
    return (np.asarray(scores, dtype=np.float64) - low) / (high - low)
