"""`purerl.cli.compare` on hand-made run folders: scores pooled, normalised and aggregated."""

import csv
import json
import pathlib
import sys

import numpy as np
import pytest

from purerl.cli import compare, stats


def _run(path, algo, env, eval_per_seed, curves):
    path.mkdir()
    (path / "summary.json").write_text(
        json.dumps({"algo": algo, "env": env, "eval_return_per_seed": eval_per_seed})
    )
    with open(path / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seed", "update", "env_steps", "episode_return"])
        for s, c in enumerate(curves):
            for u, v in enumerate(c):
                w.writerow([s, u + 1, 100 * (u + 1), v])
    return str(path)


def test_compare_aggregates_normalised_scores(tmp_path, capsys):
    dirs = [
        _run(tmp_path / "a1", "ppo", "CartPole-v1", [500.0, 250.0], [[10, 20, 30], [5, 15, 25]]),
        _run(tmp_path / "a2", "ppo", "Acrobot-v1", [-100.0, -500.0], [[-500, -300, -100]] * 2),
        _run(tmp_path / "b1", "a2c", "CartPole-v1", [100.0, 50.0], [[10, 11, 12]] * 2),
        _run(tmp_path / "b2", "a2c", "Acrobot-v1", [-250.0, -250.0], [["", -400, -250]] * 2),
    ]
    table, files = compare.compare(dirs, out=str(tmp_path / "cmp"), reps=500)
    # normalised by hand: CartPole /500, Acrobot (x + 500) / 500
    ppo = np.array([[1.0, 0.8], [0.5, 0.0]])
    a2c = np.array([[0.2, 0.5], [0.1, 0.5]])
    for label, m in [("ppo", ppo), ("a2c", a2c)]:
        assert table[label]["IQM"][0] == pytest.approx(stats.iqm(m))
        assert table[label]["median"][0] == pytest.approx(np.median(m.mean(0)))
        assert table[label]["optimality gap"][0] == pytest.approx(1 - m.mean())
        ref = stats.interval_estimates(m, stats.iqm, 500)
        assert table[label]["IQM"] == pytest.approx(ref)
    assert table["ppo"]["optimality gap"][0] == pytest.approx(1 - 2.3 / 4)
    out = capsys.readouterr().out
    assert "| ppo |" in out and "optimality gap" in out
    assert pathlib.Path(files["plot"]).read_bytes()[:4] == b"\x89PNG"


def test_unknown_task_uses_raw_scores_and_bad_input_is_clear(tmp_path):
    d = _run(tmp_path / "x", "dqn", "MyEnv-v0", [3.0, 5.0, 4.0], [[1, 2]] * 3)
    table, _ = compare.compare([d], out=str(tmp_path / "c"), reps=100, quiet=True)
    assert "optimality gap" not in table["dqn"]
    assert table["dqn"]["mean"][0] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="not a run folder"):
        compare.compare([str(tmp_path)], out=str(tmp_path / "c"))
    with pytest.raises(ValueError, match="2 labels for 1 run folders"):
        compare.compare([d], labels=["a", "b"])
    e = _run(tmp_path / "y", "sac", "Pendulum-v1", [-200.0], [[1, 2]])
    with pytest.raises(ValueError, match="'dqn' has no run on Pendulum-v1"):
        compare.compare([d, e], out=str(tmp_path / "c"))


def test_compare_script(tmp_path, capsys):
    import importlib.util

    path = pathlib.Path(__file__).parents[2] / "scripts" / "compare.py"
    spec = importlib.util.spec_from_file_location("script_compare", path)
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # (its dataclasses look it up)
    spec.loader.exec_module(script)
    a = _run(tmp_path / "a", "ppo", "CartPole-v1", [500.0, 400.0], [[1, 2]] * 2)
    b = _run(tmp_path / "b", "ppo", "CartPole-v1", [100.0, 200.0], [[1, 2]] * 2)
    out = str(tmp_path / "c")
    table, files = script.main(
        [a, b, "--labels", "lr 1e-3", "lr 1e-4", "--out", out, "--reps", "99"]
    )
    assert table["lr 1e-3"]["mean"][0] == pytest.approx(0.9)
    assert "| lr 1e-4 |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="error: --labels: 1 labels for 2"):
        script.main([a, b, "--labels", "x"])
