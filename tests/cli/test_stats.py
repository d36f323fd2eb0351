"""`purerl.cli.stats` against brute-force references on fixed data (rliable's definitions)."""

import numpy as np
import pytest
import scipy.stats

from purerl.cli import stats

SCORES = np.array(  # [5 runs, 3 tasks], fixed
    [
        [0.1, 0.9, 1.4],
        [0.5, 0.2, 0.8],
        [0.3, 0.7, 1.1],
        [0.9, 0.4, 0.6],
        [0.0, 1.3, 0.2],
    ]
)


def test_point_estimates_equal_references():
    flat = np.sort(SCORES.ravel())  # 15 scores: int(0.25 * 15) = 3 cut at each end
    assert stats.iqm(SCORES) == pytest.approx(flat[3:12].mean())
    assert stats.iqm(SCORES) == pytest.approx(scipy.stats.trim_mean(SCORES, 0.25, axis=None))
    task_means = [np.mean([0.1, 0.5, 0.3, 0.9, 0.0]), 3.5 / 5, 4.1 / 5]
    assert stats.median(SCORES) == pytest.approx(np.median(task_means))
    assert stats.mean(SCORES) == pytest.approx(np.mean(task_means))
    # optimality gap by hand: scores above 1 count as 1 (1.4, 1.1, 1.3 -> 1)
    clipped_sum = SCORES.sum() - 0.4 - 0.1 - 0.3
    assert stats.optimality_gap(SCORES) == pytest.approx(1 - clipped_sum / 15)
    assert stats.optimality_gap(SCORES, gamma=0.5) == pytest.approx(
        0.5 - np.minimum(SCORES, 0.5).mean()
    )


@pytest.mark.parametrize("name", list(stats.METRICS))
def test_stratified_bootstrap_ci_equals_a_slow_loop(name):
    reps, seed = 300, 7
    point, low, high = stats.interval_estimates(SCORES, stats.METRICS[name], reps, seed=seed)
    # the same resample indices, then an explicit loop over resamples and tasks
    idx = np.random.default_rng(seed).integers(0, 5, size=(reps, 5, 3))
    reference = {
        "IQM": lambda s: scipy.stats.trim_mean(s, 0.25, axis=None),
        "median": lambda s: np.median(s.mean(axis=0)),
        "mean": lambda s: s.mean(),
        "optimality gap": lambda s: 1 - np.minimum(s, 1).mean(),
    }[name]
    values = []
    for r in range(reps):
        resampled = np.empty((5, 3))
        for task in range(3):
            for run in range(5):
                resampled[run, task] = SCORES[idx[r, run, task], task]
        values.append(reference(resampled))
    assert point == pytest.approx(reference(SCORES))
    assert low == pytest.approx(np.percentile(values, 2.5))
    assert high == pytest.approx(np.percentile(values, 97.5))
    assert low <= point <= high


def test_stratified_resampling_keeps_each_task_column():
    idx = stats.bootstrap_indices(np.random.default_rng(0), 5, 3, 50)
    boot = stats.resample(SCORES, idx)
    for task in range(3):  # a task's resampled runs come from that task only
        assert np.isin(boot[:, :, task], SCORES[:, task]).all()


def test_performance_profile_and_curve_ci():
    taus = np.array([0.0, 0.5, 1.0, 2.0])
    prof = stats.score_distribution(SCORES, taus)
    np.testing.assert_allclose(prof, [(t < SCORES).mean() for t in taus])
    p, lo, hi = stats.profile_with_ci(SCORES, taus, reps=200)
    np.testing.assert_allclose(p, prof)
    assert (lo <= p + 1e-12).all() and (p <= hi + 1e-12).all()
    curves = np.array([[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]])
    m, lo, hi = stats.mean_curve_ci(curves, reps=200)
    np.testing.assert_allclose(m, [2.0, 3.0, 5.0])
    assert lo[0] >= 1.0 and hi[0] <= 3.0 and lo[2] == hi[2] == 5.0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="num_runs, num_tasks"):
        stats.interval_estimates(np.ones(4))
    with pytest.raises(ValueError, match="high > low"):
        stats.normalize(SCORES, 1.0, 1.0)
