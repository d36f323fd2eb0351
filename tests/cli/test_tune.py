"""`purerl.cli.tune`: TPE batches, one compile per batch shape, the best trial reported."""

import csv
import sys

import pytest

from purerl.algos import ppo
from purerl.cli import tune

pytest.importorskip("optuna")

TINY = ppo.Config(
    total_timesteps=2 * 4 * 8,
    num_envs=4,
    num_steps=8,
    num_epochs=1,
    num_minibatches=2,
    hidden_sizes=(8,),
)


def test_tiny_tune_run_compiles_once_and_reports_the_best(tmp_path, capsys):
    res = tune.tune(
        ppo,
        TINY,
        ["learning_rate=1e-4:1e-2:log", "ent_coef=0:0.05"],
        num_batches=2,
        batch_size=3,
        num_seeds=2,
        out=str(tmp_path / "t"),
    )
    assert res.num_compiles == 1  # 2 batches of 3 trials: the same program twice
    assert len(res.trials) == 6 and {r["batch"] for r in res.trials} == {0, 1}
    assert sorted(r["trial"] for r in res.trials) == list(range(6))
    values = [r["value"] for r in res.trials]
    assert values == sorted(values, reverse=True) and res.best["value"] == max(values)
    for r in res.trials:
        assert 1e-4 <= r["learning_rate"] <= 1e-2 and 0 <= r["ent_coef"] <= 0.05
    with open(res.files["table"]) as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["value"]) == pytest.approx(res.best["value"])
    assert "best: --learning-rate" in capsys.readouterr().out


def test_bad_params_are_rejected():
    for specs, match in [
        (["num_epochs=1:4"], "num_epochs: only float fields"),
        (["learning_rate=1e-2:1e-4"], "LOW < HIGH"),
        (["learning_rate=0:1e-2:log"], "LOW > 0 with log"),
        (["learning_rate=1e-4"], "FIELD=LOW:HIGH"),
        (["lr=1e-4:1e-2"], "lr: not a field"),
        ([], "at least one --param"),
    ]:
        with pytest.raises(ValueError, match=match):
            tune.parse_params(specs, TINY)


def test_tune_script_errors_are_one_line():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "scripts" / "tune.py"
    spec = importlib.util.spec_from_file_location("script_tune", path)
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # (its dataclasses look it up)
    spec.loader.exec_module(script)
    with pytest.raises(SystemExit, match="usage: python scripts/tune.py ALGO"):
        script.main([])
    with pytest.raises(SystemExit, match="no algorithm purerl.algos.nope"):
        script.main(["nope"])
    with pytest.raises(SystemExit, match="num_epochs: only float fields"):
        script.main(["ppo", "--param", "num_epochs=1:4"])
